"""Pure SLURM functions against recorded scheduler output and a golden script."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from lute.batch.parse import (
    JobInfo,
    JobState,
    parse_sacct_output,
    parse_sbatch_output,
    parse_squeue_output,
)
from lute.batch.script import BatchJob, build_batch_script, file_stem, log_pattern, sbatch_command
from lute.cli.jobs import format_jobs
from lute.core.exceptions import SubmissionError

DATA = Path(__file__).parent / "data" / "slurm"

# Recorded on a slurm-wlm 22.05 cluster started by .ci/setup-slurm.sh with
# squeue --noheader --states=all --format='%i|%T|%r|%S|%e'
SQUEUE = """\
7|CANCELLED|DependencyNeverSatisfied|2026-11-21T09:18:37|2026-11-21T09:18:37
1|COMPLETED|None|2026-11-21T09:15:24|2026-11-21T09:15:25
4|FAILED|NonZeroExitCode|2026-11-21T09:18:35|2026-11-21T09:18:35
3|PENDING|Dependency|N/A|N/A
6|PENDING|DependencyNeverSatisfied|N/A|N/A
2|RUNNING|None|2026-11-21T09:18:35|NONE
"""

# sacct --noheader --parsable2 --format=JobID,State,Reason,Start,End (with accounting)
SACCT = """\
41|CANCELLED by 0|None|2026-11-20T14:02:11|2026-11-20T14:02:40
41.batch|CANCELLED|None|2026-11-20T14:02:11|2026-11-20T14:02:41
42|COMPLETED|None|2026-11-20T14:03:00|2026-11-20T14:03:09
42.batch|COMPLETED|None|2026-11-20T14:03:00|2026-11-20T14:03:09
42.extern|COMPLETED|None|2026-11-20T14:03:00|2026-11-20T14:03:09
"""


def golden_job() -> BatchJob:
    return BatchJob(
        managed_task="Tester",
        config="/sdf/cfg/test.yaml",
        work_dir="/sdf/work",
        job_name="B",
        experiment="xpp12345",
        run="7",
        debug=True,
        sbatch_args=("--partition=milano", "--time=00:10:00"),
        after_ok=("11", "12"),
        python="/opt/lute/bin/python",
    )


def test_batch_script_matches_golden_file():
    job = golden_job()
    stem = file_stem(job, dt.datetime(2026, 11, 21, 9, 30, 5))
    assert stem == "B_xpp12345_r7_20261121T093005"
    assert build_batch_script(job, stem) == (DATA / "golden_batch.sh").read_text()


def test_log_file_is_named_from_task_experiment_run_time_and_job_id():
    job = BatchJob("Tester", "/c.yaml", "/w", experiment="", run="")
    stem = file_stem(job, dt.datetime(2026, 1, 2, 3, 4, 5))
    assert str(log_pattern(job, stem)) == "/w/slurm/Tester_noexp_rnone_20260102T030405_%j.log"


def test_sbatch_command_puts_dependencies_before_user_options():
    job = golden_job()
    assert sbatch_command(job, Path("/s.sh")) == [
        "sbatch",
        "--parsable",
        "--dependency=afterok:11:12",
        "--kill-on-invalid-dep=yes",
        "--partition=milano",
        "--time=00:10:00",
        "/s.sh",
    ]
    plain = BatchJob("Tester", "/c.yaml", "/w")
    assert sbatch_command(plain, Path("/s.sh")) == ["sbatch", "--parsable", "/s.sh"]


@pytest.mark.parametrize(
    ("stdout", "job_id"),
    [
        ("12345\n", "12345"),
        ("12345;cluster2\n", "12345"),
        ("Submitted batch job 678\n", "678"),
        ("sbatch: warning: some notice\n91\n", "91"),
    ],
)
def test_parse_sbatch_output(stdout, job_id):
    assert parse_sbatch_output(stdout) == job_id


def test_parse_sbatch_output_without_id_is_an_error():
    with pytest.raises(SubmissionError, match="no job id"):
        parse_sbatch_output("sbatch: error: Batch job submission failed\n")


def test_parse_squeue_output():
    jobs = {job.job_id: job for job in parse_squeue_output(SQUEUE)}
    assert jobs["7"] == JobInfo(
        "7",
        JobState.CANCELLED,
        "DependencyNeverSatisfied",
        "2026-11-21T09:18:37",
        "2026-11-21T09:18:37",
    )
    assert jobs["3"] == JobInfo("3", JobState.PENDING, "Dependency", None, None)
    assert jobs["2"].state is JobState.RUNNING
    assert jobs["2"].end is None
    assert jobs["1"].reason is None
    assert parse_squeue_output("") == []


def test_parse_sacct_output_skips_steps_and_reads_cancelled_by():
    jobs = parse_sacct_output(SACCT)
    assert [(j.job_id, j.state) for j in jobs] == [
        ("41", JobState.CANCELLED),
        ("42", JobState.COMPLETED),
    ]


def test_job_state_knows_which_states_are_final():
    assert JobState.parse("RUNNING").final is False
    assert JobState.parse("PENDING").final is False
    assert JobState.parse("COMPLETING").final is False
    assert JobState.parse("CANCELLED by 0").final is True
    assert JobState.parse("TIMEOUT").final is True
    assert JobState.parse("SOMETHING_NEW") is JobState.UNKNOWN
    assert JobState.UNKNOWN.final is False


def test_format_jobs_aligns_columns():
    table = format_jobs(parse_squeue_output(SQUEUE)[:2])
    assert table.splitlines() == [
        "JOBID  STATE      REASON                    START                END",
        "7      CANCELLED  DependencyNeverSatisfied  2026-11-21T09:18:37  2026-11-21T09:18:37",
        "1      COMPLETED  -                         2026-11-21T09:15:24  2026-11-21T09:15:25",
    ]
