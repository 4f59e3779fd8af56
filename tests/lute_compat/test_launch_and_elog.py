"""LUTE's launch script flags and LUTE's eLog counter protocol.

``submit_slurm.sh`` takes every flag LUTE's takes, with LUTE's meaning
(``-K/--KERB`` is the job's Kerberos cache), and ``--help`` succeeds. A
stand-in ``sbatch`` first on ``PATH`` records what it was given and the
environment the job would inherit (``--export=ALL``).

The eLog client reads the job's counters as LUTE does: ``POST
<base>/<exp>/get_counters`` with the job system's ``ARP_ROOT_JOB_ID`` and
its ``Authorization: Bearer`` token, which is never written anywhere.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO, run_lute, write_config
from elog_server import READ_PATH, STATUS_PATH, ElogServer
from programs import write_program

from lute.core.exceptions import ConfigurationError
from lute.elog.client import counters_read_url

WRAPPER = REPO / "launch_scripts" / "submit_slurm.sh"

STAND_IN_SBATCH = """
import json, os, sys
record = {"argv": sys.argv[1:], "KRB5CCNAME": os.environ.get("KRB5CCNAME"),
          "script": open(sys.argv[-1]).read()}
with open(os.environ["SBATCH_RECORD"], "w") as out:
    json.dump(record, out)
print("4242")
"""


def submit(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(WRAPPER), *args],
        env={**env, "LUTE_PYTHON": sys.executable},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture
def sbatch_env(lute_env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    write_program(bin_dir / "sbatch", STAND_IN_SBATCH)
    record = tmp_path / "sbatch.json"
    return {**lute_env, "PATH": f"{bin_dir}:{lute_env['PATH']}", "SBATCH_RECORD": str(record)}


def test_help_exits_0_and_names_every_lute_flag(lute_env):
    done = submit(["--help"], lute_env)
    assert done.returncode == 0, done.stderr
    for flag in ("-t|--taskname", "-c|--config", "-e|--experiment", "-r|--run", "-K|--KERB"):
        assert flag in done.stdout
    assert "--debug" in done.stdout
    assert submit(["-h"], lute_env).returncode == 0


@pytest.mark.parametrize(
    "kerb", [["-K", "FILE:/tmp/krb5cc_4242"], ["--KERB=FILE:/tmp/krb5cc_4242"]]
)
def test_every_lute_flag_with_lutes_meaning(sbatch_env, work_dir, tmp_path, kerb):
    config = write_config(
        tmp_path / "c.yaml", {"Test": {"loops": 1}}, {"experiment": "", "run": ""}
    )
    done = submit(
        [
            "-t", "Tester", "-c", str(config), "-e", "xpp99", "-r", "12", *kerb, "--debug",
            "--partition=milano", "--account=lcls:xpp99",
        ],
        sbatch_env,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "4242"
    record = json.loads(Path(sbatch_env["SBATCH_RECORD"]).read_text())
    assert record["KRB5CCNAME"] == "FILE:/tmp/krb5cc_4242"
    assert record["argv"][:1] == ["--parsable"]
    assert "--partition=milano" in record["argv"]
    assert "--account=lcls:xpp99" in record["argv"]
    script = record["script"]
    assert "#SBATCH --export=ALL" in script
    assert "export EXPERIMENT=xpp99" in script
    assert "export RUN_NUM=12" in script
    assert " -m lute --debug run -t Tester -c " in script
    assert "krb5cc" not in script  # the cache reaches the job by its environment only


def test_kerb_without_a_value_is_refused(lute_env):
    done = submit(["-t", "Tester", "-c", "c.yaml", "-K"], lute_env)
    assert done.returncode == 2
    assert "needs a value" in done.stderr


TOKEN = "Bearer eyJ-lute-compat-secret-token-0123456789"


def test_counters_are_read_with_lutes_protocol_and_the_token_is_never_recorded(
    lute_env, work_dir, tmp_path
):
    config = write_config(tmp_path / "c.yaml", {"TestElog": {}})
    existing = [{"key": "events", "value": "1200"}]
    with ElogServer(counters=existing) as server:
        env = {
            **lute_env,
            "LUTE_ELOG_URL": server.url,
            "JID_UPDATE_COUNTERS": server.status_url,
            "ARP_ROOT_JOB_ID": "65a1b2c3d4",
            "RUN_NUM": "7_2024-05-01T00:00:00",
            "Authorization": TOKEN,
            "LUTE_SUMMARY_DIR": str(tmp_path / "summary"),
        }
        done = run_lute(["--debug", "run", "-t", "ElogTester", "-c", str(config)], env)
    assert done.returncode == 0, done.stderr[-3000:]
    reads = server.counter_reads()
    assert len(reads) == 2  # before RUNNING and before COMPLETED
    for read in reads:
        assert read.method == "POST"
        assert read.headers["Authorization"] == TOKEN
        assert read.json == {
            "_id": "65a1b2c3d4",
            "experiment": "xpptest",
            "run_num": "7_2024-05-01T00:00:00",
            "user": env.get("USER") or env.get("LOGNAME") or "",
        }
    assert server.status_posts()[-1] == [
        {"key": "events", "value": "1200"},
        {"key": "TestElog status", "value": "COMPLETED"},
    ]
    assert all("Authorization" not in r.headers for r in server.requests if r.path == STATUS_PATH)

    secret = TOKEN.split()[1]
    written = [work_dir / "lute.db", *work_dir.rglob("*.out"), *work_dir.rglob("*.err")]
    assert len(written) >= 3
    for path in written:
        assert secret.encode() not in path.read_bytes(), path
    assert secret not in done.stderr + done.stdout


def test_the_read_url_is_derived_as_lute_derives_it():
    assert counters_read_url("https://pswww.example/ws/jid/replace_counters/mfxp1001/65a1") == (
        "https://pswww.example/ws/jid/mfxp1001/get_counters",
        "mfxp1001",
    )
    assert READ_PATH.endswith("/xpptest/get_counters")
    with pytest.raises(ConfigurationError, match="not a job-system counters URL"):
        counters_read_url("https://jobs.example/42")
