"""LUTE's SFX chain runs end to end with ``lute workflow run``, on stand-in programs.

The DAG is LUTE's SFX workflow without peak finding
(``config/workflows/sfx.yaml``); the configuration holds LUTE's
``config/test.yaml`` sections for these Tasks (``tests/data/sfx/sfx.yaml``).
Each Task finds its input in the run database as LUTE's does, and each
program's command line must equal its golden file
(``tests/data/sfx/<program>.argv.json``, paths written as ``{work_dir}``,
``{tmp}`` and ``{inputs}``), as must the ``lute_command`` recorded.
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest
from conftest import REPO, run_lute, task_rows

from .sfx_programs import install_stand_ins

DAG = REPO / "config" / "workflows" / "sfx.yaml"
CONFIG = REPO / "tests" / "data" / "sfx" / "sfx.yaml"
GOLDEN = REPO / "tests" / "data" / "sfx"

CHAIN = {
    # managed task -> (Task, program)
    "CrystFELIndexer": ("IndexCrystFEL", "indexamajig"),
    "PartialatorMerger": ("MergePartialator", "partialator"),
    "HKLManipulator": ("ManipulateHKL", "get_hkl"),
    "HKLComparer": ("CompareHKL", "compare_hkl"),
    "DimpleSolver": ("DimpleSolve", "dimple"),
}


@pytest.fixture
def sfx_env(lute_env: dict[str, str], work_dir: Path, tmp_path: Path) -> dict[str, str]:
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    for name in ("peaks.lst", "cell.pdb", "detector.geom", "model.pdb"):
        (inputs / name).write_text(f"{name}\n")
    records = tmp_path / "records"
    records.mkdir()
    bin_dir = install_stand_ins(tmp_path / "bin")
    return {
        **lute_env,
        "PATH": f"{bin_dir}:{lute_env['PATH']}",
        "SFX_INPUTS": str(inputs),
        "SFX_RECORD_DIR": str(records),
        "SLURM_NPROCS": "5",  # indexamajig and partialator get -j 4, as LUTE computes it
    }


def golden(program: str, places: dict[str, str]) -> list[str]:
    text = (GOLDEN / f"{program}.argv.json").read_text()
    for name, value in places.items():
        text = text.replace(f"{{{name}}}", value)
    return json.loads(text)


def recorded(env: dict[str, str], program: str) -> dict:
    return json.loads((Path(env["SFX_RECORD_DIR"]) / f"{program}.json").read_text())


def test_the_sfx_dag_runs_end_to_end_and_every_command_is_golden(sfx_env, work_dir, tmp_path):
    done = run_lute(["workflow", "run", str(DAG), "-c", str(CONFIG), "-j", "2"], sfx_env, 300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    places = {"work_dir": str(work_dir), "tmp": str(tmp_path), "inputs": sfx_env["SFX_INPUTS"]}
    db = work_dir / "lute.db"
    for managed, (task, program) in CHAIN.items():
        expected = golden(program, places)
        assert recorded(sfx_env, program)["argv"] == expected, managed
        (row,) = task_rows(db, task)
        assert (row["result.task_status"], row["valid_flag"]) == ("COMPLETED", 1), managed
        assert row["lute_command"] == shlex.join([program, *expected]), managed

    (joined,) = task_rows(db, "ConcatenateStreamFiles")
    assert (joined["in_file"], joined["tag"]) == (str(work_dir), "r0012")
    assert joined["result.payload"] == str(tmp_path / "r0012.stream")
    stream = (work_dir / "mfxp1001_r0012.stream").read_text()
    assert (tmp_path / "r0012.stream").read_text() == stream
    (solved,) = task_rows(db, "DimpleSolve")
    assert solved["result.payload"] == f"{tmp_path}/final.mtz;{tmp_path}/final.pdb"
    assert (tmp_path / "final.pdb").is_file()

    # SHELXC reads the converted reflections on its standard input.
    shelxc = run_lute(["run", "-t", "SHELXCRunner", "-c", str(CONFIG)], sfx_env)
    assert shelxc.returncode == 0, shelxc.stderr[-3000:]
    call = recorded(sfx_env, "shelxc")
    assert call["argv"] == golden("shelxc", places)
    assert call["stdin"] == (tmp_path / "r0012.mtz").read_text()
    (row,) = task_rows(db, "RunSHELXC")
    assert row["lute_command"] == f"shelxc xx < {tmp_path / 'r0012.mtz'}"


def test_lutes_managed_task_names_run_lutes_tasks():
    from lute.managed_tasks import get_managed_task

    lute_names = {
        "CrystFELIndexer": "IndexCrystFEL",
        "StreamFileConcatenator": "ConcatenateStreamFiles",
        "PartialatorMerger": "MergePartialator",
        "HKLComparer": "CompareHKL",
        "HKLManipulator": "ManipulateHKL",
        "DimpleSolver": "DimpleSolve",
        "SHELXCRunner": "RunSHELXC",
    }
    assert {name: get_managed_task(name).task_name for name in lute_names} == lute_names


def test_lutes_own_sfx_sections_validate(tmp_path, monkeypatch):
    from lute.config.loader import load_task_parameters
    from lute.tasks import registry

    monkeypatch.setenv("EXPERIMENT", "mfxp1001")
    monkeypatch.setenv("RUN", "12")
    monkeypatch.setenv("LUTE_WORK_DIR", str(tmp_path))
    monkeypatch.setenv("SLURM_NPROCS", "3")
    lute_yaml = REPO / "tests" / "data" / "lute" / "test.yaml"
    commands = {
        task: load_task_parameters(lute_yaml, task, registry.parameter_model(task)).lute_command
        for task in ("IndexCrystFEL", "MergePartialator", "CompareHKL", "DimpleSolve")
    }
    assert commands["IndexCrystFEL"].startswith(
        f"indexamajig -o {tmp_path}/mfxp1001_r0012.stream -j 2 --profile --wait-for-file=0"
        " --indexing=mosflm --tolerance=5,5,5,1.5 --multi --no-revalidate"
    )
    assert commands["MergePartialator"] == (
        "partialator -o partialator.hkl --symmetry=mmm --model=unity -j 2 --min-measurements=2"
        " --start-after=0 --stop-after=0 --max-rel-B=100"
    )
    assert commands["CompareHKL"] == "compare_hkl --symmetry=mmm --fom=Rsplit --nshells=10"
    assert commands["DimpleSolve"].startswith("dimple /path/to/pdb --mr-when-r 0.4")
