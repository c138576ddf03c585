"""Latency of the terminal workbench on a store of a million requests.

    python benchmarks/tui.py                       # builds benchmarks/data/tui_1000000.db if missing
    python benchmarks/tui.py --db path/to/store.db --repeat 30

The store: by default the sample tenant base at scale 77 (1.03M requests, 38,883 accounts, planted
farms up to ~10k accounts) ingested and triaged, so every screen has real content. `--db` measures
any triaged store instead (e.g. the ingest benchmark's, `benchmarks/data/triage_1000000.db`).

Drives the app headless with `App.run_test()` + `Pilot`, the way a user does: a key press, then the
time until the screen shows what it promised (its tables' first page, its aggregate panels). Reports
p50 / p95 / max per interaction:
- startup: a fresh process, from its start to the triage queue on screen (imports included);
- opening each screen (cluster: the largest; account; templates; sources), first rows and complete;
- a pivot on each kind of value (an account's IP prefix, card BIN, payment, user agent, email
  domain, template), first rows and facets;
- a filter keystroke in a 10k-row table; paging past the loaded rows; a sort;
- a pivot while triage re-runs on the same store (unless --no-triage-run).
Each time runs from the key (sent as the terminal sends it) to the first painted frame that shows
the result. Screens are opened 0.4 s apart (the app tidies its heap when screens settle; back-to-
back opens would measure a pace no analyst keeps).
Target (issue 5): p95 under 100 ms per interaction, startup under 1 s.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
DATA = HERE / "data"
DEFAULT_DB = DATA / "tui_1000000.db"
FARMHOUND = [sys.executable, "-m", "farmhound"]
THINK = 0.4  # seconds between opening screens: an analyst reads what opened before the next key

STARTUP = """
import asyncio, sys, time, psutil
t0 = psutil.Process().create_time()
from tui.app import FarmhoundApp
async def main():
    app = FarmhoundApp(sys.argv[1])
    async with app.run_test(size=(160, 45)) as pilot:
        while not (len(app.screen_stack) > 1 and app.screen.query("#clusters") and app.screen.query_one("#clusters").loads):
            await asyncio.sleep(0.002)
        print(time.time() - t0)
asyncio.run(main())
"""


def build(db: Path) -> None:
    sample = DATA / "tui_sample"
    print(f"building {db} (sample scale 77: ~3 min to generate and ingest, a few more to triage)", flush=True)
    for args in (["sample", "--out", str(sample), "--scale", "77", "--seed", "11"],
                 ["ingest", str(sample), "--db", str(db)], ["triage", "--db", str(db), "--top", "1"]):  # fmt: skip
        subprocess.run([*FARMHOUND, *args], check=True, stdout=subprocess.DEVNULL)


class Timer:
    def __init__(self):
        self.samples: dict[str, list[float]] = {}

    def add(self, name: str, seconds: float) -> None:
        self.samples.setdefault(name, []).append(seconds * 1000)

    def report(self) -> None:
        print(f"\n{'interaction':<44} {'n':>3} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}")
        for name, xs in self.samples.items():
            xs = sorted(xs)
            p95 = xs[min(len(xs) - 1, round(0.95 * (len(xs) - 1)))]
            print(f"{name:<44} {len(xs):>3} {statistics.median(xs):>8.1f} {p95:>8.1f} {xs[-1]:>8.1f}")


async def until(pilot, condition, timeout: float = 60.0) -> None:
    """Poll without `pilot.pause`: that forces a full repaint on each call, a cost a user's
    terminal does not pay (Textual repaints on its own clock)."""
    end = time.perf_counter() + timeout
    while not condition():
        if time.perf_counter() > end:
            raise TimeoutError("the screen did not finish loading")
        await asyncio.sleep(0.001)


def send_key(app, key: str, char: str | None = None) -> None:
    """A key press as the terminal sends it, without `pilot.press`'s waits (it waits for the CPU
    to be idle, ~100 ms here, which would be counted as latency)."""
    from textual import events

    event = events.Key(key, char if char is not None else (key if len(key) == 1 else None))
    event.set_sender(app)
    app._driver.send_message(event)


async def painted(pilot) -> None:
    """Let every widget finish its messages and paint one frame (what the user then sees)."""
    await pilot.pause(0)


def tables_loaded(screen, *ids: str) -> bool:
    from textual.css.query import NoMatches

    try:
        return all(screen.query_one(f"#{i}").loads > 0 for i in ids)
    except NoMatches:  # the screen is still composing
        return False


async def measure_open(pilot, timer: Timer, name: str, open_screen, tables: tuple[str, ...], panels: set[str]) -> None:
    app = pilot.app
    depth = len(app.screen_stack)
    t0 = time.perf_counter()
    open_screen()
    await until(pilot, lambda: len(app.screen_stack) > depth and tables_loaded(app.screen, *tables))
    screen = app.screen
    await painted(pilot)
    timer.add(f"{name}: first rows", time.perf_counter() - t0)
    # A triage run that ends meanwhile closes the screen (its ids are renumbered): not a sample.
    await until(pilot, lambda: panels <= screen.loaded or screen not in app.screen_stack)
    if screen in app.screen_stack:
        await painted(pilot)
        timer.add(f"{name}: complete", time.perf_counter() - t0)
        await app.pop_screen()
    await asyncio.sleep(THINK)


async def type_filter(pilot, table, timer: Timer, label: str, text: str = "acct_1") -> None:
    """Open the filter, type `text` (timing each keystroke), clear it."""
    app = pilot.app
    send_key(app, "slash", "/")
    await until(pilot, lambda: app.focused is not None and app.focused.id == "filter")
    await painted(pilot)
    for ch in text:
        before = table.loads
        t0 = time.perf_counter()
        send_key(app, "underscore" if ch == "_" else ch, ch)
        await until(pilot, lambda b=before: table.loads > b)
        await painted(pilot)
        timer.add(label, time.perf_counter() - t0)
    send_key(app, "escape")
    await until(pilot, lambda: not table.search and not table._loading and app.focused is table)
    await painted(pilot)


async def interactions(db: Path, repeat: int, timer: Timer, during_triage: bool) -> None:
    from farmhound.store.investigate import Investigation
    from tui.app import FarmhoundApp

    inv = Investigation(db)
    biggest = inv.page("clusters", sort="size", limit=1).rows
    big, size = (biggest[0][0], biggest[0][3]) if biggest else (None, 0)
    if big is not None:
        member = inv.page("members", {"cluster": big}, limit=1).rows[0][0]
    else:  # a store without clusters (the ingest benchmark's): its most-shared account
        member = inv.page("pivot", {"kind": "ip_prefix", "value": inv.page("shared", {"account": inv.find_accounts("")[0]},
                          limit=1).rows[0][3]}, limit=1).rows[0][0]  # fmt: skip
    values = {k: v for _, _, k, v, *_ in inv.page("shared", {"account": member}, limit=200).rows}
    pivots = [(k, values[k]) for k in ("ip_prefix", "card_bin", "payment_fingerprint", "user_agent", "email_domain",
                                       "template") if k in values]  # fmt: skip
    inv.close()
    app = FarmhoundApp(db)
    async with app.run_test(size=(160, 45)) as pilot:
        await until(pilot, lambda: len(app.screen_stack) > 1 and tables_loaded(app.screen, "clusters"))
        for _ in range(repeat):
            if big is not None:
                await measure_open(pilot, timer, f"cluster screen (largest: {size:,} accounts)",
                                   lambda: app.open_cluster(big), ("members",), {"_templates"})  # fmt: skip
            await measure_open(pilot, timer, "account screen", lambda: app.open_account(member),
                               ("shares",), {"_profile", "_hours", "_days"})  # fmt: skip
            await measure_open(pilot, timer, "templates screen", app.action_open_templates, ("templates",), set())
            await measure_open(pilot, timer, "sources screen", app.action_open_sources, ("sources", "quarantine"),
                               {"_reasons"})  # fmt: skip
            for kind, value in pivots:
                await measure_open(pilot, timer, f"pivot on {kind}", lambda k=kind, v=value: app.open_pivot(k, v),
                                   ("accounts",), {"_levels", "_facets"})  # fmt: skip

        # A long list (the largest cluster's members, else the templates): filtering, paging, sorting.
        if big is not None:
            app.open_cluster(big)
            await until(pilot, lambda: tables_loaded(app.screen, "members"))
            table, rows = app.screen.query_one("#members"), f"{size:,}-row table"
        else:
            app.action_open_templates()
            await until(pilot, lambda: tables_loaded(app.screen, "templates"))
            table, rows = app.screen.query_one("#templates"), "templates table"
        table.focus()
        await until(pilot, lambda: app.focused is table)
        for _ in range(repeat):
            await type_filter(pilot, table, timer, f"filter keystroke ({rows})", "acct_1" if big is not None else "the")
            for _ in range(3):
                n = len(table.rows_data)
                t0 = time.perf_counter()
                send_key(app, "G")
                await until(pilot, lambda n=n: len(table.rows_data) > n or not table.more)
                await painted(pilot)
                timer.add("page past the loaded rows", time.perf_counter() - t0)
            table.move_cursor(row=0, column=2)
            await painted(pilot)
            before = table.loads
            t0 = time.perf_counter()
            send_key(app, "s")
            await until(pilot, lambda b=before: table.loads > b)
            await painted(pilot)
            timer.add(f"sort ({rows})", time.perf_counter() - t0)

        if not during_triage:
            return
        # While triage re-runs (in its child process; the results it writes are the same).
        await app.pop_screen()
        app.action_rerun()
        await until(pilot, lambda: app.job is not None and app.job.is_running)
        kind, value = pivots[0]
        while app.job.is_running:
            await measure_open(pilot, timer, f"pivot on {kind}, while triage runs",
                               lambda: app.open_pivot(kind, value), ("accounts",), {"_levels", "_facets"})  # fmt: skip
        print(f"triage re-run: {app.job.result}", flush=True)


def startup(db: Path, repeat: int, timer: Timer) -> None:
    for _ in range(repeat):
        out = subprocess.run(
            [sys.executable, "-c", STARTUP, str(db)], capture_output=True, text=True, cwd=ROOT, check=True
        )
        timer.add("startup (process start to queue on screen)", float(out.stdout.strip().splitlines()[-1]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", type=Path, default=DEFAULT_DB)
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument("--no-triage-run", action="store_true", help="skip the measurements while triage re-runs")
    args = ap.parse_args()
    if not args.db.exists():
        DATA.mkdir(exist_ok=True)
        build(args.db)
    import sqlite3

    c = sqlite3.connect(args.db)
    n_req, n_acc = c.execute("SELECT max(rid), (SELECT count(*) FROM accounts) FROM requests").fetchone()
    c.close()
    print(f"{args.db}: {n_req:,} requests, {n_acc:,} accounts")
    timer = Timer()
    startup(args.db, min(args.repeat, 10), timer)
    asyncio.run(interactions(args.db, args.repeat, timer, not args.no_triage_run))
    timer.report()


if __name__ == "__main__":
    main()
