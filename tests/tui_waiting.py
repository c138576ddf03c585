"""Bounded polling for the terminal UI tests (no sleeps): wait until a condition holds, or fail
saying what was awaited. Plus the shared fixtures' helpers: the committed store and its hostile
constants.
"""

from __future__ import annotations

import importlib.util
import shutil
import time
from collections.abc import Callable
from pathlib import Path

FIXTURES = Path(__file__).with_name("fixtures")
TUI_DB = FIXTURES / "tui.db"


def _load_builder():
    spec = importlib.util.spec_from_file_location("build_tui_store", FIXTURES / "build_tui_store.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_builder = _load_builder()
HOSTILE_EMAIL: str = _builder.HOSTILE_EMAIL
HOSTILE_UA: str = _builder.HOSTILE_UA
HOSTILE_PROMPT: str = _builder.HOSTILE_PROMPT
HOSTILE_ACCOUNTS: list[str] = _builder.HOSTILE_ACCOUNTS


def copy_store(tmp_path: Path, name: str = "tui.db") -> Path:
    """A private copy of the committed store (the app may write to it: triage re-runs)."""
    out = tmp_path / name
    shutil.copyfile(TUI_DB, out)
    return out


def _holds(condition: Callable[[], object]) -> bool:
    try:
        return bool(condition())
    except Exception:  # a widget not mounted yet, a screen still switching
        return False


async def wait_for(pilot, condition: Callable[[], object], timeout: float = 10, what: str = "") -> None:
    """Let the app run until `condition()` is true; fail after `timeout` seconds naming `what`."""
    deadline = time.monotonic() + timeout
    while not _holds(condition):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what or condition}")
        await pilot.pause(0.02)
