"""The `farmhound` command line: thin click commands over the core, drawn with Rich.

Exit codes: 0 success, 1 a fatal error (the message names the cause), 2 usage error,
130 interrupted (Ctrl-C; everything committed is consistent and a re-run resumes).
"""

from __future__ import annotations

import os
import sys
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import click
import orjson
from rich.progress import BarColumn, Progress, ProgressColumn, TaskProgressColumn, TextColumn, TimeRemainingColumn
from rich.table import Table
from rich.text import Text

from farmhound import __version__
from farmhound.cli_base import DEFAULT_DB, console, db_option, echo_json, err_console  # noqa: F401
from farmhound.cli_base import fail as _fail
from farmhound.cli_base import open_store as _open_store
from farmhound.models import IngestSummary
from farmhound.safe import csv_text, visible
from loaders.exports import load_all as load_exports


class _Main(click.Group):
    """The `farmhound` group: refuses an argument that is not valid UTF-8 (on Linux, undecodable
    bytes arrive as lone surrogates) with a usage error, before the store fails to write it."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        for n, arg in enumerate(args, 1):
            if any("\ud800" <= c <= "\udfff" for c in arg):
                try:
                    shown = arg.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
                except UnicodeEncodeError:
                    shown = arg
                raise click.UsageError(f"argument {n} ({visible(shown, 80)}) is not valid UTF-8: farmhound keeps "
                                       "names and notes as UTF-8 (re-type it, or rename the file)", ctx)  # fmt: skip
        return super().parse_args(ctx, args)


@click.group(cls=_Main, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="farmhound")
def main() -> None:
    """farmhound: hunt distillation account farms in AI API usage logs.

    \b
    Start with the shipped sample:
      farmhound ingest sample_logs/ && farmhound info
    """


# -- ingest -------------------------------------------------------------------------------------


class _RateColumn(ProgressColumn):
    """rows/s and MB/s of the current file."""

    def render(self, task) -> Text:
        elapsed = task.elapsed or 0
        if task.fields.get("phase") != "loading" or elapsed <= 0:
            return Text(task.fields.get("phase", ""), style="dim")
        rows = task.fields.get("rows", 0)
        mb = (task.completed or 0) / 1e6
        return Text(f"{rows:>11,} rows  {rows / elapsed:>9,.0f} rows/s  {mb / elapsed:>6.1f} MB/s")


@main.command()
@click.argument("paths", nargs=-1, required=True)
@db_option
@click.option("--format", "fmt", type=click.Choice(list(load_exports())), help="Force the export format (default: sniffed from content).")
@click.option("--account-field", metavar="PATH", help="The source field (dotted path) that holds the account; default per format (see `farmhound formats`).")
@click.option("--map", "maps", multiple=True, metavar="CANONICAL=PATH", help="Map a canonical field to a source field (dotted path), for exports of unknown layout. Repeatable.")
@click.option("--map-file", type=click.Path(dir_okay=False, path_type=Path), help="Load a field map (and account field, format) from a TOML file.")
@click.option("--save-map", type=click.Path(dir_okay=False, path_type=Path), help="Save the given --map / --account-field / --format to a TOML file for next time.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per file (a list when several).")
@click.option("--max-line-bytes", type=click.IntRange(1024), default=16 * 1024 * 1024, show_default=True, help="Longer lines are quarantined, never held in memory.")
@click.option("--max-gzip-ratio", type=click.IntRange(2), default=200, show_default=True, help="A gzip file stops (the rest quarantined as one row) once it has expanded past this many times its size (at least 64 MB): gzip bombs.")
@click.option("--max-document-mb", type=click.IntRange(1), default=256, show_default=True, help="A JSON document (read whole) larger than this is refused; JSON Lines has no such limit.")
@click.option("--readers/--no-readers", default=True, show_default=True, help="Parse big files in reader processes while this one writes (uses every core).")
def ingest(
    paths: tuple[str, ...], db: Path, fmt: str | None, account_field: str | None, maps: tuple[str, ...],
    map_file: Path | None, save_map: Path | None, as_json: bool, max_line_bytes: int, max_gzip_ratio: int,
    max_document_mb: int, readers: bool,
) -> None:  # fmt: skip
    """Load request logs and account records into the store.

    PATHS are files, folders (searched recursively) or glob patterns, of JSON Lines, JSON, CSV or
    Parquet, each optionally gzip-compressed, in the canonical format or a known export format
    (LiteLLM, Bedrock, OpenAI and Anthropic batches, Langfuse, Helicone, OpenRouter; sniffed from
    content). Re-running stores nothing twice; an interrupted run resumes.

    \b
    Example:
      farmhound ingest sample_logs/ --db case.db
      farmhound ingest 'exports/**/*.jsonl.gz' --json
      farmhound ingest spend_logs.csv --format litellm --account-field end_user
      farmhound ingest events.jsonl --map account_id=actor.email --map ts=event.time --save-map events.toml
    """
    # sqlite-utils imports pandas only to map pandas column types, which ingest never writes:
    # keeping it out saves about 90 MB of this process's memory.
    sys.modules.setdefault("pandas", None)
    from loaders.fieldmap import FieldMapError, load_map, parse_map
    from loaders.fieldmap import save_map as write_map
    from loaders.formats import DOCUMENT_MB_ENV, GZIP_RATIO_ENV, SourceError
    from loaders.pipeline import Cancelled
    from loaders.pipeline import ingest as run_ingest

    try:
        field_map: dict[str, str] = {}
        if map_file:
            field_map, file_account, file_fmt = load_map(map_file)
            account_field, fmt = account_field or file_account, fmt or file_fmt
            if fmt and fmt not in load_exports():
                raise FieldMapError(f"{map_file}: unknown format {fmt!r}")
        field_map.update(parse_map(maps))
        if save_map:
            write_map(save_map, field_map, account_field, fmt)
    except FieldMapError as exc:
        raise click.UsageError(str(exc)) from None

    store = _open_store(db)
    progress = Progress(
        TextColumn("{task.description}", markup=False),
        BarColumn(),
        TaskProgressColumn(),
        _RateColumn(),
        TimeRemainingColumn(),
        console=err_console,
        transient=True,
        disable=as_json or not err_console.is_terminal,
    )
    tasks: dict[str, int] = {}

    def on_progress(p) -> None:
        key = p.path or p.phase
        if key not in tasks:
            name = visible(Path(p.path).name, 40) if p.path else "building pivot indexes"
            tasks[key] = progress.add_task(name, total=p.bytes_total or None, phase=p.phase, rows=0)
        task = tasks[key]
        if p.phase == "loading" and progress.tasks[task].fields.get("phase") != "loading":
            progress.reset(task, total=p.bytes_total or None, phase="loading", rows=0)
        progress.update(task, completed=p.bytes_done, rows=p.rows, phase=p.phase)

    # The limits reach the reader processes through their environment (loaders/formats.py).
    os.environ[GZIP_RATIO_ENV], os.environ[DOCUMENT_MB_ENV] = str(max_gzip_ratio), str(max_document_mb)
    try:
        with progress:
            summaries = run_ingest(
                store, list(paths), fmt, on_progress, max_line_bytes=max_line_bytes,
                workers=None if readers else False, account_field=account_field, field_map=field_map or None,
            )  # fmt: skip
    except SourceError as exc:
        _fail(str(exc))
    except (KeyboardInterrupt, Cancelled):
        sources = [s for s in store.sources() if s.status == "loading"]
        err_console.print(Text("Interrupted. Everything committed is consistent; run the same command again to resume.", style="yellow"))
        for s in sources:
            err_console.print(Text(f"  {visible(s.path)}: {s.rows_read:,} rows read so far ({s.stored:,} stored, {s.quarantined:,} quarantined)"))
        sys.exit(130)
    finally:
        store.close()

    if as_json:
        out = [s.to_json() for s in summaries]
        echo_json(out[0] if len(out) == 1 else out)
    else:
        console.print(_summary_table(summaries))
        _print_accounting(summaries)
    if any(s.status == "failed" for s in summaries):
        sys.exit(1)


def _short_names(paths: list[str]) -> dict[str, str]:
    """The file name of each path, or more of the path where two names would be the same."""
    names = {p: Path(p).name for p in paths}
    clashes = {n for n in names.values() if list(names.values()).count(n) > 1}
    return {p: (str(Path(*Path(p).parts[-2:])) if n in clashes else n) for p, n in names.items()}


def _summary_table(summaries: list[IngestSummary]) -> Table:
    table = Table(title="Ingest summary", title_justify="left", show_footer=len(summaries) > 1)
    totals = [sum(getattr(s, k) for s in summaries) for k in ("rows_read", "stored", "duplicates", "quarantined")]
    names = _short_names([s.path for s in summaries])
    table.add_column("file", footer="total", overflow="fold")
    table.add_column("format", overflow="fold")
    for name, total in zip(("read", "stored", "dupes", "quarant."), totals):
        table.add_column(name, justify="right", footer=f"{total:,}", no_wrap=True)
    table.add_column("top reasons / status", overflow="fold")
    for s in summaries:
        reasons = "; ".join(f"{visible(r)} {n:,}" for r, n in sorted(s.reasons.items(), key=lambda kv: -kv[1])[:2])
        if len(s.reasons) > 2:
            reasons += f"; +{len(s.reasons) - 2} more"
        note = Text(reasons)
        if s.status != "loaded":
            if reasons:
                note.append("; ")
            note.append(visible(s.status), style={"failed": "red", "skipped": "yellow"}.get(s.status, "dim"))
        table.add_row(
            Text(visible(names[s.path])), _format_label(s.format, s.kind, s.options),
            f"{s.rows_read:,}", f"{s.stored:,}", f"{s.duplicates:,}", f"{s.quarantined:,}", note,
        )  # fmt: skip
    return table


def _format_label(container: str, kind: str, options: dict) -> Text:
    """`jsonl requests`, or `litellm jsonl.gz` for an export format, with the account field chosen."""
    export = options.get("format", "canonical")
    label = f"{container} {kind}" if export == "canonical" else f"{export} {container}"
    if options.get("account_field"):
        label += f" (account: {options['account_field']})"
    if options.get("map"):
        label += " (mapped)"
    return Text(visible(label))


def _print_accounting(summaries: list[IngestSummary]) -> None:
    for s in summaries:
        if s.error:
            style = "yellow" if s.status == "skipped" else "red"
            err_console.print(Text(f"{s.status}: {visible(s.error)}", style=style), soft_wrap=True)
        elif s.rows_read != s.stored + s.duplicates + s.quarantined:  # must never happen
            err_console.print(Text(f"{visible(s.path)}: row accounting does not add up", style="bold red"))
        if s.notes:
            lacks = "; ".join(
                f"{visible(n)}: {c:,} row{'' if c == 1 else 's'}" for n, c in sorted(s.notes.items(), key=lambda kv: -kv[1])
            )
            console.print(Text(f"{visible(Path(s.path).name)}: {lacks}", style="dim"), soft_wrap=True)
    if any(s.quarantined for s in summaries):
        console.print(Text("Every row read is stored, a duplicate, or quarantined. See the quarantined rows "
                           "(file, line, reason, raw text) with: farmhound info --quarantine 50", style="dim"))


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print the formats as a JSON list.")
def formats(as_json: bool) -> None:
    """List the export formats ingest reads: how each is told, its default account field, and what
    it lacks (stored as missing, never invented).

    \b
    Example:
      farmhound formats
      farmhound ingest spend_logs.jsonl --format litellm --account-field end_user
    """
    exports = load_exports().values()
    if as_json:
        out = [
            {"name": e.name, "title": e.title, "kind": e.kind, "account_fields": list(e.account_fields),
             "lacks": sorted(e.lacks), "companion": e.companion}
            for e in exports
        ]  # fmt: skip
        echo_json(out)
        return
    table = Table(title="Export formats (sniffed from content; --format forces one)", title_justify="left")
    table.add_column("--format")
    table.add_column("what")
    table.add_column("account (first with a value; --account-field overrides)", overflow="fold")
    table.add_column("lacks", overflow="fold")
    for e in exports:
        what = e.title + (f" (joined with {e.companion} on {e.join_key})" if e.companion else "")
        if e.kind == "companion":
            what += " (completes another format's rows)"
        accounts = "" if e.kind == "companion" else ", ".join(e.account_fields)
        table.add_row(e.name, what, accounts, ", ".join(sorted(e.lacks)) or "-")
    console.print(table)


# -- info -------------------------------------------------------------------------------------------


def _iso(ms: int | None) -> str:
    return "-" if ms is None else datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


@main.command()
@db_option
@click.option("--json", "as_json", is_flag=True, help="Print the counts as one JSON object.")
@click.option("--quarantine", "show_quarantine", type=int, default=0, metavar="N", help="Also list the first N quarantined rows.")
def info(db: Path, as_json: bool, show_quarantine: int) -> None:
    """Show what the store holds: counts per table, loaded sources, quarantine reasons.

    \b
    Example:
      farmhound info --db case.db
      farmhound info --quarantine 20
    """
    if not db.exists():
        _fail(f"{db}: no such store (load data with: farmhound ingest PATH --db {db})")
    with _open_store(db) as store:
        i = store.info()
        if as_json:
            echo_json(i.to_json())
            return
        head = Table.grid(padding=(0, 2))
        head.add_column(style="bold")
        head.add_column()
        head.add_row("store", Text(f"{visible(i.path)} ({i.size_bytes / 1e6:,.1f} MB, schema v{i.schema_version})"))
        head.add_row("requests", f"{i.requests:,}  ({_iso(i.first_ts)} to {_iso(i.last_ts)})")
        head.add_row("accounts", f"{i.accounts:,}  ({i.account_records:,} with an account record)")
        head.add_row("distinct texts", f"{i.prompts:,} prompts, {i.responses:,} responses")
        head.add_row("quarantined", f"{i.quarantined:,} rows")
        head.add_row("derived", f"{i.templates:,} templates, {i.clusters:,} clusters")
        head.add_row("investigation", f"{i.tags:,} tags, {i.cases:,} cases")
        console.print(head)
        sources = store.sources()
        if sources:
            t = Table(title="Sources", title_justify="left")
            names = _short_names([s.path for s in sources])
            for col, just in (("id", "right"), ("file", "left"), ("format", "left"), ("sha256", "left"),
                              ("read", "right"), ("stored", "right"), ("dupes", "right"), ("quarant.", "right")):  # fmt: skip
                t.add_column(col, justify=just, overflow="fold", no_wrap=col not in ("file", "format"), min_width=8 if col == "file" else None)
            for s in sources:
                t.add_row(
                    str(s.id),
                    Text(visible(names[s.path])) + ("" if s.status == "complete" else Text(" (partly loaded)", style="yellow")),
                    _format_label(s.format, s.kind, orjson.loads(s.options) if s.options else {}), s.sha256[:8],
                    f"{s.rows_read:,}", f"{s.stored:,}", f"{s.duplicates:,}", f"{s.quarantined:,}",
                )  # fmt: skip
            console.print(t)
        reasons = store.quarantine_reasons(limit=10)
        if reasons:
            t = Table(title="Quarantine reasons", title_justify="left")
            t.add_column("reason")
            t.add_column("rows", justify="right")
            for reason, n in reasons:
                t.add_row(Text(visible(reason)), f"{n:,}")
            console.print(t)
        if show_quarantine:
            paths = {s.id: Path(s.path).name for s in sources}
            t = Table(title=f"Quarantined rows (first {show_quarantine:,})", title_justify="left")
            for col in ("file", "line", "reason", "detail", "raw"):
                t.add_column(col, overflow="fold")
            for q in store.quarantine_rows(limit=show_quarantine):
                t.add_row(
                    Text(visible(paths.get(q["source_id"], "?"))), str(q["line"]), Text(visible(q["reason"])),
                    Text(visible(q["detail"], 200)), Text(visible(q["raw"], 200)),
                )  # fmt: skip
            console.print(t)


# -- triage -----------------------------------------------------------------------------------------

_LEVEL_STYLE = {"critical": "bold red", "high": "red", "medium": "yellow", "low": "dim"}


def _shipped_samples() -> list[Path]:
    """The sample logs shipped with the source tree; a wheel without them generates the same set."""
    shipped = Path(__file__).resolve().parent.parent / "sample_logs"
    if (shipped / "requests.jsonl").exists():
        return [shipped / "requests.jsonl", shipped / "accounts.csv"]
    from farmhound.sample import generate

    out = Path("farmhound-sample")
    generate(out)
    return [out / "requests.jsonl", out / "accounts.csv"]


@main.command()
@click.argument("db", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path), help="TOML overriding the shipped thresholds and weights, for re-runs of triage.")
def tui(db: Path | None, config_path: Path | None) -> None:
    """Open the terminal workbench: the triage queue, clusters, accounts, pivots, templates and
    sources. With no DB and no store in the working directory, it loads the shipped sample logs
    into farmhound.db and runs triage first, so the first look is a real investigation.

    \b
    Example:
      farmhound tui                 # farmhound.db here, or the sample logs on a first run
      farmhound tui case.db --config strict.toml
    """
    from farmhound.config import ConfigError, load_config

    explicit = db is not None
    db = db or Path(os.environ.get("FARMHOUND_DB", DEFAULT_DB))
    if explicit and not db.exists():
        _fail(f"{db}: no such store (make one with: farmhound ingest FILES --db {db})")
    try:
        load_config(config_path)  # a bad config fails here, not in the middle of a triage run
    except ConfigError as exc:
        _fail(str(exc))
    store = _open_store(db)  # creates or migrates it
    empty = not store.sources()
    store.close()
    from tui.app import FarmhoundApp

    FarmhoundApp(db, _shipped_samples() if empty and not explicit else [], config_path).run()


@main.command()
@db_option
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path), help="TOML overriding the shipped thresholds and weights (see --print-config).")
@click.option("--json", "as_json", is_flag=True, help="Print clusters and accounts as JSON.")
@click.option("--csv", "as_csv", is_flag=True, help="Print the scored accounts as CSV.")
@click.option("--top", type=click.IntRange(1), default=20, show_default=True, help="How many candidate farms to show (--json: to list).")
@click.option("--print-config", is_flag=True, help="Print the shipped default config (a starting point for --config) and exit.")
def triage(db: Path, config_path: Path | None, as_json: bool, as_csv: bool, top: int, print_config: bool) -> None:
    """Find candidate farms: mine prompt templates, compute signals, link accounts, and score
    clusters and accounts with their reasons. Results go to the store for the terminal UI; tags,
    notes and cases are never touched by a re-run.

    \b
    Example:
      farmhound triage --db case.db --top 10
      farmhound triage --db case.db --json > triage.json
      farmhound triage --print-config > strict.toml && farmhound triage --config strict.toml
    """
    from farmhound.config import DEFAULT_PATH, ConfigError, load_config

    if print_config:
        click.echo(DEFAULT_PATH.read_text(encoding="utf-8"), nl=False)
        return
    if as_json and as_csv:
        raise click.UsageError("--json and --csv cannot be used together")
    try:
        config = load_config(config_path)
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from None
    from farmhound.triage import Cancelled, run_triage

    if not db.exists():
        _fail(f"{db}: no such store; load exports first: farmhound ingest PATH --db {db}")
    store = _open_store(db)
    if not store.request_count():
        store.close()
        _fail(f"{db}: the store holds no requests; load some first: farmhound ingest PATH --db {db}")
    progress = Progress(TextColumn("triage: {task.description}", markup=False), BarColumn(), TimeRemainingColumn(),
                        console=err_console, transient=True, disable=as_json or as_csv or not err_console.is_terminal)  # fmt: skip
    try:
        with progress:
            task = progress.add_task("reading", total=1.0)
            result = run_triage(store, config, lambda phase, done: progress.update(task, description=phase, completed=done))
    except (KeyboardInterrupt, Cancelled):
        err_console.print(Text("Interrupted: the store keeps the previous triage results.", style="yellow"))
        sys.exit(130)
    finally:
        store.close()
    if as_json:
        echo_json(result.to_json(top))
    elif as_csv:
        _triage_csv(result)
    else:
        _triage_table(result, top)


def _triage_table(result, top: int) -> None:
    shown = result.clusters[:top]
    table = Table(title=f"Candidate farms ({len(result.clusters):,} clusters, {len(result.flagged):,} accounts flagged)",
                  title_justify="left", show_lines=True)  # fmt: skip
    table.add_column("#", justify="right")
    table.add_column("level")
    table.add_column("score", justify="right")
    table.add_column("accounts", justify="right")
    table.add_column("held together by", overflow="fold")
    table.add_column("top reasons", overflow="fold", ratio=1)
    for c in shown:
        links = ", ".join(f"{k} {n}" for k, n in sorted(c.links.items(), key=lambda kv: -kv[1]))
        reasons = Text()
        for r in c.reasons[:4]:
            if reasons:
                reasons.append("\n")
            reasons.append(visible(r.text(detail=False), 100), style="green" if r.points < 0 else "")
        table.add_row(str(c.id), Text(c.level, style=_LEVEL_STYLE[c.level]), f"{c.score:.1f}", f"{len(c.accounts):,}",
                      links, reasons)  # fmt: skip
    console.print(table)
    seconds = sum(result.seconds.values())
    console.print(Text(f"{result.requests:,} requests, {result.templates:,} templates, config {result.config_hash}, "
                       f"{seconds:.1f} s. Flagged = high or critical. Every reason with its evidence: farmhound triage --json",
                       style="dim"))  # fmt: skip


def _cell(v) -> str:
    """A CSV cell that a spreadsheet will not run as a formula (leading blanks or a full-width =
    do not hide one), and that shows control characters escaped, as members.csv does: a CR would
    split the row, and the file may well be shown in a terminal."""
    return "" if v is None else csv_text(v)


def _triage_csv(result) -> None:
    import csv

    w = csv.writer(sys.stdout, lineterminator="\n")
    w.writerow(["account_id", "score", "level", "cluster_id", "membership", "top_reasons"])
    for a in result.accounts:
        reasons = "; ".join(r.text() for r in a.reasons[:3])
        w.writerow([_cell(a.account_id), a.score, a.level, a.cluster_id or "", a.membership or "", _cell(reasons)])


# -- tag --------------------------------------------------------------------------------------------


@main.command()
@db_option
@click.argument("accounts", nargs=-1)
@click.option("--as", "tag", metavar="TAG", help="suspected, confirmed, cleared, or a free label (one word).")
@click.option("--cluster", "clusters", type=int, multiple=True, metavar="ID", help="Tag every member of a candidate farm of the latest triage run (repeatable).")
@click.option("--note", help="Why: kept with every change it makes.")
@click.option("--remove", is_flag=True, help="Take the tag off instead.")
@click.option("--undo", is_flag=True, help="Take back the latest change still standing (a whole batch).")
@click.option("--redo", is_flag=True, help="Re-apply the latest change taken back.")
@click.option("--history", "history_of", metavar="ACCOUNT", help="Print an account's tags and every change to them.")
@click.option("--analyst", help="Who decides (default: $FARMHOUND_ANALYST, else the OS user).")
def tag(db: Path, accounts: tuple[str, ...], tag: str | None, clusters: tuple[int, ...], note: str | None,
        remove: bool, undo: bool, redo: bool, history_of: str | None, analyst: str | None) -> None:  # fmt: skip
    """Tag accounts as suspected, confirmed or cleared farm members (or with a free label), one at a
    time, a list, or whole clusters. Every change is logged (who, when, why, the status before);
    --undo and --redo walk the log back and forth. Tags survive re-ingest and re-triage.

    \b
    Example:
      farmhound tag acct_1f2e acct_9a0b --as suspected --note "same card BIN and template"
      farmhound tag --cluster 4 --as confirmed --note "reviewed with payments team"
      farmhound tag --undo
      farmhound tag --history acct_1f2e
    """
    from farmhound.settings import SettingsError
    from farmhound.store.tags import TagError, TagLog, analyst_name

    modes = sum([bool(tag), undo, redo, bool(history_of)])
    if modes != 1:
        raise click.UsageError("give exactly one of --as TAG, --undo, --redo, --history ACCOUNT")
    if (accounts or clusters) and not tag:
        raise click.UsageError("accounts and --cluster need --as TAG")
    store = _open_store(db)
    log = TagLog(store)
    try:
        if history_of:
            _print_history(log, history_of)
            return
        who = analyst_name(analyst)
        if undo or redo:
            batch = log.undo(who) if undo else log.redo(who)
        else:
            members = list(accounts)
            for cid in clusters:
                found = store.cluster_members(cid)
                if not found:
                    raise TagError(f"cluster {cid} is not in the latest triage run")
                members += found
            if not members:
                raise click.UsageError("name accounts or --cluster ID to tag")
            batch = log.apply(members, tag, who, note, remove=remove)
    except (TagError, SettingsError) as exc:
        _fail(str(exc))
    finally:
        store.close()
    changes = Counter(f"{e.action} {e.tag}" for e in batch.events)
    summary = ", ".join(f"{what} on {n:,}" for what, n in changes.items())
    console.print(Text(f"{batch.kind} #{batch.id} by {visible(who)}: {visible(summary)} "
                       f"({batch.accounts:,} account{'s' if batch.accounts != 1 else ''})"))  # fmt: skip


def _print_history(log, account_id: str) -> None:
    tags = log.tags_of(account_id)
    console.print(Text(f"{visible(account_id)}: {', '.join(tags) if tags else 'no tags'}", style="bold"))
    for e in log.events(account_id):
        line = f"{e.at}  {visible(e.analyst)}  {e.kind:<4}  {e.action} {visible(e.tag)}"
        if e.previous and e.previous != e.tag:
            line += f" (was {e.previous})"
        if e.note:
            line += f"  “{visible(e.note, 200)}”"
        console.print(Text(line))


# -- sample -----------------------------------------------------------------------------------------


@main.command()
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("farmhound-sample"), show_default=True, help="Folder to write into.")
@click.option("--scale", type=click.FloatRange(min=0.01), default=1.0, show_default=True, help="Size of the tenant base (1 = ~500 accounts, ~13k requests).")
@click.option("--seed", type=int, default=7, show_default=True, help="Random seed; the same seed gives the same files.")
@click.option("--format", "fmt", type=click.Choice(["canonical", "litellm", "bedrock"]), default="canonical", show_default=True, help="Write the requests as canonical JSONL, LiteLLM spend logs, or Bedrock invocation logs (S3 layout).")
def sample(out: Path, scale: float, seed: int, fmt: str) -> None:
    """Generate a realistic tenant base with planted farms and a ground-truth labels file.

    The same seed gives the same tenant base in every --format.

    \b
    Example:
      farmhound sample --out /tmp/tenants --scale 5 --seed 11
      farmhound sample --out /tmp/bedrock --format bedrock
      farmhound ingest /tmp/tenants --db tenants.db
    """
    from farmhound.sample import generate

    s = generate(out, scale=scale, seed=seed, fmt=fmt)
    t = Table(title=f"Sample tenant base (seed {seed}, scale {scale:g})", title_justify="left")
    t.add_column("population")
    t.add_column("accounts", justify="right")
    for name, n in s.populations.items():
        t.add_row(name, f"{n:,}")
    console.print(t)
    console.print(Text(f"{s.requests:,} requests, {s.accounts:,} accounts written to {visible(s.out_dir)}:"))
    for f in s.files:
        size = sum(p.stat().st_size for p in f.rglob("*") if p.is_file()) if f.is_dir() else f.stat().st_size
        console.print(Text(f"  {visible(f)} ({size / 1e6:,.1f} MB)"))


from farmhound.cli_case import case  # noqa: E402  (a group of its own module, registered here)

main.add_command(case)

if __name__ == "__main__":
    main()
