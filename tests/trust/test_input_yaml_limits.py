"""YAML that would eat the machine is refused in bounded time and memory.

Each hostile file goes through the real ``lute run -t Tester``, in a child
whose address space is capped (so a regression fails fast instead of taking
the machine) and with a generous timeout (so it fails rather than hangs).
In another Task's section, what is never resolved must not stop the run:
the run completes. In the header or in the Tester's own section, or where
the file as a whole is too big or too deep, lute exits 2 with one line and
records nothing.
"""

from __future__ import annotations

import resource
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import task_rows

MEMORY_CAP = 2 * 1024**3
TIMEOUT_S = 60


def cap_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))


def run_capped(config: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """``lute run -t Tester -c CONFIG`` in a child that cannot take the machine."""
    try:
        return subprocess.run(
            [sys.executable, "-m", "lute", "run", "-t", "Tester", "-c", str(config)],
            env=env,
            capture_output=True,
            text=True,
            timeout=TIMEOUT_S,
            preexec_fn=cap_memory,
            check=False,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"lute run did not finish within {TIMEOUT_S}s on {config.name}")


def alias_bomb(indent: str) -> list[str]:
    """Nine levels of nine aliases: 387 million values from a dozen lines."""
    lines = [f"{indent}lol0: &lol0 [" + ", ".join(["lol"] * 9) + "]"]
    lines += [
        f"{indent}lol{i}: &lol{i} [" + ", ".join([f"*lol{i - 1}"] * 9) + "]" for i in range(1, 10)
    ]
    return lines


def fan_out(indent: str) -> list[str]:
    """Each key refers to the one before ten times: 10**11 characters, no alias."""
    lines = [f"{indent}k0: xxxxxxxxxx"]
    lines += [
        f"{indent}k{i}: '" + "{{ k%d }}" % (i - 1) * 10 + "'"  # noqa: UP031
        for i in range(1, 12)
    ]
    return lines


def deep_list(indent: str) -> list[str]:
    return [f"{indent}deep: " + "[" * 5000 + "]" * 5000]


def merge_bomb(indent: str) -> list[str]:
    """Merge keys (``<<``) that multiply like the alias bomb."""
    keys = ", ".join(f"k{i}: {i}" for i in range(9))
    lines = [f"{indent}m0: &m0 {{{keys}}}"]
    lines += [
        f"{indent}m{i}: &m{i} {{<<: [" + ", ".join([f"*m{i - 1}"] * 9) + "]}" for i in range(1, 10)
    ]
    return lines


def config_text(hostile: list[str], where: str) -> str:
    """A config running Tester with ``hostile`` lines in the header, Tester's or another section."""
    header = ["title: hostile", *(hostile if where == "header" else [])]
    tester = ["Test:", "  loops: 1", *(hostile if where == "Tester" else [])]
    other = ["Other:", *hostile] if where == "other" else []
    return "\n".join([*header, "---", *tester, *other]) + "\n"


@pytest.mark.parametrize(
    ("hostile", "where"),
    [(alias_bomb, "other"), (fan_out, "other")],
    ids=["alias bomb", "substitution fan-out"],
)
def test_another_tasks_hostile_section_does_not_stop_the_run(
    lute_env, work_dir, tmp_path, hostile, where
):
    config = tmp_path / "hostile.yaml"
    config.write_text(config_text(hostile("  "), where))
    done = run_capped(config, lute_env)
    assert done.returncode == 0, done.stderr[-2000:]
    rows = task_rows(work_dir / "lute.db", "Test")
    assert [row["result.task_status"] for row in rows] == ["COMPLETED"]


def test_a_bad_substitution_in_another_tasks_section_does_not_stop_the_run(
    lute_env, work_dir, tmp_path
):
    config = tmp_path / "other.yaml"
    config.write_text(
        config_text(["  x: '{{ no_such_key }}'", "  y: '{{ $NO_SUCH_VAR }}'"], "other")
    )
    done = run_capped(config, lute_env)
    assert done.returncode == 0, done.stderr[-2000:]
    rows = task_rows(work_dir / "lute.db", "Test")
    assert [row["result.task_status"] for row in rows] == ["COMPLETED"]


@pytest.mark.parametrize(
    ("hostile", "where", "message"),
    [
        (alias_bomb, "header", "lol"),
        (alias_bomb, "Tester", "Test.lol"),
        (fan_out, "header", "k"),
        (fan_out, "Tester", "Test.k"),
    ],
    ids=["alias bomb in header", "alias bomb in Tester", "fan-out in header", "fan-out in Tester"],
)
def test_what_this_run_resolves_is_refused_beyond_the_budget(
    lute_env, work_dir, tmp_path, hostile, where, message
):
    config = tmp_path / "hostile.yaml"
    indent = "" if where == "header" else "  "
    config.write_text(config_text(hostile(indent), where))
    done = run_capped(config, lute_env)
    assert_refused(done, work_dir, config)
    assert f"{config}: {message}" in done.stderr
    assert "more than 1,000,000 values and characters" in done.stderr


@pytest.mark.parametrize("where", ["other", "Tester"])
def test_a_list_nested_5000_deep_is_one_line(lute_env, work_dir, tmp_path, where):
    config = tmp_path / "deep.yaml"
    config.write_text(config_text(deep_list("  "), where))
    done = run_capped(config, lute_env)
    assert_refused(done, work_dir, config)
    assert "mappings and lists nest more than 100 deep" in done.stderr


def test_merge_keys_that_multiply_are_refused(lute_env, work_dir, tmp_path):
    config = tmp_path / "merge.yaml"
    config.write_text(config_text(merge_bomb("  "), "other"))
    done = run_capped(config, lute_env)
    assert_refused(done, work_dir, config)
    assert "more than 100,000 YAML values" in done.stderr


def test_a_format_spec_cannot_ask_for_a_gigabyte(lute_env, work_dir, tmp_path):
    config = tmp_path / "wide.yaml"
    config.write_text("title: t\n---\nTest:\n  loops: 1\n  str_var: '{{ loops:>999999999 }}'\n")
    done = run_capped(config, lute_env)
    assert_refused(done, work_dir, config)
    assert "Test.str_var: the format ':>999999999' of loops asks for a longer text" in done.stderr


def test_a_50_mb_file_is_refused_before_it_is_read(lute_env, work_dir, tmp_path):
    config = tmp_path / "huge.yaml"
    line = "  key{}: a value long enough to fill fifty megabytes quickly\n"
    with config.open("w") as out:
        out.write("title: t\n---\nTest:\n  loops: 1\nOther:\n")
        out.writelines(line.format(i) for i in range(800_000))
    assert config.stat().st_size > 50_000_000
    done = run_capped(config, lute_env)
    assert_refused(done, work_dir, config)
    assert "config is larger than 4,194,304 bytes" in done.stderr
    assert "LUTE_CONFIG_MAX_BYTES" in done.stderr


def test_the_size_limit_is_configurable(lute_env, work_dir, tmp_path):
    config = tmp_path / "small.yaml"
    config.write_text("title: t\n---\nTest:\n  loops: 1\n  str_var: '" + "x" * 2000 + "'\n")
    done = run_capped(config, {**lute_env, "LUTE_CONFIG_MAX_BYTES": "1000"})
    assert_refused(done, work_dir, config)
    assert "config is larger than 1,000 bytes" in done.stderr
    done = run_capped(config, {**lute_env, "LUTE_CONFIG_MAX_BYTES": "lots"})
    assert_refused(done, work_dir, config, named=False)
    assert "LUTE_CONFIG_MAX_BYTES='lots' is not valid" in done.stderr


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("1" * 5000, ":4:10: invalid value: Exceeds the limit"),
        ("2024-13-45", ":4:10: invalid value: month must be in 1..12"),
    ],
    ids=["5000-digit integer", "impossible date"],
)
def test_a_value_python_cannot_hold_is_one_line_naming_its_place(
    lute_env, work_dir, tmp_path, value, message
):
    config = tmp_path / "value.yaml"
    config.write_text(f"title: t\n---\nTest:\n  loops: {value}\n")
    done = run_capped(config, lute_env)
    assert_refused(done, work_dir, config)
    assert f"{config}{message}" in done.stderr


def assert_refused(
    done: subprocess.CompletedProcess[str], work_dir: Path, config: Path, named: bool = True
) -> None:
    """Exit 2, one line (naming the file), nothing run or recorded."""
    assert done.returncode == 2, done.stderr[-2000:]
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr[-2000:]
    if named:
        assert str(config) in lines[0]
    assert not (work_dir / "lute.db").exists()
    assert not (work_dir / "logs").exists()
