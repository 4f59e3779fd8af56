"""``lute tasks list`` and ``lute tasks help``: complete, correct, and pasteable."""

from __future__ import annotations

import pytest
import yaml
from conftest import run_lute

from lute.config.loader import load_task_parameters
from lute.tasks import registry


def test_list_shows_every_task_its_managed_tasks_and_a_description(lute_env):
    done = run_lute(["tasks", "list"], lute_env)
    assert done.returncode == 0, done.stderr
    rows = {line.split()[0]: line for line in done.stdout.splitlines()[1:]}
    assert set(registry.BUILTIN_TASKS) <= set(rows)
    assert rows["Test"].split()[1] == "Tester"
    assert rows["Test"].endswith("A Task that loops and reports.")
    assert rows["TestTemplate"].split()[1] == "TemplateTester"


def test_help_lists_nested_and_list_parameters(lute_env):
    done = run_lute(["tasks", "help", "TemplateTester"], lute_env)
    assert done.returncode == 0, done.stderr
    text = done.stdout
    assert text.startswith("TestTemplate: Renders test_template.yaml")
    assert "Managed tasks: TemplateTester\n" in text
    assert "  lute_template_cfg (TemplateConfig | None; default: {" in text
    assert (
        '  lute_template_cfg.template_name (str; default: "test_template.yaml")\n'
        "      Template file name, relative to the search path.\n"
    ) in text
    assert (
        '  panels (list[str]; default: ["p0", "p1"])\n'
        "      Detector panels to use, written to the config file.\n"
        "      command line: template variable\n"
    ) in text
    assert "  p_arg1 (str | None; default: null)" in text
    assert "      command line: positional argument 1\n" in text


def test_help_for_nested_first_party_model(lute_env):
    done = run_lute(["tasks", "help", "Test"], lute_env)
    assert done.returncode == 0, done.stderr
    assert (
        "  compound_var.int_var (int; default: 1)\n      An integer inside a nested parameter.\n"
    ) in done.stdout
    assert '  compound_var.dict_var (dict[str, str]; default: {"a": "b"})' in done.stdout


def test_help_for_third_party_flags(lute_env):
    done = run_lute(["tasks", "help", "TestThirdParty"], lute_env)
    assert done.returncode == 0, done.stderr
    assert (
        "  out_file (str | None; default: null)\n"
        "      Renamed flag --output FILE; also the run's result.\n"
        "      command line: --output VALUE\n"
    ) in done.stdout
    assert "  include (list[str]; default: [])" in done.stdout


@pytest.mark.parametrize("task", ["Test", "TestTemplate", "TestThirdParty", "TestWriteOutput"])
def test_emitted_yaml_validates_to_the_defaults(lute_env, tmp_path, task):
    done = run_lute(["tasks", "help", task, "--yaml"], lute_env)
    assert done.returncode == 0, done.stderr
    section = yaml.safe_load(done.stdout)
    assert list(section) == [task]
    config = tmp_path / "pasted.yaml"
    config.write_text(f"title: pasted\nwork_dir: {tmp_path}\n---\n{done.stdout}")
    model = registry.parameter_model(task)
    pasted = load_task_parameters(config, task, model)
    empty = tmp_path / "empty.yaml"
    empty.write_text(f"title: pasted\nwork_dir: {tmp_path}\n---\n{task}: {{}}\n")
    assert pasted == load_task_parameters(empty, task, model)


def test_help_for_an_unknown_name_suggests_close_ones(lute_env):
    done = run_lute(["tasks", "help", "Testr"], lute_env)
    assert done.returncode == 2
    assert "unknown Task or managed task 'Testr'. Did you mean:" in done.stderr
