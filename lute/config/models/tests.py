"""Parameter models of the built-in test Tasks, which run on any machine."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

from lute.config.models.base import TaskParameters, TemplateConfig, ThirdPartyParameters


class CompoundVar(BaseModel):
    """A nested parameter, to exercise nested keys and flattened columns."""

    model_config = ConfigDict(extra="forbid")

    int_var: int = Field(1, description="An integer inside a nested parameter.")
    dict_var: dict[str, str] = Field(
        default_factory=lambda: {"a": "b"}, description="A mapping inside a nested parameter."
    )


class TestParameters(TaskParameters):
    """Parameters of ``Test``: a Task that loops and reports."""

    float_var: float = Field(0.01, description="A number, reported in the result.")
    str_var: str = Field("test", description="A string, reported in the result.")
    compound_var: CompoundVar = Field(
        default_factory=CompoundVar, description="A nested parameter."
    )
    loops: int = Field(3, ge=0, description="How many progress messages to send.")
    throw_error: bool = Field(False, description="Raise an exception after looping.")


class TestSocketParameters(TaskParameters):
    """Parameters of ``TestSocket``: sends numpy arrays to the Executor."""

    array_size_mb: float = Field(1.0, gt=0, description="Size of each array in MB.")
    num_arrays: int = Field(2, ge=1, description="How many arrays to send.")


class TestWriteOutputParameters(TaskParameters):
    """Parameters of ``TestWriteOutput``: writes a text file, its result."""

    out_file: str | None = Field(
        None,
        description="File to write; default <work_dir>/test_output.txt.",
        json_schema_extra={"is_result": True},
    )
    num_lines: int = Field(10, ge=0)

    @model_validator(mode="after")
    def _default_out_file(self) -> TestWriteOutputParameters:
        if self.out_file is None:
            self.out_file = str(Path(self.lute_config.work_dir) / "test_output.txt")
        return self


class TestReadOutputParameters(TaskParameters):
    """Parameters of ``TestReadOutput``: reads what ``TestWriteOutput`` wrote.

    With no ``in_file``, the file is found in the run database: the latest
    valid ``out_file`` of ``TestWriteOutput``.
    """

    in_file: str | None = Field(None, description="File to read; default from the DB.")

    @model_validator(mode="after")
    def _find_in_file(self) -> TestReadOutputParameters:
        if self.in_file is None:
            from lute.db.latest import read_latest_db_entry  # noqa: PLC0415 (heavy; only when needed)

            found = read_latest_db_entry(self.lute_config.work_dir, "TestWriteOutput", "out_file")
            if found is None:
                raise ValueError(
                    "no in_file given and no valid TestWriteOutput run with an"
                    f" out_file in the database of {self.lute_config.work_dir}"
                )
            self.in_file = str(found)
        return self


class TestBinaryParameters(ThirdPartyParameters):
    """Runs ``sh -c`` with a script that prints and succeeds."""

    executable: str = "sh"
    p_arg1: str = "-c"
    p_arg2: str = 'echo "Hello from a third-party program"; echo "to stderr" >&2'


class TestBinaryErrParameters(ThirdPartyParameters):
    """Runs ``sh -c`` with a script that prints and exits with status 7."""

    executable: str = "sh"
    p_arg1: str = "-c"
    p_arg2: str = 'echo "This program is about to fail" >&2; exit 7'


class TestThirdPartyParameters(ThirdPartyParameters):
    """Runs a program with one parameter of every command-line form (echo by default)."""

    impl_schemas: ClassVar[str | None] = "lute.test.argv"

    executable: str = "echo"
    n: int | None = Field(None, description="Short flag: -n N.")
    num_events: int | None = Field(None, description="Long flag: --num_events N.")
    out_file: str | None = Field(
        None,
        description="Renamed flag --output FILE; also the run's result.",
        json_schema_extra={"rename_param": "output", "is_result": True},
    )
    geom: str | None = Field(
        None, description="Long name, one dash: -geom FILE.", json_schema_extra={"flag_type": "-"}
    )
    mode: str | None = Field(
        None, description="No dashes: mode VALUE.", json_schema_extra={"flag_type": ""}
    )
    verbose: bool = Field(False, description="Switch: --verbose when true.")
    threads: int | None = Field(
        None, description="Long flag with '=': --threads=N.", json_schema_extra={"use_eq": True}
    )
    j: int | None = Field(
        None, description="Short flag with '=': -j=N.", json_schema_extra={"use_eq": True}
    )
    files: list[str] = Field(default_factory=list, description="List after one flag: --files A B.")
    include: list[str] = Field(
        default_factory=list,
        description="List with the flag repeated: -I A -I B.",
        json_schema_extra={"rename_param": "I", "repeat_flag": True},
    )
    p_arg1: str | None = Field(None, description="First positional argument.")
    p_arg2: str | None = Field(None, description="Second positional argument.")


class TestTemplateParameters(ThirdPartyParameters):
    """Renders test_template.yaml, then runs a program on it (cat by default)."""

    impl_schemas: ClassVar[str | None] = "lute.test.template"

    executable: str = "cat"
    lute_template_cfg: TemplateConfig | None = Field(
        default_factory=lambda: TemplateConfig(template_name="test_template.yaml"),
        description="The config file to render.",
    )
    detector: str = Field(
        "jungfrau4M",
        description="Detector name, written to the config file.",
        json_schema_extra={"template_param": True},
    )
    threshold: float = Field(
        10.0,
        description="Photon threshold (keV), written to the config file.",
        json_schema_extra={"template_param": True},
    )
    panels: list[str] = Field(
        default_factory=lambda: ["p0", "p1"],
        description="Detector panels to use, written to the config file.",
        json_schema_extra={"template_param": True},
    )
    p_arg1: str | None = Field(
        None, description="File the program reads; default: the rendered config file."
    )

    @model_validator(mode="after")
    def _read_rendered_config(self) -> TestTemplateParameters:
        template = self.lute_template_cfg
        if template is not None:
            if self.p_arg1 is None:
                self.p_arg1 = template.output_path
            self._result_from_params = {
                "config": template.output_path,
                "detector": self.detector,
            }
        return self


class TestElogParameters(TaskParameters):
    """Parameters of ``TestElog``: a summary dict and an eLog report as its result."""

    display_name: str = Field("lute_test_report", description="Name of the eLog report.")
    use_figure: bool = Field(
        False, description="Return a figure object with save(path) instead of HTML text."
    )
