"""The DAG format as it grew: several roots, LUTE's operator settings, retries, time limits."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import Path

import pytest
from conftest import write_config

from lute.batch.dag import parse_workflow
from lute.batch.node_options import node_sbatch_args
from lute.batch.script import build_batch_script, file_stem, sbatch_command
from lute.batch.submitted import node_jobs
from lute.core.exceptions import ConfigurationError

DATA = Path(__file__).parent / "data"

# The shape of LUTE's pyalgos_sfx graph: a processing chain and a second root.
SFX = [
    {
        "task_name": "Tester",
        "name": "PeakFinder",
        "next": [
            {
                "task_name": "WriteTester",
                "name": "Indexer",
                "max_cores": 4,
                "max_nodes": 1,
                "require_partition": "debug",
                "retries": 2,
                "time_limit": 30,
            }
        ],
    },
    {"task_name": "BinaryTester", "name": "SmallData"},
]


def test_several_roots_are_one_graph_in_written_order():
    workflow = parse_workflow(SFX, "sfx.yaml")
    assert workflow.roots == ["PeakFinder", "SmallData"]
    assert list(workflow.nodes) == ["PeakFinder", "SmallData", "Indexer"]
    indexer = workflow.nodes["Indexer"]
    assert (indexer.max_cores, indexer.max_nodes, indexer.require_partition) == (4, 1, "debug")
    assert indexer.executor_settings() == {"retries": 2, "time_limit": 30.0}
    assert workflow.ancestors("Indexer") == ["PeakFinder"]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("max_cores", 0, "max_cores must be a whole number >= 1, not 0"),
        ("max_nodes", True, "max_nodes must be a whole number >= 1, not True"),
        ("require_partition", "a b", "require_partition 'a b' is not a valid name"),
        ("retries", -1, "retries must be a whole number >= 0, not -1"),
        ("time_limit", "1h", "time_limit must be seconds > 0, not '1h'"),
    ],
)
def test_bad_operator_settings_name_the_file_and_node(field, value, message):
    graph = [{"task_name": "Tester"}, {"task_name": "WriteTester", field: value}]
    with pytest.raises(ConfigurationError) as caught:
        parse_workflow(graph, "dag.yaml")
    assert str(caught.value).startswith(f"dag.yaml: node 'WriteTester' (roots[1]): {message}")


def test_an_empty_list_of_roots_is_refused():
    with pytest.raises(ConfigurationError, match=r"dag\.yaml: the list of root nodes is empty"):
        parse_workflow([], "dag.yaml")


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ((), ("--ntasks=4", "--nodes=1-2", "--partition=debug")),
        (
            ("--ntasks=64", "--nodes", "3", "-p", "milano", "--time=10"),
            ("--time=10", "--ntasks=4", "--nodes=2", "--partition=debug"),
        ),
        (("-n2", "--nodes=1-8"), ("--ntasks=2", "--nodes=1-2", "--partition=debug")),
    ],
)
def test_operator_settings_cap_the_options_and_force_the_partition(given, expected):
    node = dataclasses.replace(
        parse_workflow({"task_name": "Tester"}, "x").nodes["Tester"],
        max_cores=4,
        max_nodes=2,
        require_partition="debug",
    )
    assert node_sbatch_args(given, node) == expected


def test_node_batch_script_matches_golden_file(tmp_path, work_dir, monkeypatch):
    monkeypatch.delenv("LUTE_SITE_CONFIG", raising=False)
    monkeypatch.delenv("RUN_NUM", raising=False)
    config = write_config(
        tmp_path / "c.yaml",
        {"Test": {}, "TestWriteOutput": {}, "TestBinary": {}},
        {"work_dir": str(work_dir), "experiment": "xpp12345"},
    )
    workflow = parse_workflow(SFX, "sfx.yaml")
    jobs = node_jobs(workflow, str(config), ["--ntasks=64", "--partition=milano", "--time=10"])
    job = dataclasses.replace(
        jobs["Indexer"],
        config="/sdf/cfg/c.yaml",
        work_dir="/sdf/work",
        python="/opt/lute/bin/python",
        after_ok=("11",),
    )
    stem = file_stem(job, dt.datetime(2026, 11, 21, 9, 30, 5))
    assert build_batch_script(job, stem) == (DATA / "golden_node.sh").read_text()
    assert sbatch_command(job, Path("/s.sh"))[-5:] == [
        "--time=10",
        "--ntasks=4",
        "--nodes=1-1",
        "--partition=debug",
        "/s.sh",
    ]
    settings = dict(jobs["Indexer"].exports)["LUTE_EXECUTOR_SETTINGS"]
    assert json.loads(settings) == {"retries": 2, "time_limit": 30.0}
    assert jobs["SmallData"].sbatch_args == ("--ntasks=64", "--partition=milano", "--time=10")
