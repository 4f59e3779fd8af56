"""The IPC settings are bad input when they would expose the channel or make no sense.

"Every interface" is refused by what the address means, not by how it is
spelled: each hostile value is refused before anything runs, with one line
and exit status 2, and no run is recorded.
"""

from __future__ import annotations

import pytest
from conftest import REPO, run_lute

CONFIG = str(REPO / "config" / "test.yaml")


def assert_refused_before_anything_ran(done, work_dir, text: str) -> None:
    assert done.returncode == 2, done.stderr
    [line] = done.stderr.strip().splitlines()
    assert text in line
    assert not (work_dir / "lute.db").exists()
    assert not (work_dir / "runs").exists()
    assert not (work_dir / "logs").exists()


@pytest.mark.parametrize(
    "host", ["0", "0.0", "::0", "000.000.000.000", "0x0", "::ffff:0.0.0.0", "[::0]", " 0 "]
)
def test_every_interface_is_refused_however_it_is_spelled(lute_env, work_dir, host):
    env = {**lute_env, "LUTE_IPC_TCP_HOST": host}

    done = run_lute(["run", "-t", "Tester", "-c", CONFIG], env)

    assert_refused_before_anything_ran(done, work_dir, f"LUTE_IPC_TCP_HOST={host!r}")
    assert "would listen on every interface" in done.stderr


def test_an_unresolvable_host_is_refused(lute_env, work_dir):
    env = {**lute_env, "LUTE_IPC_TCP_HOST": "no-such-host.invalid"}

    done = run_lute(["run", "-t", "Tester", "-c", CONFIG], env)

    assert_refused_before_anything_ran(
        done, work_dir, "LUTE_IPC_TCP_HOST='no-such-host.invalid' cannot be resolved"
    )


@pytest.mark.parametrize("value", ["soon", "0", "-1"])
def test_a_bad_handshake_deadline_is_refused(lute_env, work_dir, value):
    env = {**lute_env, "LUTE_IPC_HANDSHAKE_TIMEOUT": value}

    done = run_lute(["run", "-t", "Tester", "-c", CONFIG], env)

    assert_refused_before_anything_ran(
        done, work_dir, f"LUTE_IPC_HANDSHAKE_TIMEOUT={value!r} is not valid"
    )
