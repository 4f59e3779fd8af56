"""Configuration loading: two documents, substitutions, errors naming file and key."""

from __future__ import annotations

import pytest
from conftest import log_lines, run_lute
from pydantic import Field

from lute.config.loader import load_documents, validate_task_section
from lute.config.models.base import TaskParameters
from lute.core.exceptions import ConfigurationError


def write(tmp_path, text: str):
    path = tmp_path / "cfg.yaml"
    path.write_text(text)
    return path


def test_substitutions_keys_nested_environment_and_formats(tmp_path, monkeypatch):
    monkeypatch.setenv("LUTE_TEST_DETECTOR", "jungfrau")
    path = write(
        tmp_path,
        """
title: t
experiment: xpplx9221
run: 12
work_dir: "{{ $LUTE_TEST_WORK }}"
---
Shared:
  base: /data
Test:
  nested: {inner: 5}
  str_var: "{{ Shared.base }}/{{ experiment }}/r{{ run:04d }}_{{ nested.inner }}"
  same_type: "{{ run }}"
  from_env: "{{ $LUTE_TEST_DETECTOR }}-{{ lute_config.experiment }}"
  in_list: ["{{ run:03d }}", plain]
""".replace("{{ $LUTE_TEST_WORK }}", str(tmp_path)),
    )
    header, tasks = load_documents(path)
    test = tasks["Test"]
    assert test["str_var"] == "/data/xpplx9221/r0012_5"
    assert test["same_type"] == 12
    assert test["from_env"] == "jungfrau-xpplx9221"
    assert test["in_list"] == ["012", "plain"]
    assert header["work_dir"] == str(tmp_path)


def test_experiment_and_run_fall_back_to_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("EXPERIMENT", "mfxp1001")
    monkeypatch.setenv("RUN_NUM", "33")
    header, tasks = load_documents(write(tmp_path, "title: t\n---\nTest:\n  out: r{{ run }}\n"))
    assert header["experiment"] == "mfxp1001"
    assert tasks["Test"]["out"] == "r33"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("title: [unclosed\n---\n{}\n", "cfg.yaml:2:1: invalid YAML"),
        ("title: t\n", "expected 2 YAML documents"),
        ("title: t\n---\n- a list\n", "the Task sections document must be a mapping"),
        ("title: t\n---\nTest:\n  x: '{{ nope }}'\n", "Test.x: unknown substitution variable"),
        ("title: t\n---\nTest:\n  x: '{{ $LUTE_NO_SUCH_VAR }}'\n", "Test.x: environment variable"),
        ("title: t\n---\nTest:\n  x: '{{ title:05d }}'\n", "Test.x: cannot format title='t'"),
        ("title: t\n---\nTest:\n  a: '{{ b }}'\n  b: '{{ a }}'\n", "Test.a: substitutions nest"),
    ],
)
def test_bad_files_name_the_file_and_key(tmp_path, text, expected):
    with pytest.raises(ConfigurationError) as err:
        load_documents(write(tmp_path, text))
    assert expected in str(err.value)
    assert str(tmp_path / "cfg.yaml") in str(err.value)


class _NeedsInput(TaskParameters):
    detector: str = Field(description="required")
    threshold: float = 1.0


def test_missing_section_with_required_fields_names_both(tmp_path):
    path = write(tmp_path, "title: t\n---\nOther: {}\n")
    header, tasks = load_documents(path)
    with pytest.raises(ConfigurationError) as err:
        validate_task_section(str(path), "NeedsInput", _NeedsInput, header, tasks)
    message = str(err.value)
    assert f"{path}: NeedsInput.detector: Field required" in message
    assert f"{path}: no section named 'NeedsInput'" in message


def test_header_keys_are_validated_too(tmp_path):
    path = write(tmp_path, "title: t\ntask_timeout: soon\n---\nOther: {}\n")
    header, _ = load_documents(path)
    with pytest.raises(ConfigurationError, match=r"NeedsInput.lute_config.task_timeout"):
        validate_task_section(str(path), "NeedsInput", _NeedsInput, header, {"NeedsInput": {}})


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("title: [bad\n---\n{}\n", "invalid YAML"),
        ("title: t\n---\nTest:\n  str_var: '{{ missing.key }}'\n", "Test.str_var: unknown"),
        ("title: t\n---\nTest:\n  loops: many\n", "Test.loops: Input should be a valid integer"),
    ],
)
def test_cli_exits_2_and_records_nothing(tmp_path, lute_env, work_dir, text, expected):
    path = write(tmp_path, text)
    done = run_lute(["run", "-t", "Tester", "-c", str(path)], lute_env)
    assert done.returncode == 2
    lines = [line for line in log_lines(done.stderr) if line.startswith("ERROR")]
    assert any(expected in line and str(path) in line for line in lines), done.stderr
    assert not (work_dir / "lute.db").exists()


def test_missing_config_file_is_one_clear_error(tmp_path, lute_env):
    done = run_lute(["run", "-t", "Tester", "-c", str(tmp_path / "nope.yaml")], lute_env)
    assert done.returncode == 2
    assert "nope.yaml: cannot read config" in done.stderr
