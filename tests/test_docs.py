"""The README is part of the product: every command is documented there and has --help with an
example, the documented exit codes hold, and the README's test command is what CI runs."""

import re
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from farmhound.cli import main

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def all_commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every command path, e.g. ('ingest',), ('case',), ('case', 'new')."""
    out = []
    for name, cmd in sorted(group.commands.items()):
        out.append((*prefix, name))
        if isinstance(cmd, click.Group):
            out.extend(all_commands(cmd, (*prefix, name)))
    return out


COMMANDS = all_commands(main)


def test_there_are_commands():
    assert {"ingest", "info", "sample"} <= set(main.commands)


@pytest.mark.parametrize("name", sorted(main.commands))
def test_every_command_is_documented_in_the_readme(name):
    assert f"`farmhound {name}" in README, f"README.md does not document `farmhound {name}`"


@pytest.mark.parametrize("path", COMMANDS, ids=[" ".join(p) for p in COMMANDS])
def test_every_command_help_has_an_example(path):
    res = CliRunner().invoke(main, [*path, "--help"])
    assert res.exit_code == 0, res.output
    assert "Example" in res.output, f"`farmhound {' '.join(path)} --help` shows no example"
    assert f"farmhound {' '.join(path)}" in res.output.split("Example", 1)[1], "the example does not run the command"


def test_top_level_help_lists_every_command():
    res = CliRunner().invoke(main, ["--help"])
    assert res.exit_code == 0
    for name in main.commands:
        assert name in res.output


def test_unknown_option_is_a_usage_error():
    res = CliRunner().invoke(main, ["ingest", "--no-such-option"])
    assert res.exit_code == 2  # README: "2 usage error"


def test_ci_runs_the_readme_test_command():
    blocks = re.findall(r"```sh\n(.*?)\n```", README, re.DOTALL)
    assert len(blocks) >= 2 and "farmhound" in blocks[0] and "pytest" in blocks[1]
    assert blocks[1].strip() in (ROOT / ".ci" / "run").read_text()
