"""Triage configuration: thresholds and weights in TOML, over shipped defaults.

`default_config.toml` (next to this module) holds every tunable number of detection with a comment
saying what it does; an analyst's `--config FILE` overrides any subset of it. Unknown keys are an
error (a typo must not silently leave a default in force). Results record the hash of the merged
config, so a score can be traced to the exact numbers that made it.
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from dataclasses import dataclass
from pathlib import Path

DEFAULT_PATH = Path(__file__).with_name("default_config.toml")


class ConfigError(ValueError):
    """A config file that cannot be used; the message names the file and key."""


@dataclass(frozen=True)
class Config:
    data: dict
    hash: str  # the first 16 hex digits of SHA-256 over the merged config as canonical JSON
    path: str | None  # the analyst's file, or None for the shipped defaults

    def __getitem__(self, section: str) -> dict:
        return self.data[section]

    def to_json(self) -> str:
        return json.dumps(self.data, sort_keys=True)


def _merge(base: dict, over: dict, where: str, path: Path) -> dict:
    out = dict(base)
    for key, value in over.items():
        name = f"{where}.{key}" if where else key
        if key not in base:
            raise ConfigError(f"{path}: unknown setting {name!r}")
        if isinstance(base[key], dict):
            if not isinstance(value, dict):
                raise ConfigError(f"{path}: {name} must be a table")
            out[key] = _merge(base[key], value, name, path)
        else:
            want = type(base[key])
            if isinstance(value, bool) != (want is bool) or (want is int and not isinstance(value, int)) or (
                want is float and not isinstance(value, int | float)
            ) or (want in (str, list) and not isinstance(value, want)):  # fmt: skip
                raise ConfigError(f"{path}: {name} must be {type(base[key]).__name__}, got {value!r}")
            out[key] = value
    return out


def _read(path: Path) -> dict:
    try:
        return tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read ({exc.strerror})") from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from exc


def load_config(path: str | Path | None = None) -> Config:
    """The shipped defaults, overridden by the TOML file at `path` if given."""
    data = _read(DEFAULT_PATH)
    if path is not None:
        data = _merge(data, _read(Path(path)), "", Path(path))
    for code, numbers in data["signals"].items():
        if isinstance(numbers, dict) and numbers.get("notice") == numbers.get("strong"):
            raise ConfigError(f"{path or DEFAULT_PATH}: signals.{code}: notice and strong must differ "
                              "(their order says whether higher or lower values are worse)")  # fmt: skip
    from farmhound.templates import TemplateConfig

    try:
        TemplateConfig(**data["templates"])  # its own range checks, reported against the file
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{path or DEFAULT_PATH}: [templates] {exc}") from None
    digest = hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]
    return Config(data, digest, str(path) if path else None)
