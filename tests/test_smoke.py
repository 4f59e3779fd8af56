from conftest import REPO, run_lute, task_rows


def test_tester_runs_and_is_recorded(lute_env, work_dir):
    done = run_lute(["run", "-t", "Tester", "-c", str(REPO / "config/test.yaml")], lute_env)
    assert done.returncode == 0, done.stderr
    assert "Test loop 3 of 3" in done.stderr
    rows = task_rows(work_dir / "lute.db", "Test")
    assert [row["result.task_status"] for row in rows] == ["COMPLETED"]
