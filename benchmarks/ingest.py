"""Ingest benchmark: farmhound ingest against the floor of parse + insert, side by side in one run.

    python benchmarks/ingest.py                 # 1M requests (~2 GB of JSONL, generated once)
    python benchmarks/ingest.py --rows 100000   # quicker

Variants, each in its own process, on the same file, in one run:
  (a) floor        orjson parse + plain sqlite3 executemany of all fields into one table with a
                   UNIQUE request id, journal and sync off, batches of 10k, one thread
  (b) sqlite-utils insert_all of the same rows with its defaults
  (c) farmhound    `farmhound ingest FILE --db fresh.db` (the real command, WAL, dedup, indexes)
Peak memory is the largest summed RSS of the variant's whole process tree, sampled every 50 ms.
Farmhound is also run on the first 100k rows to show memory is flat in the input size.
Generated data lives in benchmarks/data/ (git-ignored).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
FIELDS = [
    "request_id", "ts", "account_id", "api_key_id", "org_id", "ip", "user_agent", "country", "model",
    "messages", "response", "input_tokens", "output_tokens", "max_tokens", "temperature", "latency_ms", "status",
]  # fmt: skip


def floor(path: str, db: str) -> None:
    import sqlite3

    import orjson

    c = sqlite3.connect(db)
    c.execute("PRAGMA journal_mode=OFF")
    c.execute("PRAGMA synchronous=OFF")
    c.execute(f"CREATE TABLE r ({', '.join(FIELDS)}, UNIQUE(request_id))")
    sql = f"INSERT OR IGNORE INTO r VALUES ({','.join('?' * len(FIELDS))})"
    loads, dumps = orjson.loads, orjson.dumps
    with open(path, "rb") as f:
        batch = []
        for line in f:
            d = loads(line)
            batch.append(tuple(dumps(d.get(k)).decode() if k == "messages" else d.get(k) for k in FIELDS))
            if len(batch) == 10_000:
                with c:
                    c.executemany(sql, batch)
                batch = []
        with c:
            c.executemany(sql, batch)


def sqlite_utils_insert_all(path: str, db: str) -> None:
    import orjson
    import sqlite_utils

    def rows():
        with open(path, "rb") as f:
            for line in f:
                d = orjson.loads(line)
                d["messages"] = orjson.dumps(d.get("messages")).decode()
                yield {k: d.get(k) for k in FIELDS}

    sqlite_utils.Database(db)["r"].insert_all(rows(), pk="request_id")


def _run_measured(cmd: list[str]) -> tuple[float, int, str]:
    """(seconds, peak RSS of the process tree in bytes, stdout) of a command."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        p = psutil.Process(proc.pid)
        while not done.is_set():
            try:
                total = sum(q.memory_info().rss for q in [p, *p.children(recursive=True)])
                peak = max(peak, total)
            except psutil.Error:
                pass
            time.sleep(0.05)

    t = threading.Thread(target=sample, daemon=True)
    t.start()
    out, err = proc.communicate()
    elapsed = time.perf_counter() - t0
    done.set()
    t.join()
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{err[-2000:]}")
    return elapsed, peak, out


def _fresh(db: Path) -> str:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    return str(db)


def _head(src: Path, rows: int) -> Path:
    dst = DATA / f"requests_{rows}.jsonl"
    if not dst.exists():
        with open(src, "rb") as f, open(dst, "wb") as out:
            for _, line in zip(range(rows), f):
                out.write(line)
    return dst


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--variant", choices=["floor", "sqlite-utils"], help=argparse.SUPPRESS)
    ap.add_argument("--file", help=argparse.SUPPRESS)
    ap.add_argument("--db", help=argparse.SUPPRESS)
    ap.add_argument("--skip-slow", action="store_true", help="skip (b), sqlite-utils insert_all")
    args = ap.parse_args()
    if args.variant:  # a child run
        {"floor": floor, "sqlite-utils": sqlite_utils_insert_all}[args.variant](args.file, args.db)
        return

    sys.path.insert(0, str(HERE))
    from gen_requests import generate

    DATA.mkdir(exist_ok=True)
    path = DATA / f"requests_{args.rows}.jsonl"
    if not path.exists():
        print(f"generating {args.rows:,} requests into {path} ...", flush=True)
        generate(path, args.rows)
    size = path.stat().st_size
    print(f"input: {path} ({size / 1e9:.2f} GB, {args.rows:,} rows, {os.cpu_count()} cores)", flush=True)

    me = [sys.executable, __file__]
    farmhound = [sys.executable, "-m", "farmhound", "ingest"]
    runs = [("(a) floor: orjson + executemany", me + ["--variant", "floor", "--file", str(path), "--db", _fresh(DATA / "floor.db")])]
    if not args.skip_slow:
        runs.append(("(b) sqlite-utils insert_all", me + ["--variant", "sqlite-utils", "--file", str(path), "--db", _fresh(DATA / "su.db")]))
    runs.append(("(c) farmhound ingest", farmhound + [str(path), "--db", _fresh(DATA / "fh.db"), "--json"]))
    results = {}
    for name, cmd in runs:
        if name.startswith("(c)"):
            _fresh(DATA / "fh.db")
        secs, peak, _ = _run_measured(cmd)
        results[name] = (secs, peak)
        print(f"{name:<34} {secs:7.1f} s  {args.rows / secs:>9,.0f} rows/s  {size / secs / 1e6:6.1f} MB/s  peak RSS {peak / 2**20:6.0f} MiB", flush=True)
    small_rows = min(100_000, args.rows)
    small = _head(path, small_rows)
    secs, peak, _ = _run_measured(farmhound + [str(small), "--db", _fresh(DATA / "fh_small.db"), "--json"])
    print(f"{'(c) farmhound ingest, first ' + format(small_rows, ',') + ' rows':<34} {secs:7.1f} s  {small_rows / secs:>9,.0f} rows/s  {'':>12}  peak RSS {peak / 2**20:6.0f} MiB")
    fl = results["(a) floor: orjson + executemany"][0]
    fh = results["(c) farmhound ingest"][0]
    print(f"\nfarmhound / floor rate: {fl / fh:.2f}x")


if __name__ == "__main__":
    main()
