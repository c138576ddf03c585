"""Export formats: what a gateway or cloud wrote -> canonical request records.

One module per export format, each registering an `Export` here. An export converts one decoded
source row (a dict from the JSONL, CSV, JSON or Parquet container) into a canonical request dict
(the field names of DESIGN §3), which `records.normalise_request` then validates and normalises
exactly as for canonical files. So an export module only knows where its fields live; types,
timestamps, messages and accounting are shared.

A canonical dict may also carry:
  tags       a list of strings (request tags, trace tags)
  cache_hit  True when the gateway answered from its cache
  notes      short strings counted per source and shown in the summary, for what the row lacks
             and why: "prompt not stored", "payload truncated by LiteLLM", "body offloaded to S3"
What an export lacks is left out of the dict (stored as missing), never invented.

Not here: containers and sniffing of containers (`formats.py`), field validation (`records.py`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache

import orjson

from loaders.records import RecordError


@dataclass(frozen=True)
class Export:
    """An export format.

    Attributes:
        name: the `--format` value, e.g. "litellm".
        title: for people, e.g. "LiteLLM spend logs".
        detect: given the first object of a file (a JSON row, or a CSV header as {name: ""}),
            whether it is this export. Must be cheap and must not raise.
        convert: (source row, account field) -> canonical request dict; raises `RecordError` for
            a row that cannot be a request (the row is quarantined with its reason).
        account_fields: documented choices for `--account-field` (dotted paths into the source
            row, tried in order when the option is not given): the first that has a value wins.
        lacks: canonical fields this export never carries (shown as missing, never invented).
        ts_required: False when some or all rows have no time (batch results): such rows are
            stored with no time instead of being quarantined.
        kind: "requests", or "companion" for a file that only completes another export's rows
            (OpenAI batch input, Anthropic batch requests), joined on `join_key`.
        companion: the name of the companion export whose rows this one joins, if any.
        join_key: the dotted path both files share (e.g. "custom_id").
    """

    name: str
    title: str
    detect: Callable[[Mapping], bool]
    convert: Callable[..., dict]
    account_fields: tuple[str, ...] = ("account_id",)
    lacks: frozenset[str] = frozenset()
    ts_required: bool = True
    kind: str = "requests"
    companion: str | None = None
    join_key: str | None = None


EXPORTS: dict[str, Export] = {}


def register(export: Export) -> Export:
    if export.name in EXPORTS:
        raise ValueError(f"export {export.name!r} registered twice")
    EXPORTS[export.name] = export
    return export


_MISSING = object()
EMPTY = (None, "", {}, [])  # values an export uses for "not there"


def dig(d, path: str, default=None):
    """The value at a dotted path (`identity.arn`, `response.body.model`, `choices.0.text`), or
    `default`. A JSON string met on the way is parsed (CSV exports and some databases hold nested
    objects as JSON text)."""
    v = d
    for part in path.split("."):
        if type(v) is str and v[:1] in ('{', '[', '"'):
            v = loads_maybe(v)
        if type(v) is dict:
            v = v.get(part, _MISSING)
        elif type(v) is list and part.isdigit() and int(part) < len(v):
            v = v[int(part)]
        else:
            return default
        if v is _MISSING:
            return default
    return v


def loads_maybe(v):
    """Parse a JSON string that should hold an object or list (up to twice: some dumps encode twice);
    anything else is returned unchanged."""
    for _ in range(2):
        if type(v) is not str or v.lstrip()[:1] not in ("{", "[", '"'):
            return v
        try:
            v = orjson.loads(v)
        except orjson.JSONDecodeError:
            return v
    return v


def first(d, paths, default=None):
    """The first non-empty value among dotted paths."""
    for p in paths:
        v = dig(d, p)
        if v is not None and v != "" and v != {} and v != []:
            return v
    return default


def account(d, account_field: str | None, export: Export) -> object:
    """The account id of a source row: the `--account-field` path when given, else the first of
    the export's documented fields that has a value."""
    paths = (account_field,) if account_field else export.account_fields
    v = first(d, paths)
    if v is None:
        raise RecordError("missing account_id", "none of " + ", ".join(paths))
    return v


def canonical_detect(row: Mapping) -> bool:
    from loaders.records import REQUEST_KEYS

    return bool(REQUEST_KEYS.intersection(row))


def canonical_convert(row: dict, account_field: str | None = None) -> dict:
    if account_field:
        row = dict(row, account_id=account(row, account_field, CANONICAL))
    return row


CANONICAL = register(
    Export(
        name="canonical",
        title="canonical request records",
        detect=canonical_detect,
        convert=canonical_convert,
        account_fields=("account_id", "user_id", "user", "account"),
    )
)


def detect_export(row: Mapping) -> Export | None:
    """The export format a first row belongs to: the specific formats first, canonical last."""
    for export in load_all().values():
        if export is not CANONICAL and export.detect(row):
            return export
    return CANONICAL if CANONICAL.detect(row) else None


def mapped(row: dict, field_map: dict[str, str]) -> dict:
    """A row of an unknown layout as a canonical dict: each mapped canonical field from its
    dotted source path; fields not mapped keep the row's own canonical names."""
    out = dict(row)
    for canonical, path in field_map.items():
        out[canonical] = dig(row, path)
    return out


def converter(
    name: str, account_field: str | None = None, field_map: dict[str, str] | None = None,
    companions: dict[str, dict] | None = None,
) -> Callable[[dict], dict] | None:  # fmt: skip
    """The per-row function source row -> canonical dict for a file, or None when rows are
    canonical already (the fast path: no call per row; `records.normalise_request` checks them)."""
    export = load_all()[name]
    if field_map:
        if account_field:
            field_map = {**field_map, "account_id": account_field}
        return _any_row(lambda row: mapped(row, field_map))
    if export is CANONICAL and not account_field:
        return None
    if export.companion:
        key = export.join_key
        lookup = companions or {}
        return _any_row(lambda row: export.convert(row, account_field, lookup.get(_key(dig(row, key)))))
    return _any_row(lambda row: export.convert(row, account_field))


def _any_row(convert: Callable[[dict], dict]) -> Callable[[object], dict]:
    """`convert` made safe for any decoded row. Converters read dicts; a JSON line may hold an
    array, a number or null, and one nested hundreds of levels deep (orjson reads 1,024) can
    exhaust the recursion of a body reader. Both are quarantined with their reason."""

    def convert_row(row) -> dict:
        if type(row) is not dict:
            raise RecordError("not an object", f"the row is {'null' if row is None else type(row).__name__}")
        try:
            return convert(row)
        except RecursionError:
            raise RecordError("too deeply nested", "the row nests too deeply to read") from None

    return convert_row


def _key(v) -> str | None:
    """A join key as text; an object or array (or nothing) joins nothing."""
    return str(v) if type(v) in (str, int, float, bool) else None


def companion_rows(rows, export: Export) -> dict[str, dict]:
    """{join key: row} of companion rows. Rows without the key are skipped; a key that two rows
    share is left out (joining it could give a row another batch's account)."""
    out: dict[str, dict] = {}
    repeated: set[str] = set()
    for row in rows:
        k = _key(dig(row, export.join_key)) if type(row) is dict else None
        if k is not None:
            if k in out:
                repeated.add(k)
            out[k] = row
    for k in repeated:
        del out[k]
    return out


@cache
def load_all() -> dict[str, Export]:
    """Import every export module of this package (each registers itself), once; the registry."""
    import importlib
    import pkgutil

    for module in sorted(m.name for m in pkgutil.iter_modules(__path__)):
        importlib.import_module(f"{__name__}.{module}")
    return EXPORTS
