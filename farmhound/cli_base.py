"""What every `farmhound` command shares: the consoles, the --db option, failing with a message."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click
from rich.console import Console
from rich.text import Text

from farmhound.safe import json_text, visible

# The store (sqlite-utils, which imports pandas) is imported inside the commands: the ingest
# reader process re-imports this module when it starts, and must start fast.
DEFAULT_DB = "farmhound.db"

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)

db_option = click.option(
    "--db",
    type=click.Path(dir_okay=False, path_type=Path),
    default=lambda: os.environ.get("FARMHOUND_DB", DEFAULT_DB),
    show_default="farmhound.db, or $FARMHOUND_DB",
    help="The SQLite store.",
)


def fail(message: str) -> None:
    err_console.print(Text(f"error: {visible(message)}", style="bold red"), soft_wrap=True)
    sys.exit(1)


def open_store(db: Path, readonly: bool = False):
    from farmhound.store import Store, StoreError

    try:
        return Store(db, readonly=readonly)
    except StoreError as exc:
        fail(str(exc))
        raise  # unreachable


def echo_json(doc) -> None:
    """Print `doc` as indented JSON; characters a terminal would act on (C1 controls, bidi and
    zero-width characters) are written as \\u escapes, so the output is safe to show and parses
    to the same data."""
    click.echo(json_text(doc))
