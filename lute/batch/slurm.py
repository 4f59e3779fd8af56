"""SLURM batch jobs: build the script, submit it, ask about it, cancel it.

Pure functions build the batch script and the command lines and parse what
``sbatch``, ``squeue`` and ``sacct`` print; they are tested against recorded
output. The few functions that run a program (``submit``, ``job_status``,
``cancel_job``) only glue those together.

A batch job runs ``exec python -m lute run -t TASK -c CONFIG`` with the
submitter's interpreter, and ``--export=ALL`` gives it the submitter's
environment (``PYTHONPATH``, ``LUTE_*``), so the job runs the same lute as
the shell that submitted it. Because of ``exec`` the Executor is the batch
step's own process: ``cancel_job`` signals it alone (``scancel --batch
--signal=TERM``), the Executor stops its Task and records the run as
CANCELLED. SLURM then reports the job FAILED (exit code 1), since lute, not
SLURM, ended it; the run record is the authority.
"""

from __future__ import annotations

import datetime as dt
import enum
import logging
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

from lute.config.loader import load_documents, load_task_parameters
from lute.config.models.base import AnalysisHeader
from lute.core.exceptions import ConfigurationError, SubmissionError
from lute.managed_tasks import get_managed_task
from lute.tasks import registry

logger = logging.getLogger(__name__)

SLURM_DIR = "slurm"
"""Sub-directory of the work dir holding batch scripts and job logs."""
COMMAND_TIMEOUT_S = 60.0
SQUEUE_FORMAT = "%i|%T|%r|%S|%e"
SACCT_FIELDS = "JobID,State,Reason,Start,End"
_TRANSIENT = re.compile(
    r"unable to contact slurm controller|socket timed out|try again|"
    r"resource temporarily unavailable|connection refused",
    re.IGNORECASE,
)
_SUBMITTED = re.compile(r"^(?:Submitted batch job )?(\d+)(?:;\S+)?$")


class JobState(enum.Enum):
    """A SLURM job state, as ``squeue %T`` and ``sacct State`` spell it."""

    PENDING = "PENDING"
    CONFIGURING = "CONFIGURING"
    RUNNING = "RUNNING"
    SUSPENDED = "SUSPENDED"
    COMPLETING = "COMPLETING"
    REQUEUED = "REQUEUED"
    RESIZING = "RESIZING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"
    TIMEOUT = "TIMEOUT"
    NODE_FAIL = "NODE_FAIL"
    PREEMPTED = "PREEMPTED"
    OUT_OF_MEMORY = "OUT_OF_MEMORY"
    BOOT_FAIL = "BOOT_FAIL"
    DEADLINE = "DEADLINE"
    UNKNOWN = "UNKNOWN"

    @classmethod
    def parse(cls, text: str) -> JobState:
        """The state named by ``text`` (``"CANCELLED by 0"`` is CANCELLED)."""
        word = text.split(maxsplit=1)[0].rstrip("+") if text.strip() else ""
        try:
            return cls(word)
        except ValueError:
            return cls.UNKNOWN

    @property
    def final(self) -> bool:
        """Whether the job has ended (UNKNOWN is not known to have ended)."""
        return self not in _ACTIVE_STATES and self is not JobState.UNKNOWN


_ACTIVE_STATES = frozenset(
    {
        JobState.PENDING,
        JobState.CONFIGURING,
        JobState.RUNNING,
        JobState.SUSPENDED,
        JobState.COMPLETING,
        JobState.REQUEUED,
        JobState.RESIZING,
    }
)


@dataclass(frozen=True)
class JobInfo:
    """What the scheduler says about one job.

    Attributes:
        job_id: The job id.
        state: Its state.
        reason: Why it is pending or how it ended (``None`` when SLURM has none).
        start: Start time as SLURM prints it, ``None`` if not started.
        end: End time, ``None`` if not ended.
    """

    job_id: str
    state: JobState
    reason: str | None = None
    start: str | None = None
    end: str | None = None


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

    @property
    def name(self) -> str:
        """The job's name: ``job_name``, else the managed task."""
        return self.job_name or self.managed_task


@dataclass(frozen=True)
class SubmittedJob:
    """A job SLURM accepted.

    Attributes:
        job_id: Its id.
        script: The batch script, kept for reference and resubmission.
        log: The job's log file (stdout and stderr).
    """

    job_id: str
    script: Path
    log: Path


def batch_job(
    managed_task: str,
    config: str,
    *,
    job_name: str = "",
    debug: bool = False,
    sbatch_args: Sequence[str] = (),
    check_parameters: bool = True,
) -> BatchJob:
    """A ``BatchJob`` for ``managed_task``, checked before anything is submitted.

    The configuration's header gives the work dir, experiment and run that
    name the job's files.

    Args:
        managed_task: The managed task to run.
        config: Its YAML configuration.
        job_name: Name of the job and its files (default: the managed task).
        debug: Run with debug logging.
        sbatch_args: Further sbatch options.
        check_parameters: Also validate the Task's parameters now, so a bad
            one fails here rather than in the queue. Workflows turn this off
            for nodes whose parameters may come from a parent's results.

    Raises:
        ConfigurationError: Unknown managed task, or an invalid configuration.
    """
    task_name = get_managed_task(managed_task).task_name
    if check_parameters:
        model = registry.parameter_model(task_name)
        header = load_task_parameters(config, task_name, model).lute_config
    else:
        header = load_header(config)
    return BatchJob(
        managed_task=managed_task,
        config=str(Path(config).resolve()),
        work_dir=header.work_dir,
        job_name=job_name,
        experiment=header.experiment,
        run=str(header.run),
        debug=debug,
        sbatch_args=tuple(sbatch_args),
    )


def load_header(config: str) -> AnalysisHeader:
    """The validated header of ``config``.

    Raises:
        ConfigurationError: The file or its header is invalid.
    """
    header, _ = load_documents(config)
    try:
        return AnalysisHeader.model_validate(header)
    except ValidationError as err:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in err.errors())
        raise ConfigurationError(f"{config}: header: {problems}") from err


def file_stem(job: BatchJob, when: dt.datetime) -> str:
    """``<name>_<experiment>_r<run>_<time>``: what a job's files are called."""
    parts = [job.name, job.experiment or "noexp", f"r{job.run or 'none'}"]
    parts.append(when.strftime("%Y%m%dT%H%M%S"))
    return "_".join(re.sub(r"[^\w.-]", "-", part) for part in parts)


def log_pattern(job: BatchJob, stem: str) -> Path:
    """The ``--output`` file; SLURM replaces ``%j`` by the job id."""
    return Path(job.work_dir) / SLURM_DIR / f"{stem}_%j.log"


def build_batch_script(job: BatchJob, stem: str) -> str:
    """The batch script that runs ``job``.

    Options given on the ``sbatch`` command line (``sbatch_command``) take
    precedence over the ``#SBATCH`` lines written here.
    """
    lines = [
        "#!/bin/bash",
        f"#SBATCH --job-name={job.name}",
        f"#SBATCH --output={log_pattern(job, stem)}",
        "#SBATCH --export=ALL",
        f"# Written by lute for managed task {job.managed_task}.",
    ]
    options = sbatch_options(job)
    if options:
        lines.append(f"# Submitted with these sbatch options too: {shlex.join(options)}")
    if job.experiment:
        lines.append(f"export EXPERIMENT={shlex.quote(job.experiment)}")
    if job.run:
        lines.append(f"export RUN_NUM={shlex.quote(job.run)}")
    command = [job.python, "-m", "lute"]
    if job.debug:
        command.append("--debug")
    command += ["run", "-t", job.managed_task, "-c", job.config]
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


def parse_sbatch_output(stdout: str) -> str:
    """The job id in ``sbatch`` output (``--parsable`` or not).

    Raises:
        SubmissionError: The output holds no job id.
    """
    for line in reversed(stdout.strip().splitlines()):
        match = _SUBMITTED.match(line.strip())
        if match:
            return match.group(1)
    raise SubmissionError(f"sbatch printed no job id: {stdout.strip()!r}")


def squeue_command(job_ids: Sequence[str]) -> list[str]:
    """Ask ``squeue`` about ``job_ids``, finished ones included."""
    return [
        "squeue",
        "--noheader",
        "--states=all",
        f"--jobs={','.join(job_ids)}",
        f"--format={SQUEUE_FORMAT}",
    ]


def parse_squeue_output(stdout: str) -> list[JobInfo]:
    """Jobs in the output of ``squeue_command``."""
    return [_job_info(line) for line in stdout.splitlines() if line.strip()]


def sacct_command(job_ids: Sequence[str]) -> list[str]:
    """Ask accounting about ``job_ids`` (for jobs ``squeue`` forgot)."""
    return [
        "sacct",
        "--noheader",
        "--parsable2",
        f"--jobs={','.join(job_ids)}",
        f"--format={SACCT_FIELDS}",
    ]


def parse_sacct_output(stdout: str) -> list[JobInfo]:
    """Jobs in the output of ``sacct_command``; steps (``12.batch``) are skipped."""
    jobs = []
    for line in stdout.splitlines():
        if line.strip() and "." not in line.split("|", 1)[0]:
            jobs.append(_job_info(line))
    return jobs


def _job_info(line: str) -> JobInfo:
    fields = [*line.strip().split("|"), "", "", "", ""][:5]
    job_id, state, reason, start, end = fields

    def known(value: str) -> str | None:
        return None if value in ("", "None", "N/A", "NONE", "Unknown") else value

    return JobInfo(job_id, JobState.parse(state), known(reason), known(start), known(end))


def require_program(name: str) -> str:
    """The path of SLURM program ``name``.

    Raises:
        SubmissionError: It is not installed (not transient).
    """
    found = shutil.which(name)
    if found is None:
        raise SubmissionError(
            f"SLURM is not available here: '{name}' was not found on PATH."
            " Submit from a SLURM login node, or run the task here with `lute run`."
        )
    return found


def _call(command: list[str]) -> subprocess.CompletedProcess[str]:
    """Run a SLURM client program; its failure becomes a ``SubmissionError``."""
    program = require_program(command[0])
    logger.debug("running %s", shlex.join(command))
    try:
        done = subprocess.run(
            [program, *command[1:]],
            capture_output=True,
            text=True,
            timeout=COMMAND_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired as err:
        raise SubmissionError(
            f"{command[0]} did not answer within {COMMAND_TIMEOUT_S:.0f}s", transient=True
        ) from err
    if done.returncode != 0:
        message = done.stderr.strip() or done.stdout.strip() or f"exit code {done.returncode}"
        raise SubmissionError(
            f"{command[0]} failed: {message}", transient=bool(_TRANSIENT.search(message))
        )
    return done


def submit(job: BatchJob) -> SubmittedJob:
    """Write ``job``'s batch script and submit it with ``sbatch``.

    Raises:
        SubmissionError: SLURM is not installed, or refused the job.
    """
    require_program("sbatch")
    directory = Path(job.work_dir) / SLURM_DIR
    directory.mkdir(parents=True, exist_ok=True)
    stem = file_stem(job, dt.datetime.now())
    script = _write_new(directory, stem, build_batch_script(job, stem))
    stem = script.stem
    job_id = parse_sbatch_output(_call(sbatch_command(job, script)).stdout)
    log = Path(str(log_pattern(job, stem)).replace("%j", job_id))
    logger.info("submitted %s as job %s; script %s, log %s", job.name, job_id, script, log)
    return SubmittedJob(job_id, script, log)


def _write_new(directory: Path, stem: str, text: str) -> Path:
    """Write ``text`` atomically to a new ``<stem>[-N].sh``; never overwrite."""
    with tempfile.NamedTemporaryFile("w", dir=directory, suffix=".tmp", delete=False) as tmp:
        tmp.write(text)
    os.chmod(tmp.name, 0o755)
    for attempt in range(1000):
        target = directory / (f"{stem}.sh" if attempt == 0 else f"{stem}-{attempt}.sh")
        try:
            os.link(tmp.name, target)
        except FileExistsError:
            continue
        os.unlink(tmp.name)
        return target
    os.unlink(tmp.name)
    raise SubmissionError(f"no free name for a batch script {stem}.sh in {directory}")


def job_status(job_ids: Sequence[str]) -> list[JobInfo]:
    """What SLURM knows about ``job_ids``, in the order given.

    ``squeue`` keeps finished jobs for ``MinJobAge`` seconds; older ones are
    asked of ``sacct``. A job neither knows is reported UNKNOWN.

    Raises:
        ConfigurationError: A job id that is not a number.
        SubmissionError: SLURM is not installed or does not answer.
    """
    for job_id in job_ids:
        if not re.fullmatch(r"\d+(_\d+)?", job_id):
            raise ConfigurationError(f"'{job_id}' is not a SLURM job id")
    found: dict[str, JobInfo] = {}
    try:
        found.update(
            (j.job_id, j) for j in parse_squeue_output(_call(squeue_command(job_ids)).stdout)
        )
    except SubmissionError as err:
        if "invalid job id" not in str(err).lower():
            raise
    missing = [job_id for job_id in job_ids if job_id not in found]
    if missing:
        try:
            done = _call(sacct_command(missing))
        except SubmissionError as err:
            logger.debug("sacct cannot help: %s", err)
        else:
            found.update((j.job_id, j) for j in parse_sacct_output(done.stdout))
    return [found.get(job_id, JobInfo(job_id, JobState.UNKNOWN)) for job_id in job_ids]


def cancel_job(job_id: str) -> JobInfo:
    """Cancel a job so that its run is recorded as CANCELLED.

    A running job's Executor gets SIGTERM (``scancel --batch --signal=TERM``)
    and ends its Task and records the run itself; a job that has not started
    is removed from the queue (``scancel``). A job that already ended is left
    alone.

    Returns:
        The job's state before it was cancelled.

    Raises:
        ConfigurationError: Not a job id.
        SubmissionError: SLURM is not installed or refused.
    """
    (info,) = job_status([job_id])
    if info.state.final:
        logger.info("job %s already ended: %s", job_id, info.state.value)
        return info
    if info.state in (JobState.RUNNING, JobState.COMPLETING):
        _call(["scancel", "--batch", "--signal=TERM", job_id])
        logger.info("asked job %s to stop; its Executor records the run as CANCELLED", job_id)
    else:
        _call(["scancel", job_id])
        logger.info("removed job %s (%s) from the queue", job_id, info.state.value)
    return info
