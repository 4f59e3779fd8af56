"""An explicit work_dir must exist; only the default one is created for the user.

lute creates whatever work_dir it is given, with every parent: a typo, or a
config copied from another site, makes directories anywhere (as root, under
/sdf). An explicit work_dir that does not exist is refused with exit 2,
naming it; the default (``$LUTE_WORK_DIR`` or ``./lute_work``) is still
created, so the example config runs on a fresh clone.
"""

from __future__ import annotations

import shutil

from conftest import REPO, log_lines, run_lute, task_rows, write_config


def test_an_explicit_work_dir_that_does_not_exist_is_refused(lute_env, work_dir, tmp_path):
    missing = tmp_path / "sdf" / "typo" / "work"
    config = write_config(tmp_path / "c.yaml", {"Test": {"loops": 1}}, {"work_dir": str(missing)})
    done = run_lute(["run", "-t", "Tester", "-c", str(config)], lute_env)
    assert done.returncode == 2, done.stderr
    lines = log_lines(done.stderr)
    assert lines == [
        f"ERROR:lute.cli: {config}: work_dir {missing} does not exist; create it first"
    ]
    assert not (tmp_path / "sdf").exists()


def test_an_explicit_work_dir_that_is_a_file_is_refused(lute_env, work_dir, tmp_path):
    a_file = tmp_path / "work.txt"
    a_file.write_text("not a directory\n")
    config = write_config(tmp_path / "c.yaml", {"Test": {"loops": 1}}, {"work_dir": str(a_file)})
    done = run_lute(["run", "-t", "Tester", "-c", str(config)], lute_env)
    assert done.returncode == 2, done.stderr
    lines = log_lines(done.stderr)
    assert lines == [f"ERROR:lute.cli: {config}: work_dir {a_file} is not a directory"]


def test_explicit_work_dir_refused_but_the_default_is_created(lute_env, tmp_path):
    fresh = tmp_path / "clone"
    fresh.mkdir()
    config = fresh / "test.yaml"
    shutil.copy(REPO / "config" / "test.yaml", config)
    env = {k: v for k, v in lute_env.items() if k != "LUTE_WORK_DIR"}
    done = run_lute(["run", "-t", "Tester", "-c", str(config)], env, cwd=fresh)
    assert done.returncode == 0, done.stderr
    rows = task_rows(fresh / "lute_work" / "lute.db", "Test")
    assert [row["result.task_status"] for row in rows] == ["COMPLETED"]
    explicit = config.read_text().replace("task_timeout: 600", "task_timeout: 600\nwork_dir: ./w")
    config.write_text(explicit)
    done = run_lute(["run", "-t", "Tester", "-c", str(config)], env, cwd=fresh)
    assert done.returncode == 2, done.stderr
    assert "work_dir ./w does not exist; create it first" in done.stderr
    assert not (fresh / "w").exists()
