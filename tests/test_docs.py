"""The README is part of the product: its commands exist and its set-up commands are what CI runs."""

import re
from pathlib import Path

from click.testing import CliRunner

from farmhound.cli import main

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def test_every_command_is_documented_in_the_readme():
    for name in main.commands:
        assert f"`farmhound {name}" in README, f"README.md does not document `farmhound {name}`"


def test_every_command_has_help_with_an_example():
    for name in main.commands:
        res = CliRunner().invoke(main, [name, "--help"])
        assert res.exit_code == 0 and "Example" in res.output, name


def test_ci_runs_the_readme_test_command():
    blocks = re.findall(r"```sh\n(.*?)\n```", README, re.S)
    assert len(blocks) >= 2 and "farmhound" in blocks[0] and "pytest" in blocks[1]
    assert blocks[1].strip() in (ROOT / ".ci" / "run").read_text()
