"""The batch script of a managed task, and the ``sbatch`` command that submits it.

A batch job runs ``exec python -m lute run -t TASK -c CONFIG`` with the
submitter's interpreter, and ``--export=ALL`` gives it the submitter's
environment (``PYTHONPATH``, ``LUTE_*``), so the job runs the same lute as
the shell that submitted it. Because of ``exec`` the Executor is the batch
step's own process, which ``lute.batch.slurm.cancel_job`` relies on.

Every value written into the script is quoted for the shell (and for
sbatch, which reads ``#SBATCH`` lines with the same quoting), and a
``BatchJob`` refuses, when it is made, any value holding a newline or other
control character: in a comment or an ``#SBATCH`` line a newline would end
the line, and what follows would run as a command of the job.

Everything here is pure (apart from reading the configuration to check it):
the script and command lines are built as text and compared with golden
files in the tests; ``lute.batch.slurm`` writes and submits them.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shlex
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lute.config.executor_settings import ENV_NODE_SETTINGS, resolve_executor_settings
from lute.config.loader import load_header, load_task_parameters
from lute.core.exceptions import ConfigurationError
from lute.core.names import check_line, check_name
from lute.core.redaction import redact_text
from lute.managed_tasks import get_managed_task
from lute.tasks import registry

SLURM_DIR = "slurm"
"""Sub-directory of the work dir holding batch scripts and job logs."""

SCRIPT_MARK = "# Written by lute for managed task"
"""Starts a comment line of every batch script lute writes: how ``lute ps`` knows its jobs."""
_IN_SCRIPT = "lute writes it into a batch script, where it could run as a command"
_ARRAY = re.compile(r"\d+(-\d+)?(,\d+(-\d+)?)*")


@dataclass(frozen=True)
class BatchJob:
    """One managed task to run as a batch job.

    Attributes:
        managed_task: Name of the managed task.
        config: Path of the YAML configuration.
        work_dir: The configuration's work dir; scripts and logs go to its
            ``slurm/`` sub-directory.
        job_name: Names the job and its files; a workflow node's name.
        experiment: Exported as ``EXPERIMENT`` when set.
        run: Exported as ``RUN_NUM`` when set.
        debug: Run the Executor with debug logging, Tasks without ``-O``.
        sbatch_args: Further ``sbatch`` options, passed as given.
        after_ok: Job ids that must complete successfully first.
        python: Interpreter the job runs lute with.
        defaults: sbatch options written as ``#SBATCH`` lines: the site's
            and the Task's defaults, which any option on the command line
            overrides.
        exports: Environment variables the script exports to the job.
        array: A job array's indices (``10-50,60``): one job per run, whose
            ``RUN_NUM`` is the array index.
        settings: The Executor settings the job will run with, as
            ``(name, value, source)``, written in the script as a comment.
    """

    managed_task: str
    config: str
    work_dir: str
    job_name: str = ""
    experiment: str = ""
    run: str = ""
    debug: bool = False
    sbatch_args: tuple[str, ...] = ()
    after_ok: tuple[str, ...] = ()
    python: str = field(default_factory=lambda: sys.executable)
    defaults: tuple[str, ...] = ()
    exports: tuple[tuple[str, str], ...] = ()
    array: str = ""
    settings: tuple[tuple[str, str, str], ...] = ()

    def __post_init__(self) -> None:
        """Refuse, before any script is written, a value that could break out of its line.

        Raises:
            ConfigurationError: One line naming the field and the value.
        """
        check_name("managed task", self.managed_task)
        check_name("job name", self.name)
        fields = {
            "config path": (self.config,),
            f"{self.config}: work_dir": (self.work_dir,),
            "experiment": (self.experiment,),
            "run": (self.run,),
            "sbatch option": self.sbatch_args,
            "job dependency": self.after_ok,
            "interpreter": (self.python,),
            "sbatch default": self.defaults,
            "exported value": tuple(value for _, value in self.exports),
            "job array": (self.array,),
            "Executor setting": tuple(" ".join(item) for item in self.settings),
        }
        for field_name, values in fields.items():
            for value in values:
                check_line(field_name, value, _IN_SCRIPT)
        for name, _ in self.exports:
            check_name("exported variable", name)
        if self.array and not _ARRAY.fullmatch(self.array):
            raise ConfigurationError(
                f"job array {self.array!r}: use run numbers and ranges, as in 10-50,60"
            )

    @property
    def name(self) -> str:
        """The job's name: ``job_name``, else the managed task."""
        return self.job_name or self.managed_task


def batch_job(
    managed_task: str,
    config: str,
    *,
    job_name: str = "",
    debug: bool = False,
    sbatch_args: Sequence[str] = (),
    check_parameters: bool = True,
    node_settings: Mapping[str, Any] | None = None,
    array: str = "",
) -> BatchJob:
    """A ``BatchJob`` for ``managed_task``, checked before anything is submitted.

    The configuration's header gives the work dir, experiment and run that
    name the job's files. The Executor settings (``lute.config.executor_settings``)
    are checked too, and the site's and the Task's sbatch defaults become
    ``#SBATCH`` lines of the script.

    Args:
        managed_task: The managed task to run.
        config: Its YAML configuration.
        job_name: Name of the job and its files (default: the managed task).
        debug: Run with debug logging.
        sbatch_args: Further sbatch options.
        check_parameters: Also validate the Task's parameters now, so a bad
            one fails here rather than in the queue. Workflows turn this off
            for nodes whose parameters may come from a parent's results.
        node_settings: A workflow node's Executor settings, exported to the
            job in ``$LUTE_EXECUTOR_SETTINGS``.
        array: Run numbers of a job array (``10-50,60``); the header must
            take its run from ``$RUN_NUM``.

    Raises:
        ConfigurationError: Unknown managed task, or an invalid configuration
            or setting.
    """
    managed = get_managed_task(managed_task)
    task_name = managed.task_name
    exports: tuple[tuple[str, str], ...] = ()
    if node_settings:
        exports = ((ENV_NODE_SETTINGS, json.dumps(dict(node_settings), sort_keys=True)),)
    settings = resolve_executor_settings(
        config, task_name, managed.options, {**os.environ, **dict(exports)}
    )
    if check_parameters:
        model = registry.parameter_model(task_name)
        params = load_task_parameters(config, task_name, model, known_tasks=registry.task_names)
        header = params.lute_config
    else:
        header = load_header(config)
    return BatchJob(
        managed_task=managed_task,
        config=str(Path(config).resolve()),
        work_dir=header.work_dir,
        job_name=job_name,
        experiment=header.experiment,
        run=array or str(header.run),
        debug=debug,
        sbatch_args=tuple(sbatch_args),
        defaults=settings.sbatch_args(),
        exports=exports,
        array=array,
        settings=tuple(
            (name, str(value), settings.sources[name])
            for name, value in sorted(settings.options.items())
        ),
    )


def file_stem(job: BatchJob, when: dt.datetime) -> str:
    """``<name>_<experiment>_r<run>_<time>``: what a job's files are called."""
    parts = [job.name, job.experiment or "noexp", f"r{job.run or 'none'}"]
    parts.append(when.strftime("%Y%m%dT%H%M%S"))
    return "_".join(re.sub(r"[^\w.-]", "-", part) for part in parts)


def log_pattern(job: BatchJob, stem: str) -> Path:
    """The ``--output`` file; SLURM replaces ``%j`` by the job id (``%A_%a`` in an array)."""
    return Path(job.work_dir) / SLURM_DIR / f"{stem}_{'%A_%a' if job.array else '%j'}.log"


def lute_run_command(
    python: str, managed_task: str, config: str, *, debug: bool = False
) -> list[str]:
    """``PYTHON -m lute [--debug] run -t MANAGED_TASK -c CONFIG``.

    The one command line that runs a managed task in a process of its own,
    whether as a batch job or as a node of a workflow run here.
    """
    command = [python, "-m", "lute"]
    if debug:
        command.append("--debug")
    return [*command, "run", "-t", managed_task, "-c", config]


def build_batch_script(job: BatchJob, stem: str) -> str:
    """The batch script that runs ``job``.

    Options given on the ``sbatch`` command line (``sbatch_command``) take
    precedence over the ``#SBATCH`` lines written here.
    """
    lines = [
        "#!/bin/bash",
        f"#SBATCH --job-name={shlex.quote(job.name)}",
        f"#SBATCH --output={shlex.quote(str(log_pattern(job, stem)))}",
        "#SBATCH --export=ALL",
    ]
    if job.array:
        lines.append(f"#SBATCH --array={job.array}")
    lines += [f"#SBATCH {redact_text(shlex.quote(option))}" for option in job.defaults]
    lines.append(f"{SCRIPT_MARK} {shlex.quote(job.managed_task)}.")
    options = sbatch_options(job)
    if options:
        lines.append(
            f"# Submitted with these sbatch options too: {redact_text(shlex.join(options))}"
        )
    lines += [
        f"# Executor setting {name}={redact_text(value)} from {redact_text(source)}"
        for name, value, source in job.settings
    ]
    if job.experiment:
        lines.append(f"export EXPERIMENT={shlex.quote(job.experiment)}")
    if job.array:
        lines.append('export RUN_NUM="$SLURM_ARRAY_TASK_ID"')
    elif job.run:
        lines.append(f"export RUN_NUM={shlex.quote(job.run)}")
    lines += [f"export {name}={shlex.quote(value)}" for name, value in job.exports]
    command = lute_run_command(job.python, job.managed_task, job.config, debug=job.debug)
    lines.append(f"exec {shlex.join(command)}")
    return "\n".join(lines) + "\n"


def sbatch_options(job: BatchJob) -> list[str]:
    """Options for ``sbatch``'s command line: dependencies, then the user's.

    With ``--kill-on-invalid-dep=yes`` a job whose parent failed is cancelled
    by SLURM instead of waiting in the queue forever.
    """
    options = []
    if job.after_ok:
        options += [f"--dependency=afterok:{':'.join(job.after_ok)}", "--kill-on-invalid-dep=yes"]
    return [*options, *job.sbatch_args]


def sbatch_command(job: BatchJob, script: Path) -> list[str]:
    """``sbatch --parsable OPTIONS SCRIPT``."""
    return ["sbatch", "--parsable", *sbatch_options(job), str(script)]
