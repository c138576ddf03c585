"""Checking a case file (a folder or a zip) against its manifest.

Every file the manifest lists is re-hashed; a file that differs, is missing, cannot be read, or is
present but not listed is a problem, named by its path. The manifest's own SHA-256 is reported so a
recipient can compare it with the one the sender gave them out of band: the manifest proves the
files match it, and that comparison proves the manifest is the one the sender wrote.

Zips are read in place, entry by entry in 1 MiB blocks, never extracted.

Not here: writing case files (`export.py`).
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from farmhound.casefile.export import FORMAT, MANIFEST

BLOCK = 1 << 20
MAX_MANIFEST = 64 << 20  # a manifest lists a few files; more is not a case file (or a zip bomb)


@dataclass
class Verified:
    path: str
    checked: int = 0
    problems: list[str] = field(default_factory=list)
    manifest_sha256: str | None = None
    case: str | None = None
    analyst: str | None = None
    generated_at: str | None = None

    @property
    def ok(self) -> bool:
        return not self.problems and self.manifest_sha256 is not None


def _hash(stream) -> str:
    h = hashlib.sha256()
    while block := stream.read(BLOCK):
        h.update(block)
    return h.hexdigest()


def _unsafe(name: str) -> bool:
    """A path no case file writes: absolute, with `..`, a backslash or a drive letter."""
    parts = name.split("/")
    return name.startswith("/") or "\\" in name or ".." in parts or (len(name) > 1 and name[1] == ":")


def verify(path: Path) -> Verified:
    """Re-hash the case file at `path` (a folder holding manifest.json, or a zip of one)."""
    path = Path(path)
    result = Verified(str(path))
    if not path.exists():
        result.problems.append(f"{path}: no such file or folder")
        return result
    if path.is_dir():
        files = {p.relative_to(path).as_posix(): p for p in path.rglob("*") if p.is_file()}
        return _check(result, files, lambda p: p.open("rb"))
    if not zipfile.is_zipfile(path):
        result.problems.append(f"{path}: neither a case folder nor a zip")
        return result
    with zipfile.ZipFile(path) as z:
        names = [n for n in z.namelist() if not n.endswith("/")]
        seen: set[str] = set()
        for n in names:
            if _unsafe(n):
                result.problems.append(f"{n}: an unsafe path in the zip (absolute, or with ..)")
            elif n in seen:
                result.problems.append(f"{n}: in the zip more than once (readers may show either copy)")
            seen.add(n)
        manifests = sorted((n for n in names if n.rsplit("/", 1)[-1] == MANIFEST), key=lambda n: n.count("/"))
        top = manifests[0][: -len(MANIFEST)] if manifests else ""
        if top.count("/") > 1:
            top = ""  # a case file's manifest is at the root or in its one top folder
        files = {n[len(top):]: n for n in names if n.startswith(top) and not _unsafe(n)}  # fmt: skip
        for n in names:
            if not n.startswith(top):
                result.problems.append(f"{n}: not in the manifest")
        return _check(result, files, z.open)


def _check(result: Verified, files: dict, open_) -> Verified:
    if MANIFEST not in files:
        result.problems.append(f"{MANIFEST}: missing, so nothing can be checked")
        return result
    try:
        with open_(files.pop(MANIFEST)) as f:
            raw = f.read(MAX_MANIFEST + 1)
        if len(raw) > MAX_MANIFEST:
            raise ValueError(f"over {MAX_MANIFEST >> 20} MiB")
        doc = json.loads(raw)
        if not isinstance(doc, dict) or doc.get("format") != FORMAT:
            raise ValueError(f"format {doc.get('format') if isinstance(doc, dict) else None!r}, expected {FORMAT!r}")
        listed = doc.get("files")
        if not isinstance(listed, dict) or not listed:
            raise ValueError("it lists no files")
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        result.problems.append(f"{MANIFEST}: unreadable ({exc})")
        return result
    result.manifest_sha256 = hashlib.sha256(raw).hexdigest()
    result.case, result.analyst, result.generated_at = (
        str(doc.get(k)) if doc.get(k) is not None else None for k in ("case", "analyst", "generated_at")
    )
    for rel in sorted(listed):
        entry = listed[rel]
        expected = entry.get("sha256") if isinstance(entry, dict) else None
        if _unsafe(rel):
            result.problems.append(f"{rel}: an unsafe path in the manifest (absolute, or with ..)")
            continue
        if rel not in files:
            result.problems.append(f"{rel}: missing")
            continue
        try:
            with open_(files.pop(rel)) as f:
                found = _hash(f)
        except (OSError, zipfile.BadZipFile) as exc:
            result.problems.append(f"{rel}: unreadable ({exc})")
            continue
        result.checked += 1
        if found != expected:
            result.problems.append(f"{rel}: changed (SHA-256 {found[:16]}…, the manifest says {str(expected)[:16]}…)")
    for rel in sorted(files):
        result.problems.append(f"{rel}: not in the manifest")
    return result
