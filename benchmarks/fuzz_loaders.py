"""Fuzzing the loaders at volume: N generated and damaged files through `loaders.pipeline.ingest`,
each format in turn, each file (or batch pair) into a fresh store, checked against the property
of `tests/fuzzing.py` (no crash; loaded or refused with a reason naming the file; rows read =
stored + duplicates + quarantined, as the store holds them; every row of the file read).

    python benchmarks/fuzz_loaders.py                     # 10,000 files, seed 0
    python benchmarks/fuzz_loaders.py --files 500 --seed 7
    python benchmarks/fuzz_loaders.py --files 500 --seed 7 --case 123  # replay one case

Case i of a seed is generated from `random.Random(f"{seed}-{i}")`, so any case replays alone.
Prints files, rows and outcomes per format, files per second, how often each kind of damage
was made, and every failure; each failing case's files are saved under
benchmarks/data/fuzz_failures/<seed>-<i>/ (git-ignored) with what happened. Crashes outside the
loader modules that are known (`fuzzing.KNOWN_ISSUES`) are counted apart. Exit status 1 if any
case failed.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import random
import shutil
import sys
import tempfile
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))
sys.path.insert(0, str(HERE.parent))

import fuzzing  # noqa: E402

FAILURES = HERE / "data" / "fuzz_failures"


def case_of(seed: int, i: int, fmt: str) -> fuzzing.Case:
    return fuzzing.make_case(fuzzing.RandomDraw(random.Random(f"{seed}-{i}")), fmt)


def plan(files: int) -> list[str]:
    """The format of each case index: each format in turn, `files` in all."""
    names = list(fuzzing.FORMATS)
    per, extra = divmod(files, len(names))
    return [fmt for k, fmt in enumerate(names) for _ in range(per + (k < extra))]


def save_failure(files: int, seed: int, i: int, case: fuzzing.Case, outcome: str, detail: str) -> Path:
    folder = FAILURES / f"{seed}-{i}"
    shutil.rmtree(folder, ignore_errors=True)
    fuzzing.write_case(case, folder)
    about = {
        "replay": f"python benchmarks/fuzz_loaders.py --files {files} --seed {seed} --case {i}",
        "format": case.fmt, "container": case.container, "gzip": case.gz, "damage": case.damage,
        "forced_format": case.forced, "field_map": case.field_map, "expected_rows": case.rows,
        "outcome": outcome, "detail": detail,
    }  # fmt: skip
    (folder / "case.json").write_text(json.dumps(about, indent=2) + "\n", encoding="utf-8")
    return folder


def run(files: int, seed: int, scratch: Path, cli_every: int) -> int:
    formats = plan(files)
    stats = {fmt: collections.Counter() for fmt in fuzzing.FORMATS}
    damage = collections.Counter()
    reasons = collections.Counter()
    failures: list[tuple[int, str, str, str, Path]] = []
    known: collections.Counter = collections.Counter()
    started = time.perf_counter()
    for i, fmt in enumerate(formats):
        case = case_of(seed, i, fmt)
        st = stats[fmt]
        st["cases"] += 1
        st["files"] += len(case.files)
        st["bytes"] += sum(map(len, case.files.values()))
        st["damaged"] += bool(case.damage)
        damage.update(case.damage)
        folder = scratch / f"case-{i}"
        t = time.perf_counter()
        try:
            summaries = fuzzing.check_case(case, folder)
            if cli_every and i % cli_every == 0:
                st["through the CLI"] += 1
                fuzzing.check_cli_case(case, folder, summaries)
        except fuzzing.KnownIssue as exc:
            st["known issue"] += 1
            known[str(exc)] += 1
        except fuzzing.PropertyFailure as exc:
            st["failed"] += 1
            failures.append(
                (i, case.label, "property", str(exc), save_failure(files, seed, i, case, "property", str(exc)))
            )
        except Exception as exc:  # noqa: BLE001 - a crash is what we are looking for
            st["failed"] += 1
            where = traceback.extract_tb(exc.__traceback__)[-1]
            text = f"{type(exc).__name__}: {exc} ({Path(where.filename).name}:{where.lineno})"
            failures.append(
                (i, case.label, "crash", text, save_failure(files, seed, i, case, "crash", traceback.format_exc()))
            )
        else:
            for s in summaries:
                st["rows read"] += s.rows_read
                st["stored"] += s.stored
                st["duplicates"] += s.duplicates
                st["quarantined"] += s.quarantined
                st["refused"] += s.status in ("failed", "skipped")
                reasons.update(s.reasons)
        st["seconds"] += time.perf_counter() - t
        shutil.rmtree(folder, ignore_errors=True)
        if (i + 1) % 1000 == 0:
            print(f"  {i + 1:,} cases, {time.perf_counter() - started:,.0f} s", file=sys.stderr, flush=True)
    elapsed = time.perf_counter() - started
    report(stats, damage, reasons, known, failures, elapsed, seed, cli_every)
    return 1 if failures else 0


def report(stats, damage, reasons, known, failures, elapsed: float, seed: int, cli_every: int) -> None:
    cols = ("cases", "files", "damaged", "rows read", "stored", "duplicates", "quarantined", "refused", "failed")
    print(f"\nfuzz_loaders: seed {seed}, max line {fuzzing.MAX_LINE:,} bytes, a fresh store per case\n")
    print(f"{'format':<16}" + "".join(f"{c:>12}" for c in cols) + f"{'files/s':>10}")
    total = collections.Counter()
    for fmt, st in stats.items():
        total.update(st)
        rate = st["files"] / st["seconds"] if st["seconds"] else 0
        print(f"{fmt:<16}" + "".join(f"{st[c]:>12,}" for c in cols) + f"{rate:>10,.0f}")
    print(f"{'total':<16}" + "".join(f"{total[c]:>12,}" for c in cols) + f"{total['files'] / elapsed:>10,.0f}")
    if cli_every:
        print(
            f"\n{total['through the CLI']:,} cases also through `farmhound ingest` (JSON and table): every {cli_every}th"
        )
    print(f"\n{total['cases']:,} cases ({total['files']:,} files, {total['bytes'] / 1e6:,.1f} MB) in {elapsed:,.1f} s: "
          f"{total['files'] / elapsed:,.0f} files/s")  # fmt: skip
    print("\ndamage made (cases with it): " + ", ".join(f"{k} {v:,}" for k, v in damage.most_common()))
    print("quarantine reasons (rows): " + ", ".join(f"{k} {v:,}" for k, v in reasons.most_common()))
    if known:
        print("\nknown issues outside the loaders (not failures of this run):")
        for name, n in known.items():
            fix = next(k[3] for k in fuzzing.KNOWN_ISSUES if k[0] == name)
            print(f"  {name}: {n} case(s); fix: {fix}")
    print(f"\nfailures: {len(failures)}")
    for i, label, kind, text, folder in failures:
        print(f"  case {i} [{label}] {kind}: {text[:300]}\n    files: {folder}")


def replay(seed: int, i: int, files: int, scratch: Path) -> int:
    fmt = plan(files)[i]
    case = case_of(seed, i, fmt)
    print(f"case {i} [{case.label}] damage {case.damage} forced {case.forced} expected rows {case.rows}")
    try:
        summaries = fuzzing.check_case(case, scratch / "replay")
        fuzzing.check_cli_case(case, scratch / "replay", summaries)
        for s in summaries:
            print(f"  {Path(s.path).name}: {s.status} {s.format} read {s.rows_read} = stored {s.stored} + "
                  f"dupes {s.duplicates} + quarantined {s.quarantined} {s.reasons} {s.error or ''}")  # fmt: skip
    except Exception:  # noqa: BLE001 - show it whole
        traceback.print_exc()
        print(f"files: {save_failure(files, seed, i, case, 'replay', traceback.format_exc())}")
        return 1
    print("ok")
    return 0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--files", type=int, default=10_000, help="cases to generate (a batch case is two files)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--case", type=int, help="replay only this case index of the seed (same --files)")
    ap.add_argument("--cli-every", type=int, default=10, help="also run every Nth case through the CLI (0: none)")
    args = ap.parse_args()
    # Each case commits to a fresh store: on a RAM disk SQLite's fsyncs cost nothing.
    base = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None
    with tempfile.TemporaryDirectory(prefix="fuzz_loaders-", dir=base) as scratch:
        if args.case is not None:
            sys.exit(replay(args.seed, args.case, args.files, Path(scratch)))
        sys.exit(run(args.files, args.seed, Path(scratch), args.cli_every))


if __name__ == "__main__":
    main()
