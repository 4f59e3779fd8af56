"""Third-party Tasks render their config file from a template before the program runs."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import run_lute, task_rows, write_config
from programs import YAML_READER, tagged_lines, write_program


def run_template_task(lute_env, tmp_path, section):
    config = write_config(tmp_path / "cfg.yaml", {"TestTemplate": section})
    return run_lute(["run", "-t", "TemplateTester", "-c", str(config)], lute_env)


def test_rendered_config_is_written_and_read_by_the_program(lute_env, work_dir, tmp_path):
    reader = write_program(tmp_path / "reader", YAML_READER)
    rendered = work_dir / "configs" / "detector.yaml"
    done = run_template_task(
        lute_env,
        tmp_path,
        {
            "executable": str(reader),
            "lute_template_cfg": {
                "template_name": "test_template.yaml",
                "output_path": str(rendered),
            },
            "detector": "epix10k2M",
            "threshold": 8.5,
            "panels": ["q0", "q1", "q2"],
        },
    )
    assert done.returncode == 0, done.stderr
    assert rendered.read_text().startswith("# Rendered by lute for experiment xpptest, run 7.")
    (row,) = task_rows(work_dir / "lute.db", "TestTemplate")
    stdout_log = Path(row["log_stdout"]).read_text()
    assert [json.loads(line) for line in tagged_lines(stdout_log, "ARGV")] == [[str(rendered)]]
    assert [json.loads(line) for line in tagged_lines(stdout_log, "PARSED")] == [
        {"detector": "epix10k2M", "threshold": 8.5, "panels": ["q0", "q1", "q2"]}
    ]
    # The result comes from several parameters (a validator); impl_schemas passes through.
    assert json.loads(row["result.payload"]) == {"config": str(rendered), "detector": "epix10k2M"}
    assert row["result.impl_schemas"] == "lute.test.template"
    assert row["lute_template_cfg.output_path"] == str(rendered)


USER_TEMPLATE = """\
gain: {{ gain }}
modes: {{ modes | join(",") }}
run: {{ lute_config.run }}
"""


def test_user_template_dir_and_extra_parameters(lute_env, work_dir, tmp_path):
    templates = tmp_path / "my_templates"
    templates.mkdir()
    (templates / "mine.cfg").write_text(USER_TEMPLATE)
    reader = write_program(tmp_path / "reader", YAML_READER)
    env = {**lute_env, "LUTE_TEMPLATE_DIR": str(templates)}
    done = run_template_task(
        env,
        tmp_path,
        {
            "executable": str(reader),
            "lute_template_cfg": {"template_name": "mine.cfg"},
            "gain": 4,
            "modes": ["fast", "slow"],
        },
    )
    assert done.returncode == 0, done.stderr
    rendered = work_dir / "mine.cfg"  # default output path: <work_dir>/<template name>
    (row,) = task_rows(work_dir / "lute.db", "TestTemplate")
    stdout_log = Path(row["log_stdout"]).read_text()
    # Extra parameters went to the template, not to the command line.
    assert [json.loads(line) for line in tagged_lines(stdout_log, "ARGV")] == [[str(rendered)]]
    assert [json.loads(line) for line in tagged_lines(stdout_log, "PARSED")] == [
        {"gain": 4, "modes": "fast,slow", "run": 7}
    ]


def test_undefined_template_variable_names_template_and_variable(lute_env, work_dir, tmp_path):
    templates = tmp_path / "my_templates"
    templates.mkdir()
    (templates / "strict.cfg").write_text("value: {{ not_given }}\n")
    env = {**lute_env, "LUTE_TEMPLATE_DIR": str(templates)}
    done = run_template_task(env, tmp_path, {"lute_template_cfg": {"template_name": "strict.cfg"}})
    assert done.returncode == 1
    assert "template 'strict.cfg': 'not_given' is undefined" in done.stderr
    assert not (work_dir / "strict.cfg").exists()
    (row,) = task_rows(work_dir / "lute.db", "TestTemplate")
    assert row["result.task_status"] == "FAILED"
    assert row["valid_flag"] == 0
    assert "'not_given' is undefined" in row["result.summary"]


def test_missing_template_lists_the_search_path(lute_env, work_dir, tmp_path):
    done = run_template_task(
        lute_env, tmp_path, {"lute_template_cfg": {"template_name": "absent.cfg"}}
    )
    assert done.returncode == 1
    assert "template 'absent.cfg' not found in:" in done.stderr
    assert "config/templates" in done.stderr
