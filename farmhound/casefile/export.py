"""Writing a case file: a folder (and optionally a zip) that a legal team or another lab can verify.

    report.md, report.html     the human report (HTML self-contained, charts as inline SVG)
    members.csv                one row per member, safe to open in a spreadsheet
    case.json                  everything machine-readable (members, scores, reasons, config)
    evidence/requests.jsonl    the first requests of each member
    evidence/templates.jsonl   each template with example prompts
    indicators.json            a STIX 2.1 bundle for sharing
    manifest.json              every file's SHA-256, the source exports' SHA-256, analyst, time, tool

The case is gathered once into a `CaseData`, redacted once, and every file is drawn from that, so no
file can hold what the redaction took out. Files are written to a temporary folder beside the
target and renamed into place at the end: an interrupted export leaves no half case file.

Not here: reading the store (`farmhound/store/evidence.py`), checking a case file (`verify.py`).
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
import shutil
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from farmhound.casefile import redact as redaction
from farmhound.casefile.model import TLP_LEVELS, CaseData
from farmhound.safe import csv_text, json_text

FORMAT = "farmhound-case-file/1"
MANIFEST = "manifest.json"
STEPS = ("members", "requests", "timeline", "templates", "samples", "sources", "report", "indicators", "manifest")
MEMBER_COLUMNS = (
    "account_id", "via", "level", "score", "cluster_id", "tags", "requests", "first_seen", "last_seen", "email",
    "email_domain", "payment_fingerprint", "card_bin", "billing_country", "signup_ip", "created_at", "org_id", "tier",
    "ips", "user_agents", "reasons",
)  # fmt: skip


class ExportError(Exception):
    """The case file cannot be written (the target exists, a bad option)."""


@dataclass
class Exported:
    folder: Path
    zip_path: Path | None
    files: dict[str, str]  # relative path -> SHA-256
    manifest_sha256: str
    members: int


def csv_cell(value) -> str | int | float:
    """A CSV cell a spreadsheet shows as text: a string that a spreadsheet would read as a formula
    (=, +, -, @, tab, CR, or their full-width forms, also after blanks) gets a leading apostrophe;
    control characters show as escapes. Numbers stay numbers."""
    if value is None:
        return ""
    if isinstance(value, bool | int | float):
        return value
    if isinstance(value, list):
        value = "; ".join(str(v) for v in value)
    return csv_text(value)


def members_csv(data: CaseData) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(MEMBER_COLUMNS)
    for m in data.members:
        row = asdict(m)
        w.writerow([csv_cell(row[c]) for c in MEMBER_COLUMNS])
    return buf.getvalue()


def _json(doc, indent: bool = False) -> bytes:
    """JSON whose strings hold no raw character a terminal acts on (`farmhound.safe.json_text`):
    the same data, but `cat case.json` cannot drive the reader's terminal."""
    return json_text(doc, indent).encode()


def _jsonl(rows) -> bytes:
    return b"".join(_json(r) + b"\n" for r in rows)


def render(data: CaseData, progress: Callable[[str], None] | None = None) -> dict[str, bytes]:
    """Every file of the case file but the manifest, by relative path."""
    from farmhound.casefile import report, stix  # stix2 is slow to import: only when exporting

    step = progress or (lambda _: None)
    step("report")
    files = {
        "report.md": report.render_markdown(data).encode(),
        "report.html": report.render_html(data).encode(),
        "members.csv": members_csv(data).encode("utf-8-sig"),  # the BOM makes spreadsheets read UTF-8
        "case.json": _json({"format": FORMAT, **data.to_dict()}, indent=True),
        "evidence/requests.jsonl": _jsonl(asdict(s) for s in data.samples),
        "evidence/templates.jsonl": _jsonl(asdict(t) for t in data.templates),
    }
    step("indicators")
    files["indicators.json"] = stix.bundle_json(data, data.organisation).encode()
    return files


def manifest(data: CaseData, files: dict[str, bytes]) -> bytes:
    doc = {
        "format": FORMAT,
        "case": data.name,
        "analyst": data.analyst,
        "generated_at": data.generated_at,
        "tool": "farmhound",
        "tool_version": data.tool_version,
        "tlp": data.tlp,
        "redacted": data.redacted,
        "files": {p: {"sha256": hashlib.sha256(b).hexdigest(), "bytes": len(b)} for p, b in sorted(files.items())},
        "sources": [
            {"name": Path(s.path).name, "sha256": s.sha256, "format": s.format, "kind": s.kind, "rows": s.rows_read}
            for s in data.sources
        ],
    }
    return _json(doc, indent=True) + b"\n"


def write(
    data: CaseData,
    out: Path,
    redact: list[str] = (),
    make_zip: bool = False,
    progress: Callable[[str], None] | None = None,
) -> Exported:
    """Write `data` (redacted by `redact`) as a case file in the new folder `out`, and `out.zip`.

    Raises ExportError if `out` exists and is not an empty folder, or the zip exists.
    """
    out = Path(out)
    zip_path = _check_target(out, make_zip)
    try:
        data = redaction.redact(data, list(redact))
    except ValueError as exc:
        raise ExportError(str(exc)) from exc
    files = render(data, progress)
    if progress:
        progress("manifest")
    files[MANIFEST] = manifest(data, files)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    zip_part = zip_path.with_name(f".{zip_path.name}.part") if zip_path else None
    try:  # everything is written under temporary names first, then renamed: all or nothing
        tmp.chmod(0o755)  # mkdtemp's 0700 would hide the case file from the colleagues it is for
        for rel, content in files.items():
            path = tmp / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)
        if zip_part:
            _zip(files, zip_part, out.name, data.generated_at)
        if out.exists():
            out.rmdir()
        os.replace(tmp, out)
        if zip_part:
            os.replace(zip_part, zip_path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        if zip_part:
            zip_part.unlink(missing_ok=True)
        raise
    return Exported(
        folder=out,
        zip_path=zip_path,
        files={p: hashlib.sha256(b).hexdigest() for p, b in files.items()},
        manifest_sha256=hashlib.sha256(files[MANIFEST]).hexdigest(),
        members=len(data.members),
    )


def _check_target(out: Path, make_zip: bool) -> Path | None:
    """The zip to write (or None); raises ExportError if either target is taken."""
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ExportError(f"{out}: exists and is not an empty folder; choose a new --out")
    zip_path = out.with_name(out.name + ".zip") if make_zip else None
    if zip_path and zip_path.exists():
        raise ExportError(f"{zip_path}: exists; choose a new --out")
    return zip_path


def _zip(files: dict[str, bytes], path: Path, top: str, generated_at: str) -> None:
    """A reproducible zip: sorted entries under one folder, all stamped with the export time."""
    stamp = tuple(int(x) for x in (generated_at[:4], generated_at[5:7], generated_at[8:10],
                                   generated_at[11:13], generated_at[14:16], generated_at[17:19]))  # fmt: skip
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for rel in sorted(files):
            info = zipfile.ZipInfo(f"{top}/{rel}", date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            z.writestr(info, files[rel])


def export_case(
    store,
    name: str,
    out: Path,
    analyst: str,
    tlp: str = "amber",
    redact: list[str] = (),
    make_zip: bool = False,
    samples: int = 5,
    organisation: str = "farmhound",
    progress: Callable[[str], None] | None = None,
) -> Exported:
    """Gather the case `name` from `store`, write its case file to `out`, and log the export.

    Args:
        analyst: who exports (in the manifest, the report and the case's log).
        tlp: clear, green, amber, amber+strict or red.
        redact: any of emails, ips, prompts (see `redact.py`).
        samples: requests per member kept as evidence.
        organisation: the producer named in the STIX bundle.
        progress: called with each step's name (one of STEPS) as it starts. It may raise to stop
            the export: nothing is written before the last step has started, so a stopped export
            leaves nothing behind.
    """
    from farmhound.store.cases import CaseBook
    from farmhound.store.evidence import gather

    if tlp not in TLP_LEVELS:
        raise ExportError(f"{tlp!r}: TLP is one of {', '.join(TLP_LEVELS)}")
    try:
        redaction.check(list(redact))
    except ValueError as exc:
        raise ExportError(str(exc)) from exc
    _check_target(Path(out), make_zip)
    with store.snapshot():  # one consistent view, even while a triage run commits
        data = gather(store, name, analyst, tlp=tlp, samples_per_member=samples, progress=progress)
    data.organisation = organisation
    done = write(data, out, redact, make_zip, progress)
    CaseBook(store).record_export(name, analyst, str(done.zip_path or done.folder))
    return done
