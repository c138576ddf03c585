"""Bounded resources: files built to exhaust memory or time, each loaded by the real command.

    python benchmarks/bombs.py                  # every bomb, default limits
    python benchmarks/bombs.py --only gzip-nul  # one of them

Each bomb is written to a temporary folder, loaded with `farmhound ingest --json` in a process of
its own, and reported with its size on disk, what it would expand to, the wall time, the peak RSS
of the ingest (its own and its reader processes', from wait4), and the row accounting. The good
rows before (and after) the bomb must be stored, and the bomb quarantined or refused with a reason.

The bombs:
  gzip-nul      4 GB of NUL bytes in one line of a 4 MB .jsonl.gz (a stream of zeros: ~1000x)
  gzip-rows     2 GB of one repeated short row in a .jsonl.gz (rows, not one line: the limit is
                the gzip ratio, --max-gzip-ratio)
  gzip-csv      a .csv.gz whose second row is a 1 GB quoted field
  line-50mb     a 50 MB line between two good ones (plain JSONL)
  doc-objects   a 250 MB JSON document of 7.4M tiny objects, gzip (refused before parsing)
  doc-values    a 250 MB JSON document: one array of 125M integers, gzip (refused before parsing)
  deep          a JSON line nested 100,000 levels deep
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

import orjson

GOOD = b'{"request_id": "good-1", "ts": 1700000000, "account_id": "a", "prompt": "hello"}\n'
GOOD2 = b'{"request_id": "good-2", "ts": 1700000060, "account_id": "a", "prompt": "again"}\n'


def _gzip(path: Path, pieces) -> int:
    """Write `pieces` (bytes, or (bytes, times)) gzip-compressed; returns the bytes they expand to."""
    co = zlib.compressobj(9, zlib.DEFLATED, 31)
    total = 0
    with open(path, "wb") as f:
        for piece in pieces:
            data, times = piece if isinstance(piece, tuple) else (piece, 1)
            for _ in range(times):
                f.write(co.compress(data))
                total += len(data)
        f.write(co.flush())
    return total


def gzip_nul(path: Path) -> int:
    return _gzip(path, [GOOD, b'{"request_id": "x", "prompt": "', (b"\0" * (1 << 24), 256), b'"}\n', GOOD2])


def gzip_rows(path: Path) -> int:
    row = b'{"request_id": "same", "ts": 1700000000, "account_id": "b", "prompt": "hi"}\n'
    return _gzip(path, [GOOD, (row * 20000, (2 << 30) // (len(row) * 20000))])


def gzip_csv(path: Path) -> int:
    head = b"request_id,ts,account_id,prompt\ngood-1,1700000000,a,hello\nbig,1700000000,a,\""
    return _gzip(path, [head, (b"y" * (1 << 24), 64), b'"\ngood-2,1700000060,a,again\n'])


def line_50mb(path: Path) -> int:
    with open(path, "wb") as f:
        f.write(GOOD + b'{"request_id": "x", "prompt": "')
        for _ in range(50):
            f.write(b"z" * (1 << 20))
        f.write(b'"}\n' + GOOD2)
    return path.stat().st_size


def doc_objects(path: Path) -> int:
    el = b'{"ts":1700000000,"account_id":"a"},'
    return _gzip(path, [b"[", (el * 100_000, (250 << 20) // (len(el) * 100_000)), b'{"ts":1700000000,"account_id":"a"}]'])


def doc_values(path: Path) -> int:
    return _gzip(path, [b'[{"ts":1700000000,"account_id":"a","n":[', (b"1," * 1_000_000, 125), b"1]}]"])


def deep(path: Path) -> int:
    path.write_bytes(GOOD + b'{"request_id": "d", "ts": 1, "account_id": "a", "x": ' + b"[" * 100_000
                     + b"]" * 100_000 + b"}\n" + GOOD2)  # fmt: skip
    return path.stat().st_size


BOMBS = {
    "gzip-nul": ("bomb.jsonl.gz", gzip_nul),
    "gzip-rows": ("rows.jsonl.gz", gzip_rows),
    "gzip-csv": ("big.csv.gz", gzip_csv),
    "line-50mb": ("line.jsonl", line_50mb),
    "doc-objects": ("objects.json.gz", doc_objects),
    "doc-values": ("values.json.gz", doc_values),
    "deep": ("deep.jsonl", deep),
}


def run(name: str, folder: Path, extra: list[str]) -> dict:
    file_name, build = BOMBS[name]
    path = folder / file_name
    expands = build(path)
    db = folder / f"{name}.db"
    t = time.perf_counter()
    with open(folder / f"{name}.err", "wb") as err_file:
        proc = subprocess.Popen([sys.executable, "-m", "farmhound", "ingest", str(path), "--db", str(db), "--json",
                                 *extra], stdout=subprocess.PIPE, stderr=err_file)  # fmt: skip
        out = proc.stdout.read()
        proc.stdout.close()
        # wait4: this child's own peak RSS, including the reader processes it waited for (KiB on Linux)
        _, _, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - t
    summary = orjson.loads(out) if out.strip() else {"error": (folder / f"{name}.err").read_text()[-300:]}
    return {"bomb": name, "on disk MB": path.stat().st_size / 1e6, "expands to MB": expands / 1e6,
            "seconds": seconds, "peak RSS MB": usage.ru_maxrss / 1024, "summary": summary}  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", choices=list(BOMBS), action="append")
    ap.add_argument("--tmp", type=Path, default=None, help="Folder for the bombs (default: a temporary one).")
    args, extra = ap.parse_known_args()
    rows = []
    with tempfile.TemporaryDirectory(dir=args.tmp) as tmp:
        for name in args.only or BOMBS:
            r = run(name, Path(tmp), extra)
            rows.append(r)
            s = r["summary"]
            outcome = (f"read {s['rows_read']:,} = stored {s['stored']:,} + dup {s['duplicates']:,} + quarantined "
                       f"{s['quarantined']:,} {s['reasons']}" if "rows_read" in s else "")  # fmt: skip
            if s.get("error"):
                outcome += f" refused: {s['error'][:160]}"
            print(f"{name:<12} {r['on disk MB']:>8.1f} MB -> {r['expands to MB']:>9,.0f} MB  {r['seconds']:>7.1f} s  "
                  f"peak RSS {r['peak RSS MB']:>6.0f} MB  {outcome}", flush=True)  # fmt: skip
    print(f"memory ceiling: {max(r['peak RSS MB'] for r in rows):.0f} MB (peak RSS of the worst bomb)")


if __name__ == "__main__":
    main()
