"""Field maps: how the columns of an export of unknown layout become canonical request fields.

`--map account_id=user.email --map ts=event.time` maps canonical fields to dotted paths into the
source row (a JSON path of keys and list indexes, or a CSV column name). A map, with the account
field and format it goes with, can be saved to a TOML file and loaded again, so a team maps an
export once:

    # farmhound field map
    format = "canonical"
    [map]
    account_id = "user.email"
    ts = "event.time"
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

CANONICAL_FIELDS = (
    "request_id", "ts", "account_id", "api_key_id", "org_id", "ip", "user_agent", "country", "model",
    "messages", "prompt", "system", "response", "input_tokens", "output_tokens", "max_tokens",
    "temperature", "latency_ms", "status", "tags", "cache_hit",
)  # fmt: skip


class FieldMapError(ValueError):
    """A map entry or map file that cannot be used; the message says which and why."""


def parse_map(items: list[str] | tuple[str, ...]) -> dict[str, str]:
    """`canonical=source.path` items -> {canonical: path}."""
    out: dict[str, str] = {}
    for item in items:
        canonical, eq, path = item.partition("=")
        canonical, path = canonical.strip(), path.strip()
        if not eq or not canonical or not path:
            raise FieldMapError(f"--map {item!r}: expected canonical=source.path, e.g. account_id=user.email")
        _check(canonical, f"--map {item!r}")
        out[canonical] = path
    return out


def _check(canonical: str, where: str) -> None:
    if canonical not in CANONICAL_FIELDS:
        raise FieldMapError(f"{where}: {canonical!r} is not a canonical field (one of {', '.join(CANONICAL_FIELDS)})")


def load_map(path: Path) -> tuple[dict[str, str], str | None, str | None]:
    """(map, account field, format) from a TOML map file."""
    try:
        doc = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise FieldMapError(f"{path}: cannot read ({exc.strerror})") from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise FieldMapError(f"{path}: not a TOML field map ({exc})") from exc
    table = doc.get("map", {})
    if not isinstance(table, dict) or not all(isinstance(v, str) and v for v in table.values()):
        raise FieldMapError(f"{path}: [map] must hold canonical = \"source.path\" lines")
    for canonical in table:
        _check(canonical, str(path))
    for key in ("account_field", "format"):
        if key in doc and not isinstance(doc[key], str):
            raise FieldMapError(f"{path}: {key} must be a string")
    return dict(table), doc.get("account_field"), doc.get("format")


def save_map(path: Path, field_map: dict[str, str], account_field: str | None, fmt: str | None) -> None:
    """Write a map file `load_map` reads back. (JSON string escapes are valid TOML basic strings.)"""
    lines = ["# farmhound field map: farmhound ingest FILE --map-file THIS_FILE"]
    if fmt:
        lines.append(f"format = {json.dumps(fmt, ensure_ascii=False)}")
    if account_field:
        lines.append(f"account_field = {json.dumps(account_field, ensure_ascii=False)}")
    lines.append("")
    lines.append("[map]")
    lines += [f"{canonical} = {json.dumps(source, ensure_ascii=False)}" for canonical, source in field_map.items()]
    try:
        Path(path).write_text("\n".join(lines) + "\n", encoding="utf-8")
    except OSError as exc:
        raise FieldMapError(f"{path}: cannot write ({exc.strerror})") from exc
