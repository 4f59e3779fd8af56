"""MPIExecutor and MPITask on real mpirun ranks."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import REPO, require_service, run_lute, task_rows, write_config
from engines import mpi_available

from lute.core.analysis import TaskStatus
from lute.core.exceptions import ConfigurationError
from lute.execution.mpi import MPIExecutor, choose_nprocs


@pytest.fixture
def mpi() -> None:
    require_service(mpi_available(), "MPI (pip install 'lute[mpi]')")


@pytest.mark.parametrize(
    ("explicit", "env", "cpus", "expected"),
    [
        (2, {"SLURM_NTASKS": "8"}, 4, 2),
        (None, {"LUTE_MPI_NPROCS": "5", "SLURM_NTASKS": "8"}, 4, 5),
        (None, {"SLURM_NTASKS": "8", "SLURM_NPROCS": "3"}, 4, 7),
        (None, {"SLURM_NPROCS": "3"}, 64, 2),
        (None, {"SLURM_NTASKS": "1"}, 64, 1),
        (None, {}, 16, 15),
        (None, {}, 1, 1),
    ],
)
def test_choose_nprocs(explicit, env, cpus, expected):
    count, why = choose_nprocs(explicit, env, cpus)
    assert count == expected
    assert why


@pytest.mark.parametrize("bad", [0, "zero", "-3"])
def test_choose_nprocs_rejects_non_positive(bad):
    with pytest.raises(ConfigurationError, match="must be >= 1"):
        choose_nprocs(None, {"LUTE_MPI_NPROCS": str(bad)}, 4)


def test_command_line_for_mpirun_and_srun(tmp_path):
    for name in ("mpirun", "srun"):
        fake = tmp_path / name
        fake.write_text("#!/bin/sh\n")
        fake.chmod(0o755)
    executor = MPIExecutor("TestMPI", nprocs=3)
    env = executor.analysis.task_env
    env["PATH"] = str(tmp_path)
    command = executor._submit_cmd(["entry.py"], "/cfg.yaml")
    assert command[:3] == [str(tmp_path / "mpirun"), "-np", "3"]
    assert command[-7:] == ["-m", "mpi4py.run", "entry.py", "-c", "/cfg.yaml", "-t", "TestMPI"]
    env["LUTE_MPI_LAUNCHER"] = "srun"
    assert executor._submit_cmd(["entry.py"], "/cfg.yaml")[:3] == [
        str(tmp_path / "srun"),
        "--ntasks",
        "3",
    ]
    env["LUTE_MPI_LAUNCHER"] = "aprun"
    with pytest.raises(ConfigurationError, match="mpirun, srun"):
        executor._submit_cmd(["entry.py"], "/cfg.yaml")


def test_mpi_task_on_two_ranks_reports_once(mpi, lute_env, work_dir, tmp_path):
    config = write_config(
        tmp_path / "mpi.yaml", {"TestMPI": {"n_values": 1001}}, {"work_dir": str(work_dir)}
    )
    executor = MPIExecutor("TestMPI", nprocs=2)
    executor.update_environment({"PYTHONPATH": lute_env["PYTHONPATH"]})
    counts = {"task_started": 0, "task_result": 0}

    def counting(name):
        default = getattr(MPIExecutor, f"_hook_{name}")

        def hook(ex, msg):
            counts[name] += 1
            default(ex, msg)

        return hook

    for name in counts:
        executor.add_hook(name, counting(name))

    status = executor.execute_task(str(config))

    assert status is TaskStatus.COMPLETED, executor.analysis.task_result.summary
    assert counts == {"task_started": 1, "task_result": 1}
    assert executor.analysis.task_result.payload == {"total": 1001 * 1000 // 2, "ranks": 2}
    stdout = Path(executor.analysis.log_paths["stdout"]).read_text()
    assert "rank 0 of 2" in stdout
    assert "rank 1 of 2" in stdout
    rows = task_rows(work_dir / "lute.db", "TestMPI")
    assert [row["result.task_status"] for row in rows] == ["COMPLETED"]
    assert rows[0]["run_id"] == executor.analysis.run_id
    assert '"total": 500500' in rows[0]["result.payload"]


def test_mpi_tester_from_the_command_line(mpi, lute_env, work_dir):
    env = {**lute_env, "LUTE_MPI_NPROCS": "2"}
    done = run_lute(["run", "-t", "MPITester", "-c", str(REPO / "config/test.yaml")], env)
    assert done.returncode == 0, done.stderr
    assert "on 2 MPI ranks (set by $LUTE_MPI_NPROCS)" in done.stderr
    assert "sum of 0..999 over 2 ranks = 499500" in done.stderr
    rows = task_rows(work_dir / "lute.db", "TestMPI")
    assert [row["result.task_status"] for row in rows] == ["COMPLETED"]
