"""The analyst's own settings: who they are, for whom they work, how they share by default.

`~/.config/farmhound/settings.toml` (or `$FARMHOUND_SETTINGS`), for example:

    analyst = "ana.lopez"           # recorded with every tag, case change and case file
    organisation = "Example AI T&S" # the producer named in STIX bundles
    tlp = "amber"                   # the default TLP of exported case files

Separate from the triage config on purpose: these say who decided, not how scores are made, so
they must not change the config hash that results carry. Unknown keys are an error.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

DEFAULTS = {"analyst": None, "organisation": "farmhound", "tlp": "amber"}


class SettingsError(ValueError):
    """A settings file that cannot be used; the message names the file and key."""


def settings_path() -> Path:
    if os.environ.get("FARMHOUND_SETTINGS"):
        return Path(os.environ["FARMHOUND_SETTINGS"])
    base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return base / "farmhound" / "settings.toml"


def load_settings() -> dict:
    """The defaults, overridden by the settings file if there is one."""
    path = settings_path()
    out = dict(DEFAULTS)
    if not path.is_file():
        return out
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise SettingsError(f"{path}: cannot read ({exc})") from exc
    for key, value in data.items():
        if key not in DEFAULTS:
            raise SettingsError(f"{path}: unknown setting {key!r} (known: {', '.join(DEFAULTS)})")
        if not isinstance(value, str) or not value.strip():
            raise SettingsError(f"{path}: {key} must be a non-empty string")
        out[key] = value.strip()
    out["tlp"] = check_tlp(out["tlp"], path)
    return out


def check_tlp(value: str, path: Path | None = None) -> str:
    """A TLP level as farmhound writes it (`amber+strict`), from how people write it (`TLP:AMBER`)."""
    from farmhound.casefile.model import TLP_LEVELS

    level = value.strip().lower().removeprefix("tlp:").strip()
    level = "clear" if level == "white" else level
    if level not in TLP_LEVELS:
        raise SettingsError(f"{path or 'settings'}: tlp {value!r} is not one of {', '.join(TLP_LEVELS)}")
    return level
