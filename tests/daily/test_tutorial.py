"""docs/tutorial.md, run block by block: the page a new user follows must work.

The marker convention (also stated at the top of the tutorial):

* a fenced block whose info string has ``title="NAME"`` is written to the
  file ``NAME`` in a fresh directory;
* in a ``console`` block, each line starting with ``$ `` is a command, run
  with ``bash`` in that directory with the real ``lute`` and ``pip`` of this
  interpreter's environment; it must exit 0, and every other line of the
  block must match a line of what it printed (stdout and stderr together),
  where ``...`` matches any text and runs of spaces count as one;
* any other block is an error: nothing on the page goes untested.

Blocks run in the order of the page. The SLURM step (``lute submit``)
needs the SLURM test cluster of ``tests/test_slurm.py``; without one the
rest still runs and the test is then skipped, saying which commands were
not run (in CI, where the cluster must exist, it fails instead).

What stands in for the user's machine: ``pip install`` writes into a
private directory on ``PYTHONPATH`` (``PIP_TARGET``) instead of the venv,
and builds offline (no build isolation, no index), so the test neither
changes the test environment nor needs the network.
"""

from __future__ import annotations

import dataclasses
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import IN_CI, REPO
from test_slurm import slurm_cluster  # noqa: F401 (the fixture, used through request)

TUTORIAL = REPO / "docs" / "tutorial.md"
FENCE = re.compile(r"^```([^\n]*)\n(.*?)^```\s*$", re.MULTILINE | re.DOTALL)
TITLE = re.compile(r'title="([^"]+)"')
NEEDS_SLURM = re.compile(r"\blute (submit|status|cancel)\b|\bworkflow submit\b")
COMMAND_TIMEOUT_S = 120


@dataclasses.dataclass
class Block:
    """One fenced block of the page: its info string, body and line number."""

    info: str
    body: str
    line: int


def blocks(text: str) -> list[Block]:
    """The fenced blocks of a Markdown text, in order."""
    return [
        Block(m.group(1).strip(), m.group(2), text.count("\n", 0, m.start()) + 1)
        for m in FENCE.finditer(text)
    ]


def commands(body: str) -> list[tuple[str, list[str]]]:
    """The ``$ `` commands of a console block, each with the output lines shown under it."""
    found: list[tuple[str, list[str]]] = []
    for line in body.splitlines():
        if line.startswith("$ "):
            found.append((line[2:], []))
        elif line.strip():
            if not found:
                raise AssertionError(f"output line before any command: {line!r}")
            found[-1][1].append(line)
    return found


def _squeezed(text: str) -> str:
    return " ".join(text.split())


def shown_line_matches(shown: str, output: str) -> bool:
    """Whether a line of ``output`` has the fragments of ``shown`` (split at ``...``) in order."""
    fragments = [_squeezed(part) for part in shown.split("...")]
    fragments = [part for part in fragments if part]
    for raw in output.splitlines():
        line = _squeezed(raw)
        position = 0
        for fragment in fragments:
            position = line.find(fragment, position)
            if position < 0:
                break
            position += len(fragment)
        else:
            return True
    return False


def tutorial_env(root: Path, slurm: dict[str, str]) -> dict[str, str]:
    """The shell of a user whose venv holds lute; pip installs into ``root/site``."""
    bin_dir = Path(sys.executable).parent
    if not (bin_dir / "lute").exists():
        pytest.fail(f"no lute command next to {sys.executable}: install lute in this venv first")
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("LUTE_", "PIP_", "SLURM_"))
        and name not in ("EXPERIMENT", "RUN_NUM")
    }
    site = root / "site"
    env.update(slurm)
    env.update(
        PATH=os.pathsep.join([str(bin_dir), env.get("PATH", "")]),
        PYTHONPATH=os.pathsep.join([str(site), str(REPO)]),
        PIP_TARGET=str(site),
        PIP_NO_BUILD_ISOLATION="0",  # pip reads this variable inverted: 0 turns isolation off
        PIP_NO_INDEX="1",
        PIP_NO_DEPS="1",
        PIP_DISABLE_PIP_VERSION_CHECK="1",
    )
    return env


def cluster(request: pytest.FixtureRequest) -> dict[str, str] | None:
    """The SLURM test cluster's environment, or ``None`` where there is none (never in CI)."""
    try:
        return request.getfixturevalue("slurm_cluster")
    except pytest.skip.Exception:
        if IN_CI:
            raise
        return None


def test_every_block_of_the_tutorial_works(tmp_path: Path, request: pytest.FixtureRequest) -> None:
    slurm = cluster(request)
    home = tmp_path / "tutorial"
    home.mkdir()
    env = tutorial_env(tmp_path, slurm or {})
    not_run: list[str] = []
    for block in blocks(TUTORIAL.read_text(encoding="utf-8")):
        where = f"docs/tutorial.md:{block.line}"
        title = TITLE.search(block.info)
        if title:
            (home / title.group(1)).write_text(block.body, encoding="utf-8")
            continue
        assert block.info == "console", f"{where}: a block this test cannot run: {block.info!r}"
        for command, shown in commands(block.body):
            if slurm is None and NEEDS_SLURM.search(command):
                not_run.append(command)
                continue
            done = subprocess.run(
                ["bash", "-o", "pipefail", "-c", command],
                cwd=home,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                timeout=COMMAND_TIMEOUT_S,
                check=False,
            )
            assert done.returncode == 0, (
                f"{where}: `{command}` exited {done.returncode}:\n{done.stdout}"
            )
            for line in shown:
                assert shown_line_matches(line, done.stdout), (
                    f"{where}: `{command}` did not print a line like {line!r}; it printed:\n"
                    f"{done.stdout}"
                )
    if not_run:
        pytest.skip(f"no SLURM cluster, so these tutorial commands were not run: {not_run}")


def test_the_matcher_needs_every_fragment_in_order() -> None:
    assert shown_line_matches("status ... COMPLETED", "status      COMPLETED\n")
    assert shown_line_matches("... FindPeaks COMPLETED ...", "abc  FindPeaks  COMPLETED  yes")
    assert not shown_line_matches("COMPLETED ... status", "status COMPLETED")
    assert not shown_line_matches("status ... FAILED", "status COMPLETED\nFAILED")
