"""Case-file benchmark: export the largest candidate farm of a store as a case file, then verify it.

    python benchmarks/casefile.py --db /tmp/big/tui.db            # a triaged store (left unchanged:
                                                                  # the benchmark works on a copy)
    python benchmarks/casefile.py --db STORE --redact emails,ips,prompts --repeat 3

Builds the store's largest cluster into a fresh case (adding a 10,000-account cluster is itself
timed), exports it with a zip (`farmhound.casefile.export.export_case`), and verifies the folder and
the zip. Prints seconds per step of the export (gathering from the store, rendering each file,
writing), the files' sizes, and the peak RSS of the process during the export (sampled every 20 ms
with psutil) next to the RSS before it.

A realistic store to run it on: `farmhound sample --scale 77 --seed 11 --out /tmp/big/sample`,
`farmhound ingest /tmp/big/sample --db /tmp/big/tui.db`, `farmhound triage --db /tmp/big/tui.db`
(1.03M requests; its largest farm has 10,393 accounts).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import threading
import time
from pathlib import Path

import psutil

from farmhound.casefile.export import export_case
from farmhound.casefile.verify import verify
from farmhound.store import Store
from farmhound.store.cases import CaseBook

CASE = "benchmark-largest-farm"


class Peak:
    """The peak RSS of this process while the block runs, sampled every 20 ms."""

    def __enter__(self):
        self.proc, self.peak, self.running = psutil.Process(), 0, True
        self.before = self.proc.memory_info().rss
        self.thread = threading.Thread(target=self._sample, daemon=True)
        self.thread.start()
        return self

    def _sample(self):
        while self.running:
            self.peak = max(self.peak, self.proc.memory_info().rss)
            time.sleep(0.02)

    def __exit__(self, *exc):
        self.running = False
        self.thread.join()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", required=True, type=Path)
    ap.add_argument("--redact", default="")
    ap.add_argument("--repeat", type=int, default=1)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="casefile-bench-"))
    shutil.copy(args.db, work / "store.db")  # the case goes into a copy: the store is left as it was
    store = Store(work / "store.db")
    book = CaseBook(store)
    cid, size = store.conn.execute("SELECT id, size FROM clusters ORDER BY size DESC LIMIT 1").fetchone()
    book.new(CASE, "benchmark")
    t = time.perf_counter()
    added = book.add_clusters(CASE, [cid], "benchmark")
    print(f"add cluster {cid} ({size:,} accounts) to a case: {time.perf_counter() - t:.2f} s ({added})")
    kinds = [k for k in args.redact.split(",") if k]
    totals = []
    try:
        for n in range(args.repeat):
            steps: dict[str, float] = {}
            last = [time.perf_counter(), None]

            def progress(step: str) -> None:
                now = time.perf_counter()
                if last[1]:
                    steps[last[1]] = now - last[0]
                last[:] = [now, step]

            out = work / f"case{n}"
            with Peak() as peak:
                t = time.perf_counter()
                done = export_case(store, CASE, out, "benchmark", redact=kinds, make_zip=True, progress=progress)
                total = time.perf_counter() - t
            steps[last[1]] = time.perf_counter() - last[0]
            totals.append(total)
            t = time.perf_counter()
            ok = verify(out).ok and verify(done.zip_path).ok
            verify_s = time.perf_counter() - t
            print(f"run {n + 1}: export {total:.2f} s  (" + ", ".join(f"{k} {v:.2f}" for k, v in steps.items()) + ")")
            print(f"        verify folder + zip {verify_s:.2f} s, ok={ok}; RSS {peak.before / 2**20:.0f} MiB before, "
                  f"peak {peak.peak / 2**20:.0f} MiB")  # fmt: skip
            sizes = {p.relative_to(out).as_posix(): p.stat().st_size for p in out.rglob("*") if p.is_file()}
            print("        " + ", ".join(f"{k} {v / 1e6:.1f} MB" for k, v in sorted(sizes.items()))
                  + f"; zip {done.zip_path.stat().st_size / 1e6:.1f} MB; {done.members:,} members")  # fmt: skip
        if len(totals) > 1:
            print(f"export: median {statistics.median(totals):.2f} s over {len(totals)} runs")
    finally:
        store.close()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
