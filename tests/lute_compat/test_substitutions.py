"""LUTE's substitution habits work: numbers from the environment, ARP run numbers.

LUTE formats text that is a number as the number, so its configs use
``{{ $RUN:04d }}`` and, with ``run: "{{ $RUN }}"`` in the header,
``{{ run:04d }}``. lute does the same where the text is exactly a number's
(zero-padded text keeps its zeros) and stays stricter where LUTE hides a
mistake: an unset environment variable is an error, not a literal.
"""

from __future__ import annotations

import pytest
import yaml
from conftest import run_lute

from lute.config.loader import load_documents, load_header, load_task_parameters
from lute.config.models.tests import CompoundVar
from lute.config.models.tests import TestParameters as TParams
from lute.core.exceptions import ConfigurationError

HEADER = 'title: t\nexperiment: "{{ $EXPERIMENT }}"\nrun: "{{ $RUN }}"\nwork_dir: "{{ $WORK }}"\n'


@pytest.fixture
def lute_vars(monkeypatch, tmp_path):
    monkeypatch.setenv("EXPERIMENT", "mfxp1001")
    monkeypatch.setenv("RUN", "12")
    monkeypatch.setenv("WORK", str(tmp_path))
    monkeypatch.delenv("RUN_NUM", raising=False)
    return tmp_path


def write(tmp_path, text):
    path = tmp_path / "cfg.yaml"
    path.write_text(text)
    return path


def test_numbers_from_the_environment_format_and_type_as_in_lute(lute_vars):
    path = write(
        lute_vars,
        HEADER
        + "---\nTest:\n"
        + '  str_var: "{{ experiment }}_r{{ run:04d }}_{{ $RUN:04d }}_{{ lute_config.run:03d }}"\n'
        + '  loops: "{{ $RUN }}"\n'
        + '  float_var: "{{ $HALF }}"\n'
        + "  compound_var:\n"
        + '    dict_var: {padded: "{{ $PADDED }}", plain: "{{ $RUN }}"}\n',
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HALF", "0.5")
        patch.setenv("PADDED", "0007")
        _, sections = load_documents(path, "Test")
        params = load_task_parameters(path, "Test", TParams)
    assert sections["Test"]["loops"] == "12"  # text, converted by the model
    assert params.lute_config.run == 12
    assert params.str_var == "mfxp1001_r0012_0012_012"
    assert (params.loops, params.float_var) == (12, 0.5)
    assert params.compound_var == CompoundVar(dict_var={"padded": "0007", "plain": "12"})


def test_text_written_without_a_substitution_is_never_retyped(lute_vars):
    path = write(lute_vars, HEADER + '---\nTest:\n  str_var: "0012"\n  compound_var: {}\n')
    _, sections = load_documents(path, "Test")
    assert sections["Test"]["str_var"] == "0012"


def test_arp_run_numbers_give_the_run(lute_vars, monkeypatch):
    monkeypatch.setenv("RUN_NUM", "12_2024-05-01T00:00:00")
    path = write(
        lute_vars, f"title: t\nwork_dir: {lute_vars}\n---\nTest:\n  str_var: r{{{{ run:04d }}}}\n"
    )
    assert load_header(path).run == 12
    assert load_task_parameters(path, "Test", TParams).str_var == "r0012"


def test_an_unset_environment_variable_stays_an_error(lute_vars, monkeypatch):
    monkeypatch.delenv("RUN")
    path = write(lute_vars, HEADER + "---\nTest: {}\n")
    with pytest.raises(ConfigurationError, match=r"run: environment variable RUN is not set"):
        load_header(path)


def test_lute_run_formats_the_header_run(lute_env, tmp_path):
    config = write(tmp_path, HEADER + '---\nTest:\n  str_var: "r{{ run:04d }}"\n')
    env = {**lute_env, "EXPERIMENT": "mfxp1001", "RUN": "7", "WORK": str(tmp_path)}
    done = run_lute(
        ["run", "-t", "Tester", "-c", str(config)], {**env, "LUTE_DEBUG_EXIT_AT_YAML": "1"}
    )
    assert done.returncode == 0, done.stderr
    printed = yaml.safe_load(done.stdout)["Test"]
    assert printed["str_var"] == "r0007"
    assert printed["lute_config"]["run"] == 7
