"""Where the eLog is and how to reach it, read from the environment only.

Nothing is hard-coded (see ``ElogSettings``), so the same code talks to the
facility's logbook, a test server, or nothing:

* ``LUTE_ELOG_URL``: base URL of the logbook API, e.g.
  ``https://pswww.slac.stanford.edu/ws-auth/lgbk``.
* ``JID_UPDATE_COUNTERS``: per-job URL of the run's status counters, set by
  the facility's job system (ARP) for each job; with it the job system sets
  ``ARP_ROOT_JOB_ID`` (the job the counters belong to) and ``Authorization``
  (``Bearer <token>``, sent when the counters are read), as LUTE reads them.
* ``LUTE_ELOG_EXPERIMENT``: experiment when the config header names none
  (falls back to ``EXPERIMENT``).
* ``LUTE_ELOG_AUTH``: ``basic``, ``kerberos`` or ``none``; default ``basic``
  when credentials are given, else ``none``.
* ``LUTE_ELOG_USER`` and ``LUTE_ELOG_PASSWORD``: basic-auth credentials; or
  ``LUTE_ELOG_CREDENTIALS``: a file holding ``user:password`` on its first
  line, readable by its owner only (mode 0600 or 0400).
* ``LUTE_ELOG_TIMEOUT``: ``CONNECT,READ`` seconds per call (default 3.05,10).
* ``LUTE_ELOG_RETRIES`` (default 3) and ``LUTE_ELOG_BACKOFF`` (default 0.3 s):
  retries after a refused connection or a 429/5xx answer, with exponential
  backoff.
* ``LUTE_ELOG_FLUSH_TIMEOUT``: seconds the Executor waits at exit for posts
  still queued (default 5).

The calls themselves are in ``lute.elog.client``. The Executor keeps
``ENV_PASSWORD`` out of the Task's environment and cuts user information from
``ENV_URL`` and ``ENV_STATUS_URL``; ``lute.core.redaction`` repeats those
three names (the Executor's layer may not import this package), so change
them together.
"""

from __future__ import annotations

import base64
import importlib
import os
import stat
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from lute.core.exceptions import ConfigurationError
from lute.core.settings import env_number

if TYPE_CHECKING:
    import requests
    from requests.auth import AuthBase

ENV_URL = "LUTE_ELOG_URL"
ENV_STATUS_URL = "JID_UPDATE_COUNTERS"
ENV_EXPERIMENT = "LUTE_ELOG_EXPERIMENT"
ENV_AUTH = "LUTE_ELOG_AUTH"
ENV_USER = "LUTE_ELOG_USER"
ENV_PASSWORD = "LUTE_ELOG_PASSWORD"
ENV_CREDENTIALS = "LUTE_ELOG_CREDENTIALS"
ENV_TIMEOUT = "LUTE_ELOG_TIMEOUT"
ENV_RETRIES = "LUTE_ELOG_RETRIES"
ENV_BACKOFF = "LUTE_ELOG_BACKOFF"
ENV_FLUSH_TIMEOUT = "LUTE_ELOG_FLUSH_TIMEOUT"
ENV_JOB_ID = "ARP_ROOT_JOB_ID"
ENV_TOKEN = "Authorization"
ENV_RUN = "RUN_NUM"

AUTH_MODES = ("basic", "kerberos", "none")
DEFAULT_TIMEOUT: tuple[float, float] = (3.05, 10.0)
DEFAULT_RETRIES = 3
DEFAULT_BACKOFF = 0.3
DEFAULT_FLUSH_TIMEOUT = 5.0
RETRY_STATUSES = (429, 500, 502, 503, 504)
"""Answers that mean "not now": retried, like a refused connection."""


@dataclass(frozen=True)
class ElogSettings:
    """Where the logbook is and how to talk to it; see ``from_environment``.

    The password is excluded from ``repr`` so settings can be logged.

    Attributes:
        url: Base URL of the logbook API (no trailing slash), or ``None``.
        status_url: The job's status-counter URL, or ``None``.
        experiment: Default experiment for calls that need one.
        auth: One of ``AUTH_MODES``.
        username: Basic-auth user.
        password: Basic-auth password.
        timeout: ``(connect, read)`` seconds, applied to every call.
        retries: Retries of a refused connection or a 429/5xx answer.
        backoff: Backoff factor between retries, in seconds.
        flush_timeout: Seconds a caller posting in the background waits at
            exit for posts still queued.
        job_id: The job system's root job (``ARP_ROOT_JOB_ID``), whose
            counters are read.
        token: The ``Authorization`` header for reading counters
            (``Bearer ...``); never shown.
        run: The run as the job system gave it (``RUN_NUM``).
        user: Who reads the counters.
    """

    url: str | None = None
    status_url: str | None = None
    experiment: str = ""
    auth: str = "none"
    username: str = ""
    password: str = field(default="", repr=False)
    timeout: tuple[float, float] = DEFAULT_TIMEOUT
    retries: int = DEFAULT_RETRIES
    backoff: float = DEFAULT_BACKOFF
    flush_timeout: float = DEFAULT_FLUSH_TIMEOUT
    job_id: str | None = None
    token: str = field(default="", repr=False)
    run: str | None = None
    user: str = ""

    @property
    def configured(self) -> bool:
        """Whether there is anywhere to post to."""
        return bool(self.url or self.status_url)

    def secrets(self) -> list[str]:
        """Strings that must never appear in output: the password and its header forms."""
        found = [s for s in (self.password, self.token) if s]
        if self.token.partition(" ")[2]:
            found.append(self.token.partition(" ")[2])
        if self.password:
            token = base64.b64encode(f"{self.username}:{self.password}".encode()).decode()
            found.append(token)
        for url in (self.url, self.status_url):
            password = urllib.parse.urlsplit(url or "").password
            if password:
                found.append(password)
        return found

    @classmethod
    def from_environment(cls, env: Mapping[str, str] | None = None) -> ElogSettings:
        """Read the settings from ``env`` (default ``os.environ``).

        Raises:
            ConfigurationError: A value is malformed, or the credentials file
                is missing, unreadable, malformed, or open to group or others.
        """
        env = os.environ if env is None else env
        username = env.get(ENV_USER, "")
        password = env.get(ENV_PASSWORD, "")
        credentials_file = env.get(ENV_CREDENTIALS)
        if credentials_file and not password:
            username, password = read_credentials_file(credentials_file)
        auth = env.get(ENV_AUTH, "").strip().lower() or ("basic" if password else "none")
        if auth not in AUTH_MODES:
            raise ConfigurationError(
                f"{ENV_AUTH}={auth!r} is not valid; choose one of: {', '.join(AUTH_MODES)}"
            )
        if auth == "basic" and not (username and password):
            raise ConfigurationError(
                f"{ENV_AUTH}=basic needs {ENV_USER} and {ENV_PASSWORD}, or {ENV_CREDENTIALS}"
            )
        return cls(
            url=(env.get(ENV_URL) or "").rstrip("/") or None,
            status_url=env.get(ENV_STATUS_URL) or None,
            experiment=env.get(ENV_EXPERIMENT) or env.get("EXPERIMENT", ""),
            auth=auth,
            username=username,
            password=password,
            timeout=_parse_timeout(env.get(ENV_TIMEOUT)),
            retries=int(env_number(env, ENV_RETRIES, DEFAULT_RETRIES, strict=False)),
            backoff=env_number(env, ENV_BACKOFF, DEFAULT_BACKOFF, strict=False),
            flush_timeout=env_number(env, ENV_FLUSH_TIMEOUT, DEFAULT_FLUSH_TIMEOUT, strict=False),
            job_id=env.get(ENV_JOB_ID) or None,
            token=env.get(ENV_TOKEN, ""),
            run=env.get(ENV_RUN) or None,
            user=env.get("USER") or env.get("LOGNAME") or "",
        )


def read_credentials_file(path: str | os.PathLike[str]) -> tuple[str, str]:
    """Read ``user:password`` from the first line of a private file.

    A file that group or others may read (or write) is refused: a password
    that others can read is already leaked, and refusing says so at once.

    Raises:
        ConfigurationError: The file is missing, open to others, or malformed.
    """
    location = Path(path).expanduser()
    try:
        mode = location.stat().st_mode
    except OSError as err:
        raise ConfigurationError(
            f"{ENV_CREDENTIALS}: cannot read {location}: {err.strerror}"
        ) from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigurationError(
            f"{ENV_CREDENTIALS}: {location} is accessible by group or others"
            f" (mode {stat.S_IMODE(mode):04o}); run: chmod 600 {location}"
        )
    lines = location.read_text(encoding="utf-8").splitlines()
    username, sep, password = (lines[0] if lines else "").strip().partition(":")
    if not (sep and username and password):
        raise ConfigurationError(
            f"{ENV_CREDENTIALS}: {location} must hold 'user:password' on its first line"
        )
    return username, password


def _parse_timeout(value: str | None) -> tuple[float, float]:
    if not value:
        return DEFAULT_TIMEOUT
    try:
        parts = [float(part) for part in value.split(",")]
    except ValueError:
        parts = []
    if len(parts) == 1:
        parts = [parts[0], parts[0]]
    if len(parts) != 2 or min(parts) <= 0:
        raise ConfigurationError(
            f"{ENV_TIMEOUT}={value!r} is not valid; give positive seconds as CONNECT,READ or one"
            " number for both"
        )
    return parts[0], parts[1]


def _build_auth(settings: ElogSettings) -> AuthBase | None:
    from requests.auth import HTTPBasicAuth  # noqa: PLC0415 (requests only once posting)

    if settings.auth == "basic":
        return HTTPBasicAuth(settings.username, settings.password)
    if settings.auth == "kerberos":
        try:
            gssapi = importlib.import_module("requests_gssapi")
        except ImportError:
            raise ConfigurationError(
                f"{ENV_AUTH}=kerberos needs the requests-gssapi package:"
                " pip install 'lute[kerberos]'"
            ) from None
        return gssapi.HTTPSPNEGOAuth(mutual_authentication=gssapi.OPTIONAL)
    return None


def build_session(settings: ElogSettings) -> requests.Session:
    """A ``requests.Session`` with bounded retries, backoff and the configured auth.

    Refused connections and "not now" answers (``RETRY_STATUSES``) are
    retried; read timeouts are not, since the server may have acted on the
    call. ``Retry-After`` is ignored so that no answer can stall the caller
    beyond the backoff.
    """
    import requests  # noqa: PLC0415 (slow to import; only a configured logbook needs it)
    from requests.adapters import HTTPAdapter  # noqa: PLC0415
    from urllib3.util.retry import Retry  # noqa: PLC0415

    retry = Retry(
        total=settings.retries,
        connect=settings.retries,
        read=0,
        status=settings.retries,
        backoff_factor=settings.backoff,
        status_forcelist=RETRY_STATUSES,
        allowed_methods=None,
        raise_on_status=False,
        respect_retry_after_header=False,
    )
    session = requests.Session()
    adapter = HTTPAdapter(max_retries=retry)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.auth = _build_auth(settings)
    session.headers["Accept"] = "application/json"
    return session
