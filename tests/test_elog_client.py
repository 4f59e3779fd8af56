"""The eLog client against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import socket
import sys
import types

import pytest
from elog_server import READ_PATH, STATUS_PATH, ElogServer

from lute.core.exceptions import ConfigurationError
from lute.core.redaction import SECRET_VARIABLES, URL_VARIABLES, redact_url, without_secrets
from lute.elog.client import ElogClient, ElogError, WorkflowDefinition, WorkflowTrigger
from lute.elog.settings import (
    ENV_PASSWORD,
    ENV_STATUS_URL,
    ENV_URL,
    ElogSettings,
    build_session,
    read_credentials_file,
)

PASSWORD = "pa55-w0rd-xyzzy"


def settings_for(server: ElogServer, **overrides) -> ElogSettings:
    values = {
        "url": server.url,
        "status_url": server.status_url,
        "experiment": "xpptest",
        "timeout": (2.0, 5.0),
        "retries": 0,
        "backoff": 0.0,
    }
    values.update(overrides)
    return ElogSettings(**values)


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/lgbk"


def test_status_counters_are_read_merged_and_posted():
    existing = [{"key": "events", "value": "1200"}, {"key": "Test status", "value": "RUNNING"}]
    with ElogServer(counters=existing) as server, ElogClient(settings_for(server)) as client:
        posted = client.update_run_status({"Test status": "COMPLETED"})
    assert [(r.method, r.path) for r in server.requests] == [
        ("POST", READ_PATH),
        ("POST", STATUS_PATH),
    ]
    expected = [{"key": "events", "value": "1200"}, {"key": "Test status", "value": "COMPLETED"}]
    assert server.requests[1].json == expected
    assert posted == expected


def test_run_parameters_go_to_the_run_table_of_the_run():
    with ElogServer() as server, ElogClient(settings_for(server)) as client:
        client.add_run_parameters({"hit_rate": 0.25, "peaks": [1, 2]}, run=7)
    (request,) = server.requests
    assert request.path == "/lgbk/run_control/xpptest/ws/add_run_params"
    assert request.query == {"run_num": ["7"]}
    assert request.json == {"hit_rate": 0.25, "peaks": "[1, 2]"}


def test_message_with_two_attachments_is_multipart_with_names_and_types(tmp_path):
    png = tmp_path / "peaks.png"
    png.write_bytes(b"\x89PNG\r\n\x1a\nfake image")
    report = tmp_path / "report.data"
    report.write_text("<html>report</html>")
    with ElogServer() as server, ElogClient(settings_for(server)) as client:
        client.post_message(
            "Run 7 analysed",
            title="lute summary",
            tags=["lute", "summary"],
            attachments=[png, (report, "text/html")],
            run=7,
        )
    (request,) = server.requests
    assert request.path == "/lgbk/xpptest/ws/new_elog_entry"
    assert request.headers["Content-Type"].startswith("multipart/form-data; boundary=")
    fields = {p.name: p.content.decode() for p in request.parts if p.filename is None}
    assert fields == {
        "log_text": "Run 7 analysed",
        "log_title": "lute summary",
        "log_tags": "lute summary",
        "run_num": "7",
    }
    files = [(p.name, p.filename, p.content_type, p.content) for p in request.parts if p.filename]
    assert files == [
        ("files", "peaks.png", "image/png", png.read_bytes()),
        ("files", "report.data", "text/html", b"<html>report</html>"),
    ]


def test_runs_with_tag_and_active_experiment():
    with ElogServer() as server, ElogClient(settings_for(server)) as client:
        assert client.runs_with_tag("good") == [3, 7]
        assert client.active_experiment("MFX", station=1) == "mfxl1234"
    tagged, active = server.requests
    assert (tagged.path, tagged.query) == ("/lgbk/xpptest/ws/get_runs_with_tag", {"tag": ["good"]})
    assert active.path == "/lgbk/ws/activeexperiment_for"
    assert active.query == {"instrument_name": ["MFX"], "station": ["1"]}


def test_workflow_definition_with_trigger():
    workflow = WorkflowDefinition(
        name="smd",
        executable="/sdf/lute/launch_scripts/submit_slurm.sh",
        parameters="-c config.yaml -t SmallDataProducer",
        trigger="run_param_is_value",
        run_param_name="quality",
        run_param_value="good",
    )
    assert workflow.trigger is WorkflowTrigger.RUN_PARAM_IS_VALUE
    with ElogServer() as server, ElogClient(settings_for(server)) as client:
        client.define_workflow(workflow)
    (request,) = server.requests
    assert request.path == "/lgbk/xpptest/ws/create_update_workflow_def"
    assert request.json == {
        "name": "smd",
        "executable": "/sdf/lute/launch_scripts/submit_slurm.sh",
        "parameters": "-c config.yaml -t SmallDataProducer",
        "trigger": "RUN_PARAM_IS_VALUE",
        "location": "S3DF",
        "run_as_user": "",
        "run_param_name": "quality",
        "run_param_value": "good",
    }


def test_bad_trigger_lists_the_valid_ones():
    with pytest.raises(ConfigurationError, match="END_OF_RUN"):
        WorkflowDefinition(name="x", executable="x", trigger="whenever")


def test_500_is_retried_then_reported():
    with ElogServer("error500") as server:
        client = ElogClient(settings_for(server, retries=2))
        with pytest.raises(ElogError, match="HTTP 500") as caught:
            client.add_run_parameters({"a": 1}, run=7)
    assert caught.value.transient
    assert len(server.requests) == 3


def test_invalid_json_answer_is_an_error():
    with (
        ElogServer("badjson") as server,
        ElogClient(settings_for(server)) as client,
        pytest.raises(ElogError, match="not JSON"),
    ):
        client.update_run_status({"Test status": "RUNNING"})


def test_refused_connection_is_a_transient_error():
    settings = ElogSettings(url=closed_port_url(), experiment="x", retries=1, backoff=0.0)
    with pytest.raises(ElogError, match="ConnectionError") as caught:
        ElogClient(settings).runs_with_tag("good")
    assert caught.value.transient


def test_read_timeout_is_not_retried():
    with ElogServer("hang") as server:
        client = ElogClient(settings_for(server, timeout=(2.0, 0.2), retries=3))
        with pytest.raises(ElogError, match="Timeout"):
            client.runs_with_tag("good")
        assert len(server.requests) == 1


def test_unsuccessful_answer_carries_the_servers_reason():
    with (
        ElogServer() as server,
        ElogClient(settings_for(server)) as client,
        pytest.raises(ElogError, match="no such tag: unknown"),
    ):
        client.runs_with_tag("unknown")


def test_error_status_is_an_error_naming_it():
    with (
        ElogServer() as server,
        ElogClient(settings_for(server, url=server.url + "/nope")) as client,
        pytest.raises(ElogError, match="HTTP 404"),
    ):
        client.runs_with_tag("good")


def test_basic_auth_is_sent_and_hidden_from_repr():
    with ElogServer(credentials=("lute", PASSWORD)) as server:
        settings = settings_for(server, auth="basic", username="lute", password=PASSWORD)
        client = ElogClient(settings)
        assert client.runs_with_tag("good") == [3, 7]
    assert PASSWORD not in repr(settings)
    assert PASSWORD not in repr(client)
    assert server.requests[0].headers["Authorization"].startswith("Basic ")


def test_settings_from_environment(tmp_path):
    env = {
        "LUTE_ELOG_URL": "https://logbook.example/lgbk/",
        "JID_UPDATE_COUNTERS": "https://jobs.example/jid/42",
        "EXPERIMENT": "mfxl1234",
        "LUTE_ELOG_USER": "lute",
        "LUTE_ELOG_PASSWORD": PASSWORD,
        "LUTE_ELOG_TIMEOUT": "1,4",
        "LUTE_ELOG_RETRIES": "2",
        "LUTE_ELOG_FLUSH_TIMEOUT": "2.5",
    }
    settings = ElogSettings.from_environment(env)
    assert settings.url == "https://logbook.example/lgbk"
    assert settings.status_url == "https://jobs.example/jid/42"
    assert settings.experiment == "mfxl1234"
    assert (settings.auth, settings.username, settings.password) == ("basic", "lute", PASSWORD)
    assert (settings.timeout, settings.retries, settings.flush_timeout) == ((1.0, 4.0), 2, 2.5)
    assert not ElogSettings.from_environment({}).configured


@pytest.mark.parametrize(
    ("name", "value"),
    [("LUTE_ELOG_TIMEOUT", "soon"), ("LUTE_ELOG_RETRIES", "-1"), ("LUTE_ELOG_AUTH", "magic")],
)
def test_bad_setting_names_the_variable(name, value):
    with pytest.raises(ConfigurationError, match=name):
        ElogSettings.from_environment({"LUTE_ELOG_URL": "http://x", name: value})


def test_credentials_file_must_be_private(tmp_path):
    path = tmp_path / "elog.cred"
    path.write_text(f"lute:{PASSWORD}\n")
    path.chmod(0o640)
    with pytest.raises(ConfigurationError, match="chmod 600") as caught:
        ElogSettings.from_environment({"LUTE_ELOG_CREDENTIALS": str(path)})
    assert PASSWORD not in str(caught.value)
    path.chmod(0o600)
    assert read_credentials_file(path) == ("lute", PASSWORD)
    settings = ElogSettings.from_environment({"LUTE_ELOG_CREDENTIALS": str(path)})
    assert (settings.auth, settings.username) == ("basic", "lute")


def test_malformed_credentials_file(tmp_path):
    path = tmp_path / "elog.cred"
    path.write_text("just-a-password\n")
    path.chmod(0o600)
    with pytest.raises(ConfigurationError, match="user:password"):
        read_credentials_file(path)


def test_kerberos_without_the_extra_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "requests_gssapi", None)
    settings = ElogSettings(url="http://127.0.0.1:1/lgbk", auth="kerberos")
    with pytest.raises(ConfigurationError, match=r"lute\[kerberos\]"):
        build_session(settings)


def test_kerberos_uses_requests_gssapi_when_installed(monkeypatch):
    class FakeSpnego:
        def __init__(self, mutual_authentication):
            self.mutual_authentication = mutual_authentication

    fake = types.SimpleNamespace(HTTPSPNEGOAuth=FakeSpnego, OPTIONAL=2)
    monkeypatch.setitem(sys.modules, "requests_gssapi", fake)
    session = build_session(ElogSettings(url="http://127.0.0.1:1/lgbk", auth="kerberos"))
    assert isinstance(session.auth, FakeSpnego)
    assert session.auth.mutual_authentication == 2


def test_urls_with_user_information_are_redacted():
    assert redact_url(f"https://lute:{PASSWORD}@logbook.example:8443/x?y=1") == (
        "https://***@logbook.example:8443/x?y=1"
    )
    assert redact_url("https://logbook.example/x") == "https://logbook.example/x"
    env = without_secrets(
        {
            "LUTE_ELOG_PASSWORD": PASSWORD,
            "JID_UPDATE_COUNTERS": f"http://lute:{PASSWORD}@jobs.example/jid/1",
            "HOME": "/home/lute",
        }
    )
    assert env == {"JID_UPDATE_COUNTERS": "http://***@jobs.example/jid/1", "HOME": "/home/lute"}


def test_redaction_strips_the_elog_variables_by_their_current_names():
    assert ENV_PASSWORD in SECRET_VARIABLES
    assert {ENV_URL, ENV_STATUS_URL} <= set(URL_VARIABLES)
