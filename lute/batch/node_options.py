"""A workflow node's sbatch options: its defaults, then LUTE's operator settings.

LUTE's Airflow operators take ``max_cores`` and ``max_nodes`` (and sites add
``require_partition``) to bound what a node's job may ask for, whatever the
options shared by the whole graph say. lute reads them as node fields and
applies them to the node's options here, as the last word:

* ``max_cores: N``: ``--ntasks`` is at most N; a node that asks for none
  gets ``--ntasks=N``, so a node declared for 120 cores gets them.
* ``max_nodes: N``: ``--nodes`` is at most N (a range ``A-B`` gets its upper
  end capped); a node that asks for none gets ``--nodes=1-N``.
* ``require_partition: P``: ``--partition=P``, replacing any partition asked for.

Options are read in their long ``--name=value`` and ``--name value`` forms
and the short ``-n``, ``-N`` and ``-p``. Pure functions: the result is
compared with golden batch scripts in the tests.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from lute.batch.dag import WorkflowNode

_FORMS = {
    "ntasks": ("--ntasks", "-n"),
    "nodes": ("--nodes", "-N"),
    "partition": ("--partition", "-p"),
}


def node_sbatch_args(defaults: Sequence[str], node: WorkflowNode) -> tuple[str, ...]:
    """The sbatch options of ``node``'s job.

    Args:
        defaults: The options given on the command line for every node.
        node: The node; its ``slurm_params`` replace ``defaults`` when given,
            then its operator settings apply.
    """
    args = list(defaults if node.slurm_params is None else node.slurm_params)
    if node.max_cores is not None:
        asked = _take(args, "ntasks")
        cores = node.max_cores if asked is None or not asked.isdigit() else int(asked)
        args.append(f"--ntasks={min(cores, node.max_cores)}")
    if node.max_nodes is not None:
        asked = _take(args, "nodes")
        args.append(f"--nodes={_cap_nodes(asked, node.max_nodes)}")
    if node.require_partition is not None:
        _take(args, "partition")
        args.append(f"--partition={node.require_partition}")
    return tuple(args)


def _take(args: list[str], option: str) -> str | None:
    """Remove every occurrence of ``option`` from ``args``; return its last value."""
    long, short = _FORMS[option]
    value = None
    index = 0
    while index < len(args):
        word = args[index]
        if word.startswith(f"{long}="):
            value = word.split("=", 1)[1]
            del args[index]
        elif word in (long, short) and index + 1 < len(args):
            value = args[index + 1]
            del args[index : index + 2]
        elif word.startswith(short) and len(word) > len(short) and not word.startswith("--"):
            value = word[len(short) :]
            del args[index]
        else:
            index += 1
    return value


def _cap_nodes(asked: str | None, most: int) -> str:
    if asked is None:
        return f"1-{most}"
    match = re.fullmatch(r"(\d+)(?:-(\d+))?", asked)
    if match is None:
        return f"1-{most}"
    low, high = int(match.group(1)), match.group(2)
    if high is None:
        return str(min(low, most))
    return f"{min(low, most)}-{min(int(high), most)}"
