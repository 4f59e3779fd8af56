"""SLURM batch jobs: submit them, ask about them, cancel them.

The functions here run the SLURM client programs; what they run and how
their output is read are pure functions in ``lute.batch.script`` and
``lute.batch.parse``, tested against recorded output. A failure of a
program becomes a ``SubmissionError`` whose message says so when SLURM
answered that it is busy and the same call may succeed later.

A batch job's Executor is the batch step's own process (the script
``exec``s it): ``cancel_job`` signals it alone (``scancel --batch
--signal=TERM``), the Executor stops its Task and records the run as
CANCELLED. SLURM then reports the job FAILED (exit code 1), since lute, not
SLURM, ended it; the run record is the authority.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
import shlex
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from lute.batch.parse import (
    JobInfo,
    JobState,
    QueuedJob,
    parse_queue_output,
    parse_sacct_output,
    parse_sbatch_output,
    parse_squeue_output,
    queue_command,
    sacct_command,
    squeue_command,
)
from lute.batch.script import (
    SLURM_DIR,
    BatchJob,
    build_batch_script,
    file_stem,
    log_pattern,
    sbatch_command,
)
from lute.core.exceptions import ConfigurationError, SubmissionError

logger = logging.getLogger(__name__)

COMMAND_TIMEOUT_S = 60.0
_TRANSIENT = re.compile(
    r"unable to contact slurm controller|socket timed out|try again|"
    r"resource temporarily unavailable|connection refused",
    re.IGNORECASE,
)
_TRY_AGAIN = " (SLURM is busy or unreachable; the same command may succeed later)"


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


def require_program(name: str) -> str:
    """The path of SLURM program ``name``.

    Raises:
        SubmissionError: It is not installed.
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
            f"{command[0]} did not answer within {COMMAND_TIMEOUT_S:.0f}s{_TRY_AGAIN}"
        ) from err
    if done.returncode != 0:
        message = done.stderr.strip() or done.stdout.strip() or f"exit code {done.returncode}"
        hint = _TRY_AGAIN if _TRANSIENT.search(message) else ""
        raise SubmissionError(f"{command[0]} failed: {message}{hint}")
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
    log = Path(str(log_pattern(job, stem)).replace("%j", job_id).replace("%A", job_id))
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


POLL_FIRST_S = 1.0
POLL_MAX_S = 30.0
"""``wait_for_jobs`` asks again after 1 s, then ever less often, at most every 30 s."""


def wait_for_jobs(
    job_ids: Sequence[str],
    on_change: Callable[[JobInfo], None] | None = None,
    stop: threading.Event | None = None,
) -> list[JobInfo]:
    """Wait until every job in ``job_ids`` has ended, and say how each ended.

    SLURM tells no one when a job ends, so its state is asked for again
    after a pause that doubles, from ``POLL_FIRST_S`` up to ``POLL_MAX_S``,
    and drops back to the first whenever a state changed: a short job is
    seen ending quickly, a queued one costs the controller little. A job
    SLURM no longer knows (UNKNOWN: gone from the queue, no accounting) is
    not waited for: nothing will ever say more about it.

    Args:
        job_ids: The jobs.
        on_change: Called with a job's info each time its state changes
            (and once for its first state).
        stop: Set it to return early, with the states as they then are.

    Raises:
        ConfigurationError: A job id that is not a number.
        SubmissionError: SLURM is not installed or does not answer.
    """
    stop = stop or threading.Event()
    seen: dict[str, JobState] = {}
    pause = POLL_FIRST_S
    while True:
        jobs = job_status(job_ids)
        changed = [job for job in jobs if seen.get(job.job_id) is not job.state]
        for job in changed:
            seen[job.job_id] = job.state
            if on_change is not None:
                on_change(job)
        if all(job.state.final or job.state is JobState.UNKNOWN for job in jobs):
            return jobs
        pause = POLL_FIRST_S if changed else min(pause * 2, POLL_MAX_S)
        if stop.wait(pause):
            return jobs


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


def queued_jobs(user: str) -> list[QueuedJob]:
    """``user``'s jobs that are pending or running, as ``squeue`` lists them.

    Raises:
        SubmissionError: SLURM is not installed or does not answer.
    """
    return parse_queue_output(_call(queue_command(user)).stdout)
