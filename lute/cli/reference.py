"""The command-line reference (docs/cli.md), rendered from the real parser.

A reference written by hand drifts from the parser; this one is generated
from ``build_parser()`` itself, every command and sub-command, so a help
text changed in code is a help text changed in the docs. Regenerate with::

    python -m lute.cli.reference > docs/cli.md

and ``tests/daily/test_cli_reference.py`` fails while the page is out of
date. The rendering depends on nothing but the parser: usage lines are
wrapped at a fixed width (not the terminal's), and a default the help text
already describes is not printed again (such defaults, like the number of
cores, differ between machines).
"""

from __future__ import annotations

import argparse
import functools
import sys

from lute.cli import build_parser, sub_commands

__all__ = ["REGENERATE", "render"]

REGENERATE = "python -m lute.cli.reference > docs/cli.md"
"""The one command that rewrites the page."""
USAGE_WIDTH = 88
"""Columns of the usage lines, whatever the terminal is."""
VERBOSITY = ("quiet", "verbose", "debug")
"""Destinations of the flags every sub-command accepts (documented once, at the top)."""


def render() -> str:
    """The whole reference page as Markdown."""
    parser = build_parser()
    parts = [
        "# Command-line reference\n",
        "<!-- Generated from lute's argument parser; do not edit by hand. Regenerate with:\n"
        f"     {REGENERATE} -->\n",
        "Every command and option of `lute`, generated from the parser itself"
        f" (regenerate with `{REGENERATE}`). The flags `-q`, `-v` and `--debug`"
        " of `lute` itself are accepted after any sub-command too"
        " (`lute run ... -v`). A friendlier path through the common commands:"
        " [tutorial.md](tutorial.md).\n",
    ]
    commands = [("lute", parser, ""), *sub_commands(parser)]
    parts += [_section(name, sub, description) for name, sub, description in commands]
    return "\n".join(parts)


def _section(name: str, parser: argparse.ArgumentParser, description: str) -> str:
    """One command: heading, what it does, usage, its arguments."""
    level = "#" * min(2 + name.count(" "), 4)
    lines = [f"{level} `{name}`\n"]
    sentences = dict.fromkeys(filter(None, [_sentence(description), _sentence(parser.description)]))
    text = " ".join(sentences)  # a description made from the one-line help is said once
    if text:
        lines.append(f"{text}\n")
    lines.append(f"```text\n{_usage(parser)}```\n")
    rows = [_row(action) for action in parser._actions if _documented(action, name)]
    if rows:
        lines.append("| Argument | Meaning | Default |\n|---|---|---|")
        lines += rows
        lines.append("")
    return "\n".join(lines)


def _sentence(text: str | None) -> str:
    """``text`` on one line, starting with a capital and ending with a full stop."""
    text = " ".join((text or "").split())
    if not text:
        return ""
    text = text[0].upper() + text[1:]
    return _escaped(text if text.endswith((".", "!", "?")) else f"{text}.")


def _usage(parser: argparse.ArgumentParser) -> str:
    """The usage lines, wrapped at ``USAGE_WIDTH`` columns."""
    fixed = functools.partial(argparse.HelpFormatter, width=USAGE_WIDTH)
    formatter = fixed(prog=parser.prog)
    formatter.add_usage(parser.usage, parser._actions, parser._mutually_exclusive_groups)
    return formatter.format_help().strip() + "\n"


def _documented(action: argparse.Action, name: str) -> bool:
    """Whether ``action`` gets a row: not help, not the repeated verbosity flags."""
    if isinstance(action, (argparse._HelpAction, argparse._VersionAction)):
        return name == "lute" and isinstance(action, argparse._VersionAction)
    if isinstance(action, argparse._SubParsersAction):
        return False
    return not (name != "lute" and action.dest in VERBOSITY and action.default is argparse.SUPPRESS)


def _row(action: argparse.Action) -> str:
    """A table row: the argument as typed, its help, its default."""
    if action.option_strings:
        takes = "" if action.nargs == 0 else f" {_metavar(action)}"
        argument = ", ".join(f"`{option}{takes}`" for option in action.option_strings)
    else:
        argument = f"`{_metavar(action)}`"
    meaning = " ".join((action.help or "").split())
    if isinstance(action, argparse._VersionAction):
        meaning = "print lute's version and exit"
    if action.choices is not None and not isinstance(action, argparse._SubParsersAction):
        meaning += f" (one of: {', '.join(str(choice) for choice in action.choices)})"
    return f"| {argument} | {_cell(_escaped(meaning))} | {_cell(_default(action))} |"


def _metavar(action: argparse.Action) -> str:
    """What the argument's value is called in the usage line."""
    if isinstance(action.metavar, str):
        return action.metavar
    if action.option_strings:
        return action.dest.upper()
    return action.dest


def _default(action: argparse.Action) -> str:
    """The default worth showing: none for flags, for unset values, or when the help says it."""
    default = action.default
    if action.nargs == 0 or default in (None, argparse.SUPPRESS) or default == []:
        return ""
    if "default" in (action.help or ""):
        return ""
    return f"`{default}`"


def _escaped(text: str) -> str:
    """Prose with ``<`` escaped, so ``<work_dir>`` is not taken for an HTML tag."""
    return text.replace("<", "\\<")


def _cell(text: str) -> str:
    """``text`` safe inside a Markdown table cell."""
    return text.replace("|", "\\|")


def main() -> int:
    """Write the page to standard output."""
    sys.stdout.write(render())
    return 0


if __name__ == "__main__":
    sys.exit(main())
