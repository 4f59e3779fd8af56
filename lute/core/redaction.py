"""Keeping credentials out of logs, error messages and recorded environments.

Several layers handle secrets they must never print: the eLog client scrubs
its error text, and the Executor records the Task's environment with each
run. They share these helpers so that "what counts as a secret" is decided
once. The variable names below belong to the eLog (``lute.elog.settings``);
they are listed here, at the bottom layer, because the Executor must strip
them without depending on the eLog package.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Iterable, Mapping

SECRET_VARIABLES: tuple[str, ...] = ("LUTE_ELOG_PASSWORD",)
"""Variables that hold secrets; the Task process and the run record never see them."""
URL_VARIABLES: tuple[str, ...] = ("LUTE_ELOG_URL", "JID_UPDATE_COUNTERS")
"""Variables holding URLs that may carry ``user:password@``; kept, with that part cut."""
REDACTED = "***"


def without_secrets(env: Mapping[str, str]) -> dict[str, str]:
    """``env`` minus the eLog password, with user information cut from the eLog URLs.

    The Executor posts to the logbook, never the Task, so the Task process
    (and the environment recorded with the run) need not carry secrets.
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
        text = text.replace(secret, REDACTED)
    return text
