"""Compatibility path kept for code written against LUTE or earlier lute.

Everything here now lives in ``lute.batch``; import it from there in new code.
"""

from lute.batch import (
    BatchJob,
    JobInfo,
    JobState,
    SubmittedJob,
    batch_job,
    cancel_job,
    job_status,
    submit,
)

__all__ = [
    "BatchJob",
    "JobInfo",
    "JobState",
    "SubmittedJob",
    "batch_job",
    "cancel_job",
    "job_status",
    "submit",
]
