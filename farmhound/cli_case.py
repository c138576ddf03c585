"""`farmhound case ...`: cases on the command line, and the case files made from them.

Thin click commands over `farmhound/store/cases.py` and `farmhound/casefile/`.
"""

from __future__ import annotations

from pathlib import Path

import click
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from farmhound.casefile.model import TLP_LEVELS
from farmhound.cli_base import console, db_option, echo_json, fail, open_store
from farmhound.safe import visible

# The store's cases.STATUSES, not imported: the CLI module must load without the store (and pandas),
# because ingest's reader processes import it. tests/test_cases.py checks the two agree.
CASE_STATUSES = ("open", "review", "closed")
analyst_option = click.option("--analyst", help="Who acts (default: $FARMHOUND_ANALYST, the settings file, else the OS user).")


def _book(db: Path):
    from farmhound.store.cases import CaseBook

    return CaseBook(open_store(db))


def _who(analyst: str | None) -> str:
    from farmhound.settings import SettingsError
    from farmhound.store.tags import analyst_name

    try:
        return analyst_name(analyst)
    except SettingsError as exc:
        fail(str(exc))
        raise


def _run(action):
    """Run a case change, turning the core's errors into a message and exit code 1."""
    from farmhound.casefile.export import ExportError
    from farmhound.settings import SettingsError
    from farmhound.store.cases import CaseError

    try:
        return action()
    except (CaseError, ExportError, SettingsError) as exc:
        fail(str(exc))


@click.group()
def case() -> None:
    """Cases: named groups of suspected farm accounts, clusters and templates, with notes and a
    status, exported as case files that others can verify.

    \b
    Example:
      farmhound case new nightjar --note "payment-linked farm, CoT harvesting"
      farmhound case add nightjar --cluster 1
      farmhound case export nightjar --out cases/nightjar --zip --tlp amber
      farmhound case verify cases/nightjar.zip
    """


@case.command("new")
@db_option
@click.argument("name")
@click.option("--note", help="What the case is about.")
@analyst_option
def case_new(db: Path, name: str, note: str | None, analyst: str | None) -> None:
    """Open a new case.

    \b
    Example:
      farmhound case new nightjar --note "payment-linked farm, CoT harvesting"
    """
    book = _book(db)
    created = _run(lambda: book.new(name, _who(analyst), note))
    console.print(Text(f"case {visible(created.name)} opened by {visible(created.analyst)}"))


@case.command("add")
@db_option
@click.argument("name")
@click.option("--account", "accounts", multiple=True, metavar="ID", help="An account (repeatable).")
@click.option("--cluster", "clusters", type=int, multiple=True, metavar="ID", help="A candidate farm of the latest triage run, with all its members (repeatable).")
@click.option("--template", "templates", type=int, multiple=True, metavar="ID", help="A prompt template of the latest triage run (repeatable).")
@click.option("--tagged", "tagged", metavar="TAG", help="Every account tagged TAG (suspected, confirmed, cleared or a label).")
@analyst_option
def case_add(db: Path, name: str, accounts, clusters, templates, tagged: str | None, analyst: str | None) -> None:
    """Add accounts, clusters (with their members), templates, or every account with a tag.

    \b
    Example:
      farmhound case add nightjar --cluster 1 --cluster 4
      farmhound case add nightjar --account acct_1f2e --template 12
      farmhound case add nightjar --tagged confirmed
    """
    from farmhound.store.cases import Added

    if not (accounts or clusters or templates or tagged):
        raise click.UsageError("name what to add: --account, --cluster, --template or --tagged")
    book, who, total = _book(db), _who(analyst), Added()

    def add():
        with book.store.transaction():  # all of it or, if anything is refused, none of it
            for added in (
                book.add_accounts(name, list(accounts), who) if accounts else Added(),
                book.add_clusters(name, list(clusters), who) if clusters else Added(),
                book.add_templates(name, list(templates), who) if templates else Added(),
                book.add_tagged(name, tagged, who) if tagged else Added(),
            ):
                total.accounts += added.accounts
                total.clusters += added.clusters
                total.templates += added.templates

    _run(add)
    now = book.get(name)
    holds = Added(now.members, now.clusters, now.templates)
    console.print(Text(f"case {visible(now.name)}: added {total}; it holds {holds}"), soft_wrap=True)


@case.command("remove")
@db_option
@click.argument("name")
@click.argument("accounts", nargs=-1, required=True)
@analyst_option
def case_remove(db: Path, name: str, accounts: tuple[str, ...], analyst: str | None) -> None:
    """Take accounts out of a case (the change is logged).

    \b
    Example:
      farmhound case remove nightjar acct_1f2e acct_9a0b
    """
    book = _book(db)
    n = _run(lambda: book.remove(name, "account", list(accounts), _who(analyst)))
    console.print(Text(f"case {visible(name)}: removed {n:,} account{'s' if n != 1 else ''}"))


@case.command("note")
@db_option
@click.argument("name")
@click.argument("text")
@analyst_option
def case_note(db: Path, name: str, text: str, analyst: str | None) -> None:
    """Add a note to a case.

    \b
    Example:
      farmhound case note nightjar "payments team confirms the BIN range is prepaid"
    """
    book = _book(db)
    _run(lambda: book.note(name, text, _who(analyst)))
    console.print(Text(f"case {visible(name)}: note added"))


@case.command("status")
@db_option
@click.argument("name")
@click.argument("status", type=click.Choice(CASE_STATUSES))
@analyst_option
def case_status(db: Path, name: str, status: str, analyst: str | None) -> None:
    """Set a case's status: open, review or closed.

    \b
    Example:
      farmhound case status nightjar review
    """
    book = _book(db)
    _run(lambda: book.set_status(name, status, _who(analyst)))
    console.print(Text(f"case {visible(name)} is now {status}"))


@case.command("list")
@db_option
@click.option("--json", "as_json", is_flag=True, help="Print the cases as a JSON list.")
def case_list(db: Path, as_json: bool) -> None:
    """List the cases: status, members, clusters, templates, last change.

    \b
    Example:
      farmhound case list
    """
    from dataclasses import asdict

    cases = _book(db).list()
    if as_json:
        echo_json([asdict(c) for c in cases])
        return
    if not cases:
        console.print("no cases yet: farmhound case new NAME")
        return
    table = Table(box=None, header_style="bold")
    for col in ("case", "status", "accounts", "clusters", "templates", "opened", "by", "last change"):
        table.add_column(col, justify="right" if col in ("accounts", "clusters", "templates") else "left")
    for c in cases:
        table.add_row(Text(visible(c.name)), c.status, f"{c.members:,}", str(c.clusters), str(c.templates),
                      c.created_at[:16], Text(visible(c.analyst)), (c.updated_at or "")[:16])  # fmt: skip
    console.print(table)


@case.command("show")
@db_option
@click.argument("name")
def case_show(db: Path, name: str) -> None:
    """Show a case: what it holds and every change to it, oldest first.

    \b
    Example:
      farmhound case show nightjar
    """
    book = _book(db)
    c = _run(lambda: book.get(name))
    console.print(Text(f"case {visible(c.name)}  ·  {c.status}  ·  {c.members:,} accounts, {c.clusters} clusters, "
                       f"{c.templates} templates  ·  opened {c.created_at} by {visible(c.analyst)}", style="bold"))  # fmt: skip
    if c.description:
        console.print(Text(visible(c.description)))
    for e in book.events(name):
        what = {"new": "opened", "note": "note", "status": "status →", "export": "exported to"}.get(e.action, e.action)
        line = f"{e.at}  {visible(e.analyst)}  {what}"
        if e.keys:
            shown = ", ".join(visible(k) for k in e.keys[:5]) + (f" and {len(e.keys) - 5:,} more" if len(e.keys) > 5 else "")
            line += f" {len(e.keys):,} {e.kind}{'s' if len(e.keys) != 1 else ''}: {shown}"
        if e.text:
            line += f"  “{visible(e.text, 300)}”" if e.action in ("new", "note") else f" {visible(e.text)}"
        console.print(Text(line))


@case.command("export")
@db_option
@click.argument("name")
@click.option("--out", required=True, type=click.Path(path_type=Path), help="The new folder to write the case file into.")
@click.option("--zip", "make_zip", is_flag=True, help="Also write OUT.zip.")
@click.option("--redact", default="", metavar="emails,ips,prompts", help="Hash emails and IPs, drop prompt text (comma-separated).")
@click.option("--tlp", type=click.Choice(TLP_LEVELS), help="Traffic Light Protocol marking (default: the settings file, else amber).")
@click.option("--samples", type=click.IntRange(0, 1000), default=5, show_default=True, help="Requests per member kept as evidence.")
@analyst_option
def case_export(db: Path, name: str, out: Path, make_zip: bool, redact: str, tlp: str | None, samples: int,
                analyst: str | None) -> None:  # fmt: skip
    """Export a case file: report.md and a self-contained report.html with charts, members.csv,
    case.json, evidence/, a STIX 2.1 bundle (indicators.json) and manifest.json with every file's
    SHA-256. Send the manifest's SHA-256 (printed here) to the recipient separately.

    \b
    Example:
      farmhound case export nightjar --out cases/nightjar --zip --tlp amber
      farmhound case export nightjar --out share/nightjar --redact emails,ips,prompts --tlp green
    """
    from farmhound.casefile.export import STEPS, export_case
    from farmhound.settings import load_settings

    kinds = [k.strip() for k in redact.split(",") if k.strip()]
    store = open_store(db)
    who = _who(analyst)
    settings = _run(load_settings)
    tlp = tlp or settings["tlp"]
    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.fields[step]}"), TimeElapsedColumn(),
                  console=console, transient=True) as bar:  # fmt: skip
        task = bar.add_task(f"exporting {visible(name)}", total=len(STEPS), step="")

        def progress(step: str) -> None:
            bar.update(task, completed=STEPS.index(step), step=step)

        done = _run(lambda: export_case(store, name, out, who, tlp=tlp, redact=kinds, make_zip=make_zip,
                                        samples=samples, organisation=settings["organisation"],
                                        progress=progress))  # fmt: skip
    console.print(Text(f"case file {visible(str(done.folder))}: {len(done.files)} files, {done.members:,} members"
                       + (f"; zip {visible(str(done.zip_path))}" if done.zip_path else "")))  # fmt: skip
    console.print(Text(f"manifest SHA-256 {done.manifest_sha256}  (give this to the recipient separately)"), soft_wrap=True)


@case.command("verify")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the result as one JSON object.")
def case_verify(path: Path, as_json: bool) -> None:
    """Re-hash a case file (folder or zip) against its manifest: OK, or exactly which file is
    changed, missing or not listed. Exit code 1 when anything differs.

    \b
    Example:
      farmhound case verify cases/nightjar.zip
    """
    from dataclasses import asdict

    from farmhound.casefile.verify import verify

    result = verify(path)
    if as_json:
        echo_json({**asdict(result), "ok": result.ok})
    elif result.ok:
        console.print(Text(f"OK: {result.checked} files match the manifest of case {visible(result.case or '(unnamed)')} "
                           f"({visible(result.analyst)}, {visible(result.generated_at)})", style="bold green"))  # fmt: skip
        console.print(Text(f"manifest SHA-256 {result.manifest_sha256}"), soft_wrap=True)
    else:
        for problem in result.problems:
            console.print(Text(f"FAIL {visible(problem)}", style="bold red"))
        if result.manifest_sha256:
            console.print(Text(f"{result.checked} files checked; manifest SHA-256 {result.manifest_sha256}"))
    if not result.ok:
        raise SystemExit(1)
