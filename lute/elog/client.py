"""The client of the experiment's electronic logbook (the LCLS eLog), over ``requests``.

Everything that knows the logbook's URLs and answers lives here; where the
logbook is and how to authenticate is read by ``lute.elog.settings``, and
the Executor side (``lute.elog.reporter``) only decides *when* to post.
Calls block: callers that must not wait run them in a thread.

Endpoints, relative to ``LUTE_ELOG_URL`` (the LCLS logbook's ``ws`` API);
each answers JSON, usually ``{"success": bool, "value": ..., "errorMsg": ...}``:

* ``POST JID_UPDATE_COUNTERS``: the run's status counters, a list of
  ``{"key": ..., "value": ...}``. A POST replaces the list, so the client
  first reads them, as LUTE does: ``POST <base>/<exp>/get_counters``, where
  ``JID_UPDATE_COUNTERS`` is ``<base>/<...>/<exp>/<...>`` (its last three
  path segments replaced), with the JSON ``{"_id": ARP_ROOT_JOB_ID,
  "experiment", "run_num", "user"}`` and the job system's
  ``Authorization`` header; then it merges by key and posts the whole list.
* ``POST run_control/<exp>/ws/add_run_params?run_num=<run>``: JSON object of
  run-table parameters.
* ``POST <exp>/ws/new_elog_entry``: multipart form ``log_text``,
  ``log_title``, ``log_tags`` (space separated), ``run_num`` and one
  ``files`` part per attachment.
* ``GET <exp>/ws/get_runs_with_tag?tag=<tag>``: the runs carrying a tag.
* ``GET ws/activeexperiment_for?instrument_name=<ins>&station=<n>``: the
  experiment currently active on an instrument.
* ``POST <exp>/ws/create_update_workflow_def``: a workflow definition and
  its trigger.

Credentials never reach a log line or a ``repr``: settings hide them,
``lute.core.redaction.redact_url`` strips user information from URLs, and
error text is scrubbed of every secret before it is raised.
"""

from __future__ import annotations

import enum
import json
import logging
import mimetypes
import os
import urllib.parse
from collections.abc import Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
import requests.auth

from lute.core.exceptions import ConfigurationError, LuteError
from lute.core.redaction import redact_url, scrub
from lute.elog.settings import (
    ENV_EXPERIMENT,
    ENV_STATUS_URL,
    ENV_URL,
    RETRY_STATUSES,
    ElogSettings,
    build_session,
)

logger = logging.getLogger(__name__)

ERROR_BODY_CHARS = 200


class ElogError(LuteError):
    """A logbook call failed: unreachable, refused, or an unusable answer.

    Args:
        message: What failed, already free of credentials.
        transient: True when the same call may succeed later (timeouts,
            refused connections, 5xx answers).
    """

    def __init__(self, message: str, *, transient: bool = False) -> None:
        super().__init__(message)
        self.transient = transient


class WorkflowTrigger(enum.Enum):
    """When the logbook starts a workflow."""

    START_OF_RUN = "START_OF_RUN"
    END_OF_RUN = "END_OF_RUN"
    RUN_PARAM_IS_VALUE = "RUN_PARAM_IS_VALUE"
    MANUAL = "MANUAL"


@dataclass(frozen=True)
class WorkflowDefinition:
    """A workflow the logbook launches on a trigger (a batch script and its arguments).

    Attributes:
        name: Name shown in the logbook; an existing definition of that name
            is updated.
        executable: Script the job system runs, e.g. a lute launch script.
        parameters: Its command-line arguments, one string.
        trigger: When to run it.
        location: Where to run it (the job system's name, e.g. ``S3DF``).
        run_as_user: Account the job runs under.
        run_param_name: For ``RUN_PARAM_IS_VALUE``: the run parameter to watch.
        run_param_value: For ``RUN_PARAM_IS_VALUE``: the value that triggers.
    """

    name: str
    executable: str
    parameters: str = ""
    trigger: WorkflowTrigger = WorkflowTrigger.MANUAL
    location: str = "S3DF"
    run_as_user: str = ""
    run_param_name: str = ""
    run_param_value: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.trigger, WorkflowTrigger):
            try:
                object.__setattr__(self, "trigger", WorkflowTrigger(str(self.trigger).upper()))
            except ValueError:
                choices = ", ".join(t.value for t in WorkflowTrigger)
                raise ConfigurationError(
                    f"workflow {self.name!r}: trigger {self.trigger!r} is not valid;"
                    f" choose one of: {choices}"
                ) from None
        if self.trigger is WorkflowTrigger.RUN_PARAM_IS_VALUE and not self.run_param_name:
            raise ConfigurationError(
                f"workflow {self.name!r}: trigger RUN_PARAM_IS_VALUE needs run_param_name"
            )

    def as_json(self) -> dict[str, str]:
        """The definition as the logbook's ``create_update_workflow_def`` expects it."""
        body = {
            "name": self.name,
            "executable": self.executable,
            "parameters": self.parameters,
            "trigger": self.trigger.value,
            "location": self.location,
            "run_as_user": self.run_as_user,
        }
        if self.trigger is WorkflowTrigger.RUN_PARAM_IS_VALUE:
            body["run_param_name"] = self.run_param_name
            body["run_param_value"] = self.run_param_value
        return body


class ElogClient:
    """Calls on the logbook API; each blocks for at most its retries and timeouts.

    Args:
        settings: Where and how to connect; ``ElogSettings.from_environment()``
            by default.
        session: A session to use instead of ``build_session(settings)``.

    Raises:
        ConfigurationError: The settings name an authentication that cannot
            be set up (Kerberos without ``requests-gssapi``).
    """

    def __init__(
        self, settings: ElogSettings | None = None, session: requests.Session | None = None
    ) -> None:
        self._settings = settings or ElogSettings.from_environment()
        self._session = session or build_session(self._settings)
        self._secrets = self._settings.secrets()

    def __repr__(self) -> str:
        url = redact_url(self._settings.url or "") or None
        return f"ElogClient(url={url!r}, auth={self._settings.auth!r})"

    def __enter__(self) -> ElogClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Release pooled connections."""
        self._session.close()

    @property
    def settings(self) -> ElogSettings:
        """The settings this client uses."""
        return self._settings

    def update_run_status(
        self, counters: Mapping[str, Any], status_url: str | None = None
    ) -> list[dict[str, Any]]:
        """Set the job's status counters, keeping the others.

        Args:
            counters: ``{key: value}`` to set, e.g. ``{"Test status": "RUNNING"}``.
            status_url: The counters URL; ``JID_UPDATE_COUNTERS`` by default.

        Returns:
            The full list of ``{"key", "value"}`` pairs posted.

        Raises:
            ConfigurationError: No counters URL is known.
            ElogError: The logbook could not be read or written.
        """
        url = status_url or self._settings.status_url
        if not url:
            raise ConfigurationError(f"no status counters URL: set {ENV_STATUS_URL}")
        current = self._read_counters(url)
        merged: dict[str, Any] = {}
        for pair in _counter_pairs(current):
            merged[str(pair["key"])] = pair.get("value")
        merged.update({str(key): value for key, value in counters.items()})
        body = [{"key": key, "value": value} for key, value in merged.items()]
        self._call("POST", url, "posting the status counters", json=body)
        return body

    def _read_counters(self, status_url: str) -> Any:
        """The job's counters, read from ``get_counters`` next to ``status_url`` (LUTE's protocol).

        Raises:
            ConfigurationError: ``status_url`` is too short to name the experiment.
            ElogError: The logbook could not be read.
        """
        read_url, experiment = counters_read_url(status_url)
        settings = self._settings
        body = {
            "_id": settings.job_id,
            "experiment": experiment,
            "run_num": settings.run,
            "user": settings.user,
        }
        auth = _HeaderAuth(settings.token) if settings.token else None
        answer = self._call(
            "POST", read_url, "reading the status counters", missing_ok=True, json=body, auth=auth
        )
        if isinstance(answer, dict) and "value" in answer:
            return answer["value"]
        return answer

    def add_run_parameters(
        self, parameters: Mapping[str, Any], run: int | str, experiment: str | None = None
    ) -> None:
        """Add (or overwrite) run-table parameters of one run.

        Values that are not numbers or strings are sent as JSON text.

        Raises:
            ConfigurationError: No base URL or experiment.
            ElogError: The logbook refused or could not be reached.
        """
        exp = self._experiment(experiment)
        body = {
            str(key): value if isinstance(value, (str, int, float)) else json.dumps(value)
            for key, value in parameters.items()
        }
        self._call(
            "POST",
            self._endpoint(f"run_control/{_quote(exp)}/ws/add_run_params"),
            "adding run parameters",
            params={"run_num": str(run)},
            json=body,
        )

    def post_message(
        self,
        text: str,
        *,
        title: str = "",
        tags: Sequence[str] = (),
        attachments: Sequence[str | os.PathLike[str] | tuple[str | os.PathLike[str], str]] = (),
        run: int | str | None = None,
        experiment: str | None = None,
    ) -> Any:
        """Post a logbook entry, with files attached.

        Args:
            text: Body of the entry.
            title: Its title.
            tags: Tags (the logbook takes them space separated).
            attachments: Paths, or ``(path, content_type)`` pairs; the type of
                a bare path is guessed from its name.
            run: Run the entry belongs to, if any.
            experiment: Defaults to the configured experiment.

        Returns:
            The logbook's ``value`` (the new entry).

        Raises:
            ConfigurationError: No base URL or experiment.
            ElogError: The logbook refused or could not be reached.
            OSError: An attachment cannot be read.
        """
        exp = self._experiment(experiment)
        form = {"log_text": text, "log_title": title, "log_tags": " ".join(tags)}
        if run is not None:
            form["run_num"] = str(run)
        with ExitStack() as stack:
            files = []
            for item in attachments:
                path, content_type = item if isinstance(item, tuple) else (item, None)
                path = Path(path)
                guessed = content_type or mimetypes.guess_type(path.name)[0]
                handle = stack.enter_context(path.open("rb"))
                files.append(("files", (path.name, handle, guessed or "application/octet-stream")))
            return self._call(
                "POST",
                self._endpoint(f"{_quote(exp)}/ws/new_elog_entry"),
                "posting a message",
                data=form,
                files=files or None,
            )

    def runs_with_tag(self, tag: str, experiment: str | None = None) -> list[Any]:
        """The runs of an experiment that carry ``tag``.

        Raises:
            ConfigurationError: No base URL or experiment.
            ElogError: The logbook refused, could not be reached, or did not
                answer with a list.
        """
        exp = self._experiment(experiment)
        value = self._call(
            "GET",
            self._endpoint(f"{_quote(exp)}/ws/get_runs_with_tag"),
            "listing runs with a tag",
            params={"tag": tag},
        )
        if not isinstance(value, list):
            raise ElogError(f"eLog answered the runs with tag {tag!r} with {type(value).__name__}")
        return value

    def active_experiment(self, instrument: str, station: int = 0) -> str:
        """The experiment currently active on ``instrument`` (e.g. ``MFX``).

        Raises:
            ConfigurationError: No base URL.
            ElogError: The logbook refused, could not be reached, or named no
                experiment.
        """
        value = self._call(
            "GET",
            self._endpoint("ws/activeexperiment_for"),
            "looking up the active experiment",
            params={"instrument_name": instrument, "station": str(station)},
        )
        name = value.get("name") if isinstance(value, dict) else None
        if not isinstance(name, str) or not name:
            raise ElogError(f"eLog named no active experiment for {instrument} station {station}")
        return name

    def define_workflow(self, workflow: WorkflowDefinition, experiment: str | None = None) -> Any:
        """Create the workflow definition, or update the one of the same name.

        Raises:
            ConfigurationError: No base URL or experiment.
            ElogError: The logbook refused or could not be reached.
        """
        exp = self._experiment(experiment)
        return self._call(
            "POST",
            self._endpoint(f"{_quote(exp)}/ws/create_update_workflow_def"),
            "defining a workflow",
            json=workflow.as_json(),
        )

    def _experiment(self, experiment: str | None) -> str:
        exp = experiment or self._settings.experiment
        if not exp:
            raise ConfigurationError(
                f"no experiment for the eLog: set it in the config header or {ENV_EXPERIMENT}"
            )
        return exp

    def _endpoint(self, path: str) -> str:
        if not self._settings.url:
            raise ConfigurationError(f"no eLog base URL: set {ENV_URL}")
        return f"{self._settings.url}/{path}"

    def _call(
        self, method: str, url: str, what: str, missing_ok: bool = False, **kwargs: Any
    ) -> Any:
        """One request: timeouts, error mapping, and the ``success``/``value`` envelope.

        Args:
            method: HTTP method.
            url: Full URL.
            what: What the call does, for error messages.
            missing_ok: Treat 404 as an empty answer (nothing stored yet).
            **kwargs: Passed to ``Session.request``.
        """
        where = redact_url(url.split("?", 1)[0])
        try:
            response = self._session.request(method, url, timeout=self._settings.timeout, **kwargs)
        except requests.RequestException as err:
            reason = scrub(f"{type(err).__name__}: {err}", self._secrets)
            raise ElogError(f"eLog {what} failed ({where}): {reason}", transient=True) from None
        if missing_ok and response.status_code == 404:
            return None
        if response.status_code >= 400:
            body = scrub(response.text[:ERROR_BODY_CHARS], self._secrets)
            raise ElogError(
                f"eLog {what} failed ({where}): HTTP {response.status_code} {body!r}",
                transient=response.status_code in RETRY_STATUSES,
            )
        if not response.content:
            return None
        try:
            answer = response.json()
        except ValueError:
            body = scrub(response.text[:ERROR_BODY_CHARS], self._secrets)
            raise ElogError(
                f"eLog {what} failed ({where}): the answer is not JSON: {body!r}"
            ) from None
        if isinstance(answer, dict) and "success" in answer:
            if not answer["success"]:
                reason = scrub(str(answer.get("errorMsg") or "no reason given"), self._secrets)
                raise ElogError(f"eLog {what} failed ({where}): {reason}")
            return answer.get("value")
        return answer


def counters_read_url(status_url: str) -> tuple[str, str]:
    """Where the counters of ``status_url`` are read, and its experiment, as LUTE derives them.

    ``.../replace_counters/<exp>/<job>`` gives ``.../<exp>/get_counters``:
    the experiment is the next-to-last path segment, and ``get_counters``
    lives under the path without its last three segments.

    Raises:
        ConfigurationError: The URL's path has fewer than three segments.
    """
    parts = urllib.parse.urlsplit(status_url)
    segments = parts.path.split("/")
    if len(segments) < 4 or not segments[-2]:
        raise ConfigurationError(
            f"{ENV_STATUS_URL}={redact_url(status_url)} is not a job-system counters URL"
            " (.../<experiment>/<job>): cannot find where to read the counters"
        )
    path = "/".join([*segments[:-3], segments[-2], "get_counters"])
    return urllib.parse.urlunsplit(parts._replace(path=path, query="", fragment="")), segments[-2]


class _HeaderAuth(requests.auth.AuthBase):
    """Sends a ready ``Authorization`` value (``Bearer ...``), in place of the session's auth."""

    def __init__(self, value: str) -> None:
        self._value = value

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = self._value
        return request

    def __repr__(self) -> str:
        return "_HeaderAuth(***)"


def _counter_pairs(answer: Any) -> list[dict[str, Any]]:
    """The ``{"key", "value"}`` pairs of a counters answer (a list, or ``None``).

    Raises:
        ElogError: The answer is neither.
    """
    if answer is None:
        return []
    if isinstance(answer, list) and all(isinstance(p, dict) and "key" in p for p in answer):
        return answer
    raise ElogError("eLog status counters are not a list of {'key', 'value'} pairs")


def _quote(segment: str) -> str:
    return urllib.parse.quote(segment, safe="")
