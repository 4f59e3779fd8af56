"""docs/cli.md is the parser rendered: it fails here as soon as the two differ."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

from conftest import REPO

from lute.cli import COMMANDS, build_parser, sub_commands
from lute.cli.reference import REGENERATE, render

PAGE = REPO / "docs" / "cli.md"


def test_the_page_is_what_the_parser_renders() -> None:
    assert PAGE.read_text(encoding="utf-8") == render(), (
        f"docs/cli.md is out of date with lute's argument parser; regenerate it with:\n"
        f"    {REGENERATE}"
    )


def test_every_command_and_option_is_on_the_page() -> None:
    page = render()
    for command in COMMANDS:
        assert f"`lute {command}`" in page
    (commands,) = [a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)]
    common = {
        "-h",
        "--help",
        "-q",
        "--quiet",
        "-v",
        "--verbose",
        "--debug",
    }  # said once, at the top
    for option in set(commands.choices["run"]._option_string_actions) - common:
        assert f"`{option}" in page, option


def test_the_regeneration_command_writes_the_same_page_on_any_terminal(tmp_path) -> None:
    """The documented command, run as a user would, in a narrow and a wide terminal."""
    pages = []
    for columns in ("40", "200"):
        done = subprocess.run(
            [sys.executable, "-m", "lute.cli.reference"],
            env={**os.environ, "COLUMNS": columns, "PYTHONPATH": str(REPO)},
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        pages.append(done.stdout)
    assert pages[0] == pages[1] == render()
    assert REGENERATE == "python -m lute.cli.reference > docs/cli.md"


def test_every_sub_command_says_what_it_does_in_its_own_help() -> None:
    """``lute run --help`` opens with a sentence, not only a usage line."""

    def walk(parser: argparse.ArgumentParser) -> None:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    assert sub.description, f"{sub.prog} has no description"
                    assert sub.format_help().count("\n\n") >= 1, name
                    walk(sub)

    walk(build_parser())


def test_a_description_made_from_the_one_line_help_is_said_once() -> None:
    page = render()
    for name, _, one_line in sub_commands(build_parser()):
        sentence = one_line[0].upper() + one_line[1:] + "."
        assert f"{sentence} {sentence}" not in page, name
