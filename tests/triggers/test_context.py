"""How a trigger's values reach a launch: a derived config, the environment, a command line."""

from __future__ import annotations

import pytest
import yaml

from lute.config.loader import load_documents
from lute.triggers.actions import (
    launch_environment,
    substitute_arguments,
    trigger_context,
    write_derived_config,
)

EVENTS = [
    {"kind": "closed", "time": "2026-01-01T00:00:00+00:00", "path": "/raw/run0042.h5",
     "match": {"run": "0042"}, "row": {}},
    {"kind": "closed", "time": "2026-01-01T00:00:01+00:00", "path": "/raw/run0043.h5",
     "match": {"run": "0043"}, "row": {}},
]  # fmt: skip


def test_the_derived_config_resolves_trigger_values_and_sets_the_run(tmp_path, monkeypatch):
    source = tmp_path / "cfg.yaml"
    source.write_text(
        yaml.safe_dump_all(
            [
                {"title": "t", "experiment": "xpp", "run": ""},
                {
                    "Test": {
                        "str_var": "{{ trigger.path }} of run {{ trigger.match.run }}",
                        "compound_var": {"dict_var": {"env": "{{ $LUTE_TRIGGER_PATH }}"}},
                    },
                    "TestReadOutput": {"in_file": "{{ trigger.row.out_file }}"},
                    "trigger": {
                        "path": "/by/hand.h5",
                        "match": {"run": "0"},
                        "row": {"out_file": "/default.txt"},
                    },
                },
            ]
        )
    )
    context = trigger_context("new-files", EVENTS)
    for name, value in launch_environment(context).items():
        monkeypatch.setenv(name, value)
    derived = tmp_path / "derived.yaml"
    write_derived_config(source, derived, context)

    header, tasks = load_documents(derived)
    assert header["run"] == 42
    assert tasks["Test"]["str_var"] == "/raw/run0042.h5 of run 0042"
    assert tasks["Test"]["compound_var"]["dict_var"]["env"] == "/raw/run0042.h5"
    assert tasks["TestReadOutput"]["in_file"] == "/default.txt"
    assert tasks["trigger"]["paths"] == ["/raw/run0042.h5", "/raw/run0043.h5"]
    assert tasks["trigger"]["count"] == 2

    _, by_hand = load_documents(source)  # the defaults let the file run without a trigger
    assert by_hand["Test"]["str_var"] == "/by/hand.h5 of run 0"


def test_a_command_takes_trigger_values_and_a_list_becomes_several_arguments():
    context = trigger_context("new-files", EVENTS)
    assert substitute_arguments(
        ["cp", "{{ trigger.paths }}", "/dest/run{{ trigger.run }}/"], context
    ) == ["cp", "/raw/run0042.h5", "/raw/run0043.h5", "/dest/run42/"]
    with pytest.raises(ValueError, match=r"no value for \{\{ trigger.match.detector \}\}"):
        substitute_arguments(["{{ trigger.match.detector }}"], context)


def test_the_run_comes_from_the_pattern_the_row_or_a_lute_rows_header():
    row_event = {"kind": "row", "row": {"id": 3, "lute_config": {"run": "17"}}}
    assert trigger_context("t", [row_event])["run"] == 17
    assert trigger_context("t", [{"kind": "row", "row": {"run": "r5"}}])["run"] == "r5"
    assert trigger_context("t", [{"kind": "time"}])["run"] is None
