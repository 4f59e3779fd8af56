"""The command-line rules of third-party parameters, as a pure function."""

from __future__ import annotations

from typing import ClassVar

import pytest
from pydantic import Field

from lute.config.loader import validate_task_section
from lute.config.models import tests as models
from lute.config.models.base import ThirdPartyParameters
from lute.config.models.command import build_command, command_form
from lute.core.exceptions import ConfigurationError


def make(model, **values):
    return model.model_validate({"lute_config": {"work_dir": "/tmp/w"}, **values})


def test_every_flag_form_in_order():
    params = make(
        models.TestThirdPartyParameters,
        executable="prog",
        n=3,
        num_events=10,
        out_file="out.h5",
        geom="det.geom",
        mode="fast",
        verbose=True,
        threads=4,
        j=2,
        files=["a.h5", "b.h5"],
        include=["x", "y"],
        p_arg2="second",
        p_arg1="first",
        extra_flag="e",
        x=1,
    )
    assert build_command(params) == [
        "prog",
        "-n", "3",
        "--num_events", "10",
        "--output", "out.h5",
        "-geom", "det.geom",
        "fast",
        "--verbose",
        "--threads=4",
        "-j=2",
        "--files", "a.h5", "b.h5",
        "-I", "x", "-I", "y",
        "--extra_flag", "e",
        "-x", "1",
        "first", "second",
    ]  # fmt: skip


def test_none_false_and_empty_are_left_out():
    params = make(
        models.TestThirdPartyParameters, executable="prog", verbose=False, mode="", files=[]
    )
    assert build_command(params) == ["prog"]


def test_model_wide_eq_forms_and_eq_lists():
    class EqParameters(ThirdPartyParameters):
        long_flags_use_eq: ClassVar[bool] = True
        short_flags_use_eq: ClassVar[bool] = True

        executable: str = "prog"
        k: int = 1
        level: int = 2
        names: list[str] = Field(default_factory=lambda: ["a", "b"])
        tags: list[str] = Field(
            default_factory=lambda: ["t1", "t2"], json_schema_extra={"repeat_flag": True}
        )
        plain: str = Field("p", json_schema_extra={"flag_type": ""})

    assert build_command(make(EqParameters)) == [
        "prog",
        "-k=1",
        "--level=2",
        "--names=a,b",
        "--tags=t1",
        "--tags=t2",
        "p",
    ]


def test_a_mapping_cannot_be_a_flag_and_the_error_names_it():
    with pytest.raises(ConfigurationError, match="parameter 'geometry' is a mapping"):
        validate_task_section(
            "cfg.yaml",
            "TestThirdParty",
            models.TestThirdPartyParameters,
            {},
            {"TestThirdParty": {"geometry": {"a": 1}}},
            environ={},
        )


def test_template_parameters_and_extras_stay_off_the_command_line():
    params = make(models.TestTemplateParameters, executable="prog", gain=3, p_arg1="in.yaml")
    assert build_command(params) == ["prog", "in.yaml"]
    assert params.template_context()["gain"] == 3
    assert params.template_context()["detector"] == "jungfrau4M"


def test_command_form_for_help():
    assert command_form(models.TestThirdPartyParameters, "out_file") == "--output VALUE"
    assert command_form(models.TestThirdPartyParameters, "verbose") == "--verbose"
    assert command_form(models.TestThirdPartyParameters, "p_arg2") == "positional argument 2"
    assert command_form(models.TestThirdPartyParameters, "executable") == ""


def test_lute_import_path_of_both_task_bases():
    from lute.tasks import base, task, third_party

    assert task.ThirdPartyTask is third_party.ThirdPartyTask
    assert task.Task is base.Task
