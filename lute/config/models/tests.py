"""Parameter models of the built-in test Tasks, which run on any machine."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

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
    """Parameters of ``TestSocket``: sends numpy arrays to the Executor.

    LUTE's names and defaults (``array_size`` values per array, 10 arrays);
    ``array_size_mb`` is lute's way to say the same in megabytes.
    """

    array_size: int = Field(10000, ge=1, description="Values (float64) in each array.")
    num_arrays: int = Field(10, ge=1, description="How many arrays to send.")
    array_size_mb: float | None = Field(
        None, gt=0, description="Size of each array in MB; sets array_size (give one of them)."
    )

    @model_validator(mode="before")
    @classmethod
    def _size_in_megabytes(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("array_size_mb") is not None:
            if data.get("array_size") is not None:
                raise ValueError("give array_size (values) or array_size_mb, not both")
            data = {**data, "array_size": max(1, int(float(data["array_size_mb"]) * 1e6) // 8)}
        return data


class TestWriteOutputParameters(TaskParameters):
    """Parameters of ``TestWriteOutput``: writes numbers to a text file, its result.

    LUTE's names: ``outfile_name`` is relative to the work dir (an absolute
    path is used as it is) and is the column LUTE's readers look up.
    ``out_file`` (lute's name) is the full path: given, it names the file;
    otherwise it is filled in, so both columns are recorded.
    """

    outfile_name: str = Field(
        "test_output.txt", description="File to write, relative to the work dir."
    )
    num_vals: int = Field(
        100,
        ge=0,
        description="How many values to write, one per line (num_lines is accepted too).",
        validation_alias=AliasChoices("num_vals", "num_lines"),
    )
    out_file: str | None = Field(
        None,
        description="Full path of the file; default <work_dir>/<outfile_name>.",
        validate_default=True,
        json_schema_extra={"is_result": True},
    )

    @model_validator(mode="before")
    @classmethod
    def _one_name(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("out_file") is not None:
            if data.get("outfile_name") not in (None, data["out_file"]):
                raise ValueError("give outfile_name or out_file, not both")
            data = {**data, "outfile_name": data["out_file"]}
        if isinstance(data, dict) and "num_vals" in data and "num_lines" in data:
            raise ValueError("give num_vals or num_lines, not both")
        return data

    @field_validator("out_file")
    @classmethod
    def _full_path(cls, out_file: str | None, info: ValidationInfo) -> str | None:
        header, name = info.data.get("lute_config"), info.data.get("outfile_name")
        if header is None or name is None:
            return out_file  # already reported as invalid
        return str(Path(header.work_dir) / name)


class TestReadOutputParameters(TaskParameters):
    """Parameters of ``TestReadOutput``: reads what ``TestWriteOutput`` wrote.

    With no ``in_file`` (LUTE's ``""`` or lute's ``null``), the file is found
    in the run database: the latest valid ``outfile_name`` of
    ``TestWriteOutput``, relative to the work dir, as LUTE does.
    """

    in_file: str = Field(
        "", description="File to read; default from the DB.", validate_default=True
    )

    @field_validator("in_file", mode="before")
    @classmethod
    def _none_is_empty(cls, in_file: Any) -> Any:
        return "" if in_file is None else in_file

    @field_validator("in_file")
    @classmethod
    def _find_in_file(cls, in_file: str, info: ValidationInfo) -> str:
        header = info.data.get("lute_config")
        if in_file != "" or header is None:
            return in_file
        from lute.db.latest import read_latest_db_entry  # noqa: PLC0415 (heavy; only when needed)

        found = read_latest_db_entry(header.work_dir, "TestWriteOutput", "outfile_name")
        if found is None:
            found = read_latest_db_entry(header.work_dir, "TestWriteOutput", "out_file")
        if found is None:
            raise ValueError(
                "no in_file given and no valid TestWriteOutput run with an"
                f" outfile_name in the database of {header.work_dir}"
            )
        return str(Path(header.work_dir) / str(found))


_HELLO = 'echo "Hello from a third-party program"; echo "to stderr" >&2'
_FAIL = 'echo "This program is about to fail" >&2; exit 7'


class TestBinaryParameters(ThirdPartyParameters):
    """Runs a program; by default ``sh -c`` with a script that prints and succeeds.

    As in LUTE, ``p_arg1`` may be a number (LUTE's test program takes its
    thread count). lute's default script is the argument of lute's default
    program only: with another ``executable``, only the arguments given are
    passed (LUTE's default ``p_arg1`` is 1).
    """

    default_script: ClassVar[str] = _HELLO

    executable: str = "sh"
    p_arg1: int | str | None = Field(None, description="First argument: -c, or a thread count.")
    p_arg2: str | None = Field(None, description="Second argument: the script sh runs.")

    @model_validator(mode="before")
    @classmethod
    def _defaults_for_the_program(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        data = dict(data)
        if data.get("executable") in (None, "sh"):
            data.setdefault("p_arg1", "-c")
            data.setdefault("p_arg2", cls.default_script)
        else:
            data.setdefault("p_arg1", 1)
        return data


class TestBinaryErrParameters(TestBinaryParameters):
    """As ``TestBinary``, but the default script prints and exits with status 7."""

    default_script: ClassVar[str] = _FAIL


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
        None, description="Positional, in field order: VALUE.", json_schema_extra={"flag_type": ""}
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
