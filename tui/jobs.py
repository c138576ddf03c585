"""The workbench's one slow job — loading files, then triage — run as a child process.

Why a process and not a thread: triage is minutes of pandas and numpy on a big store, and a thread
doing it would hold the GIL the terminal needs to answer keys; a child process leaves the UI its
own core and can be stopped for certain. Stopping is safe at any point: triage writes its results
in one transaction at the end, and an interrupted ingest resumes where its last batch committed.

The child is `python -m tui.jobs DB [--config TOML] [--load FILE...]`; it writes one JSON object
per line: {"progress": [label, fraction]} while it works, then {"outcome": "done" | "cancelled" |
"error", "detail": ...}. SIGINT asks it to stop (between batches and phases).

Not here: showing progress (the app's worker relays it to the screen).
"""

from __future__ import annotations

import argparse
import json
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

GRACE_SECONDS = 3.0  # after a cancel, how long the job may take to stop before it is terminated


def _emit(obj: dict) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def main(argv: list[str] | None = None) -> int:
    """The child process."""
    ap = argparse.ArgumentParser(prog="python -m tui.jobs")
    ap.add_argument("db")
    ap.add_argument("--config")
    ap.add_argument("--load", nargs="*", default=[])
    args = ap.parse_args(argv)

    from farmhound.config import load_config
    from farmhound.store import Store
    from farmhound.triage import Cancelled as TriageCancelled
    from farmhound.triage import run_triage
    from loaders.pipeline import Cancelled as IngestCancelled
    from loaders.pipeline import ingest

    last = 0.0

    def report(label: str, fraction: float) -> None:
        nonlocal last
        now = time.monotonic()
        if now - last >= 0.2:
            last = now
            _emit({"progress": [label, round(fraction, 4)]})

    store = None
    try:
        store = Store(args.db)
        if args.load:
            total = sum(Path(f).stat().st_size for f in args.load) or 1
            files = {"current": None, "before": 0, "size": 0}  # bytes of the files loaded before this one

            def on_ingest(p) -> None:
                if p.path != files["current"]:
                    files["before"] += files["size"]
                    files["current"], files["size"] = p.path, p.bytes_total
                done = files["before"] + (p.bytes_done if p.phase == "loading" else 0)
                name = Path(p.path).name if p.path else "indexes"
                report(f"loading {name} ({p.phase}, {p.rows:,} rows)", min(done / total, 1.0) / 2)

            ingest(store, args.load, on_progress=on_ingest)
        base = 0.5 if args.load else 0.0
        run_triage(
            store, load_config(args.config), lambda phase, done: report(f"triage: {phase}", base + done * (1 - base))
        )
        _emit({"outcome": "done"})
    except (TriageCancelled, IngestCancelled, KeyboardInterrupt):
        _emit({"outcome": "cancelled"})
    except Exception as exc:  # reported to the analyst by the app, loudly
        _emit({"outcome": "error", "detail": f"{type(exc).__name__}: {exc}"})
    finally:
        if store is not None:
            store.close()
    return 0


def run_job(db: str, paths: list[str], config_path: str | None, on_progress: Callable[[str, float], None],
            cancelled: Callable[[], bool]) -> str:  # fmt: skip
    """Run the job in a child process and wait for it, relaying its progress.

    Returns "done" or "cancelled". Raises RuntimeError with the child's error."""
    # Absolute paths: the child runs from the source root, so that `-m tui.jobs` finds this package.
    cmd = [sys.executable, "-m", "tui.jobs", _abs(db), *(["--config", _abs(config_path)] if config_path else [])]
    cmd += ["--load", *map(_abs, paths)] if paths else []
    root = str(Path(__file__).resolve().parent.parent)
    # stderr goes to a file: a pipe nobody reads while the job runs could fill and stall it.
    with tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace") as errors:
        child = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=errors,
                                 text=True, cwd=root, start_new_session=True)  # fmt: skip
        outcome, detail = None, None
        stopper = _Stopper(child, cancelled)
        try:
            for line in child.stdout:  # type: ignore[union-attr]
                try:
                    msg = json.loads(line)
                except ValueError:
                    continue  # not ours (a library printed to stdout)
                if "progress" in msg:
                    on_progress(*msg["progress"])
                else:
                    outcome, detail = msg["outcome"], msg.get("detail")
        finally:
            stopper.stop()
            try:
                child.wait(10)
            except subprocess.TimeoutExpired:
                child.kill()  # never leave a job behind (its writes are transactional)
                child.wait()
        if outcome is None and (stopper.terminated or stopper.interrupted):
            outcome = "cancelled"  # stopped before it could say so (e.g. while still starting up)
        if outcome is None:
            errors.seek(0)
            err = errors.read().strip().splitlines()
            outcome, detail = "error", f"the job stopped (exit code {child.returncode}): {err[-1] if err else ''}"
    if outcome == "error":
        raise RuntimeError(detail)
    return outcome


def _abs(path: str) -> str:
    return str(Path(path).resolve())


class _Stopper:
    """Watches `cancelled()`: sends SIGINT once, then terminates the child after the grace period."""

    def __init__(self, child: subprocess.Popen, cancelled: Callable[[], bool]):
        import threading

        self.child, self.cancelled = child, cancelled
        self.interrupted = self.terminated = False
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True, name="farmhound-job-stopper")
        self._thread.start()

    def _watch(self) -> None:
        while not self._done.wait(0.1):
            if self.cancelled():
                self.interrupted = True
                self.child.send_signal(signal.SIGINT)
                if not self._done.wait(GRACE_SECONDS) and self.child.poll() is None:
                    self.terminated = True
                    self.child.terminate()
                return

    def stop(self) -> None:
        self._done.set()


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:  # cancelled while still importing
        _emit({"outcome": "cancelled"})
