"""Keeping secrets out of everything lute writes, and lute's keys out of other programs.

lute writes run records (database and spool files), log lines (console,
SLURM job logs), batch scripts and eLog posts. None may hold a credential:
a record is kept for years and read by colleagues. What counts as a secret
is decided here, once:

* a *secret-looking name*: one whose words include password, token, secret,
  key, credential or auth (``AWS_SECRET_ACCESS_KEY``, ``api_token``,
  ``LUTE_IPC_KEY``); its string value is replaced by ``***``;
* a *secret-looking value*: the password of a URL's user information
  (``postgresql://me:***@db``), a query parameter with a secret-looking name
  (``?token=***``) and a bearer token (``Bearer ***``).

Only an allowlist of the environment is recorded with a run (``LUTE_*``,
``SLURM_*`` and ``RECORDED_NAMES``), after redaction. The run's IPC key and
socket (``PRIVATE_TO_LUTE``) are never recorded and never handed to a
program that is not a lute Task. The user's own variables do reach the
user's programs: they are theirs, and a program reading data from an object
store needs its credentials.
"""

from __future__ import annotations

import logging
import re
import urllib.parse
from collections.abc import Iterable, Mapping
from typing import Any

REDACTED = "***"
SECRET_WORDS = frozenset(
    {
        "password",
        "passwd",
        "passphrase",
        "token",
        "secret",
        "key",
        "apikey",
        "credential",
        "credentials",
        "auth",
        "authorization",
        "cookie",
        "bearer",
    }
)
SECRET_VARIABLES: tuple[str, ...] = ("LUTE_ELOG_PASSWORD", "Authorization")
"""eLog credentials the Task process never sees (the Executor posts, not the Task):
lute's password and the job system's bearer token (``lute.elog.settings``)."""
URL_VARIABLES: tuple[str, ...] = ("LUTE_ELOG_URL", "JID_UPDATE_COUNTERS")
"""eLog variables holding URLs that may carry ``user:password@``; kept, with that part cut."""
PRIVATE_TO_LUTE: tuple[str, ...] = ("LUTE_IPC_KEY", "LUTE_SOCKET")
"""The run's channel: only the Executor and its lute Task processes may hold these."""
RECORDED_PREFIXES: tuple[str, ...] = ("LUTE_", "SLURM_")
RECORDED_NAMES = frozenset(
    {
        "EXPERIMENT",
        "RUN_NUM",
        "HOSTNAME",
        "USER",
        "PATH",
        "PYTHONPATH",
        "VIRTUAL_ENV",
        "CONDA_PREFIX",
        "LD_LIBRARY_PATH",
        "OMP_NUM_THREADS",
    }
)
"""Variables recorded with a run besides ``LUTE_*`` and ``SLURM_*``: what shapes the analysis."""

_WORD = re.compile(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])")
_URL_PASSWORD = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.\-]*://[^/\s:@]*):(?P<secret>[^/\s@]+)@")
_QUERY_VALUE = re.compile(r"(?P<head>[?&;](?P<name>[^=&;#\s]+)=)(?P<secret>[^&;#\s]+)")
_BEARER = re.compile(r"(?P<head>\b[Bb]earer\s+)(?P<secret>[A-Za-z0-9._~+/=\-]+)")
_MIN_SECRET_LENGTH = 6
"""Shorter values of secret-named variables are not scrubbed from text: too many false hits."""


def is_secret_name(name: str) -> bool:
    """Whether ``name`` (a variable, parameter or query key) looks like it holds a secret."""
    words = {word.lower() for word in _WORD.findall(name)}
    return not words.isdisjoint(SECRET_WORDS)


def redact_text(text: str) -> str:
    """``text`` with URL passwords, secret query values and bearer tokens replaced."""
    if "@" in text:
        text = _URL_PASSWORD.sub(lambda m: f"{m['head']}:{REDACTED}@", text)
    if "=" in text:
        text = _QUERY_VALUE.sub(
            lambda m: m["head"] + (REDACTED if is_secret_name(m["name"]) else m["secret"]), text
        )
    if "earer" in text:
        text = _BEARER.sub(lambda m: m["head"] + REDACTED, text)
    return text


def redact_value(name: str, value: Any) -> Any:
    """``value`` as it may be written under ``name``: strings redacted, others as they are."""
    if not isinstance(value, str) or not value:
        return value
    if is_secret_name(name):
        return REDACTED
    return redact_text(value)


def recordable_environment(env: Mapping[str, str]) -> dict[str, str]:
    """The part of ``env`` recorded with a run: the allowlist, redacted."""
    return {
        name: redact_value(name, value)
        for name, value in sorted(env.items())
        if name not in PRIVATE_TO_LUTE
        and (name.startswith(RECORDED_PREFIXES) or name in RECORDED_NAMES)
    }


def program_environment(env: Mapping[str, str]) -> dict[str, str]:
    """``env`` for a program that is not a lute Task: lute's own secrets removed.

    The run's channel and lute's secret-named settings go; lute's URLs lose
    their passwords. The user's other variables stay.
    """
    return {
        name: redact_text(value) if name.startswith("LUTE_") else value
        for name, value in env.items()
        if name not in PRIVATE_TO_LUTE and not (name.startswith("LUTE_") and is_secret_name(name))
    }


def without_secrets(env: Mapping[str, str]) -> dict[str, str]:
    """``env`` minus the eLog credentials, with user information cut from the eLog URLs.

    The Executor posts to the logbook, never the Task, so the Task process
    need not carry the logbook's credentials.
    """
    clean = {name: value for name, value in env.items() if name not in SECRET_VARIABLES}
    for name in URL_VARIABLES:
        if clean.get(name):
            clean[name] = redact_url(clean[name])
    return clean


def redact_url(url: str) -> str:
    """``url`` with any ``user:password@`` replaced by ``***@``."""
    parts = urllib.parse.urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urllib.parse.urlunsplit(parts._replace(netloc=f"{REDACTED}@{host}"))


def scrub(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every secret replaced by ``***``."""
    for secret in secrets:
        if secret and secret in text:
            text = text.replace(secret, REDACTED)
    return text


def secret_values(env: Mapping[str, str]) -> list[str]:
    """Values of ``env``'s secret-named variables, long enough to scrub from text safely."""
    return sorted(
        {value for name, value in env.items() if is_secret_name(name)} - {""},
        key=len,
        reverse=True,
    )


class RedactingFilter(logging.Filter):
    """A handler filter that redacts every log line before it is written.

    Installed on lute's log handlers (console, batch job logs), so that no
    code path, however it formats a URL or an error, can print a secret.

    Args:
        env: Whose secret-named variables' values to scrub from log text.
    """

    def __init__(self, env: Mapping[str, str]) -> None:
        super().__init__()
        self._values = [v for v in secret_values(env) if len(v) >= _MIN_SECRET_LENGTH]

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record's message if it holds a secret; never drop it."""
        message = record.getMessage()
        clean = scrub(redact_text(message), self._values)
        if clean != message:
            record.msg, record.args = clean, None
        return True


def install_log_redaction(env: Mapping[str, str]) -> None:
    """Put a ``RedactingFilter`` on every handler of the root logger."""
    redacting = RedactingFilter(env)
    for handler in logging.getLogger().handlers:
        handler.addFilter(redacting)
