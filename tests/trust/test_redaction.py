"""What counts as a secret: names, values in text, and what a log line keeps."""

from __future__ import annotations

import logging

import pytest

from lute.core.redaction import (
    RedactingFilter,
    is_secret_name,
    program_environment,
    recordable_environment,
    redact_text,
)


@pytest.mark.parametrize(
    "name",
    ["AWS_SECRET_ACCESS_KEY", "LUTE_IPC_KEY", "apiKey", "db.password", "GITHUB_TOKEN", "auth"],
)
def test_secret_looking_names(name):
    assert is_secret_name(name)


@pytest.mark.parametrize("name", ["PWD", "OLDPWD", "keyword", "monkey", "LUTE_DB_URL", "num_keys"])
def test_ordinary_names(name):
    assert not is_secret_name(name)


def test_values_in_text_are_redacted_and_the_rest_kept():
    text = "postgresql://me:hunter22@db:5432/x https://h/p?run=3&token=abc123 Bearer eyJhbGc.x"
    assert (
        redact_text(text) == "postgresql://me:***@db:5432/x https://h/p?run=3&token=*** Bearer ***"
    )


def test_a_log_line_loses_secret_values_but_keeps_paths():
    env = {"PWD": "/data/experiment/raw", "LUTE_API_TOKEN": "0123456789abcdef"}
    record = logging.LogRecord(
        "x",
        logging.INFO,
        __file__,
        1,
        "%s in %s",
        ("0123456789abcdef", "/data/experiment/raw/run1.h5"),
        None,
    )
    RedactingFilter(env).filter(record)
    assert record.getMessage() == "*** in /data/experiment/raw/run1.h5"


def test_recorded_environment_is_an_allowlist():
    env = {
        "LUTE_X": "1",
        "SLURM_JOB_ID": "7",
        "HOME": "/root",
        "AWS_SECRET_ACCESS_KEY": "s",
        "LUTE_IPC_KEY": "k",
    }
    assert recordable_environment(env) == {"LUTE_X": "1", "SLURM_JOB_ID": "7"}


def test_a_program_gets_the_users_variables_but_not_lutes_channel():
    env = {
        "LUTE_SOCKET": "/s",
        "LUTE_IPC_KEY": "k",
        "LUTE_API_TOKEN": "t",
        "AWS_SECRET_ACCESS_KEY": "s",
        "LUTE_DB_URL": "postgresql://me:pw@db/x",
    }
    assert program_environment(env) == {
        "AWS_SECRET_ACCESS_KEY": "s",
        "LUTE_DB_URL": "postgresql://me:***@db/x",
    }
