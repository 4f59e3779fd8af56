"""Base parameter models: the shared header and the per-Task parameter sets."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, ClassVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    computed_field,
    field_validator,
    model_validator,
)

from lute.config.models.command import build_command, shell_form
from lute.config.models.lute_style import LuteConfig, ParametersMetaclass, ThirdPartyLuteConfig
from lute.core.workdir import (  # noqa: F401 (the constants are re-exported from here)
    DEFAULT_WORK_DIR,
    ENV_WORK_DIR,
    default_work_dir,
)


class AnalysisHeader(BaseModel):
    """The first YAML document: settings shared by every Task of a config.

    ``experiment`` and ``run`` fall back to the ``EXPERIMENT`` and ``RUN_NUM``
    environment variables, which the facility's job system sets. The job
    system (ARP) writes ``RUN_NUM`` as ``<run>_<time>``; the run is the
    number before the first ``_``, as in LUTE.
    """

    model_config = ConfigDict(extra="forbid", coerce_numbers_to_str=True)

    title: str = "LUTE Task Configuration"
    experiment: str = ""
    run: int | str = ""
    date: str = ""
    lute_version: str | float = ""
    task_timeout: float | None = Field(
        600, gt=0, description="Seconds a Task may run before it is stopped."
    )
    work_dir: str = Field(
        default_factory=default_work_dir,
        description="Directory for outputs, logs and the default database.",
    )
    db_url: str | None = Field(
        None, description="SQLAlchemy URL of the run database (LUTE_DB_URL wins)."
    )

    @model_validator(mode="before")
    @classmethod
    def _fill_from_environment(cls, data: Any) -> Any:
        if isinstance(data, dict):
            data = dict(data)
            if not data.get("experiment"):
                data["experiment"] = os.environ.get("EXPERIMENT", "")
            if data.get("run") in (None, ""):
                data["run"] = run_from_job_system(os.environ.get("RUN_NUM", ""))
            if not data.get("work_dir"):
                data["work_dir"] = default_work_dir()
            if isinstance(data.get("date"), (int, float)) or hasattr(data.get("date"), "isoformat"):
                data["date"] = str(data["date"])
        return data

    @field_validator("run")
    @classmethod
    def _run_number(cls, run: int | str) -> int | str:
        """``"12"`` (as ``run: "{{ $RUN }}"`` gives) is the run 12; ``"0012"`` stays text."""
        if isinstance(run, str) and run.isascii() and run.isdigit() and str(int(run)) == run:
            return int(run)
        return run

    @model_validator(mode="after")
    def _absolute_work_dir(self) -> AnalysisHeader:
        self.work_dir = str(Path(self.work_dir).expanduser().resolve())
        return self


def run_from_job_system(value: str) -> int | str:
    """The run number in ``RUN_NUM``: ``12`` from ``12`` or from ARP's ``12_2024-05-01T00:00:00``.

    Anything else is returned as it is, and the header keeps it as text.
    """
    head = value.split("_", 1)[0]
    return int(head) if head.isdigit() and head.isascii() else value


class TaskParameters(BaseModel, metaclass=ParametersMetaclass):
    """Parameters of a first-party Task: unknown keys are errors.

    A model may name its result in one of two ways, read by the Executor when
    the Task starts: mark one field with ``json_schema_extra={"is_result":
    True}``, or set ``self._result_from_params`` in a validator when the
    result combines several parameters.
    """

    model_config = ConfigDict(extra="forbid", validate_assignment=True, coerce_numbers_to_str=True)

    impl_schemas: ClassVar[str | None] = None
    """Schemas the result follows, copied to ``TaskResult.impl_schemas``."""
    declares_lute_config: ClassVar[bool] = False
    """Whether the model (or a base) has a LUTE-style inner ``Config``, whose
    ``set_result`` then decides whether the parameters name the result."""

    lute_config: AnalysisHeader
    _result_from_params: Any = PrivateAttr(default=None)

    def result_from_parameters(self) -> Any:
        """The result these parameters declare, or ``None`` if they declare none."""
        if self._result_from_params is not None:
            return self._result_from_params
        if self.declares_lute_config:
            config = type(self).Config
            if not config.set_result:
                return None
            if config.result_from_params not in (None, ""):
                return config.result_from_params
        for name, info in type(self).model_fields.items():
            extra = info.json_schema_extra
            if isinstance(extra, dict) and extra.get("is_result") is True:
                return getattr(self, name)
        return None


class TemplateConfig(BaseModel):
    """A config file a third-party Task renders from a jinja2 template before it runs.

    The template is searched for in ``template_dir`` (if given), then in each
    directory of ``$LUTE_TEMPLATE_DIR``, then in lute's ``config/templates/``.
    """

    model_config = ConfigDict(extra="forbid")

    template_name: str = Field(description="Template file name, relative to the search path.")
    output_path: str | None = Field(
        None, description="Where to write the rendered file; default <work_dir>/<template name>."
    )
    template_dir: str | None = Field(None, description="Directory searched first for the template.")


class ThirdPartyParameters(TaskParameters):
    """Parameters of a Task that runs an external program.

    Unknown keys are allowed: they become flags, or, when the model renders a
    config template (``lute_template_cfg``), template variables. lute cannot
    know every option of every program. How each field becomes part of the
    command line is described in ``lute.config.models.command``; the command is
    validated with the parameters and recorded as ``lute_command``.
    """

    model_config = ConfigDict(extra="allow", validate_assignment=True)

    long_flags_use_eq: ClassVar[bool] = False
    """Default form of ``--name`` flags: ``--name=value`` when True."""
    short_flags_use_eq: ClassVar[bool] = False
    """Default form of ``-n`` flags: ``-n=value`` when True."""

    executable: str = Field(description="Program to run (a path or a name on PATH).")
    lute_template_cfg: TemplateConfig | None = Field(
        None, description="Config file to render from a template before the program runs."
    )

    @model_validator(mode="before")
    @classmethod
    def _reject_reserved(cls, data: Any) -> Any:
        if isinstance(data, dict) and "lute_command" in data:
            raise ValueError("lute_command is set by lute from the other parameters; remove it")
        return data

    @model_validator(mode="after")
    def _check_command(self) -> ThirdPartyParameters:
        template = self.lute_template_cfg
        if template is not None and template.output_path is None:
            name = Path(template.template_name).name
            template.output_path = str(Path(self.lute_config.work_dir) / name)
        build_command(self)
        return self

    @computed_field  # type: ignore[prop-decorator]
    @property
    def lute_command(self) -> str:
        """The command line these parameters run, as a shell would quote it."""
        return shell_form(self)

    def template_context(self) -> dict[str, Any]:
        """Variables a config template sees: every parameter and ``lute_config``."""
        return self.model_dump(mode="json", exclude={"lute_template_cfg", "lute_command"})


TaskParameters.Config = LuteConfig  # type: ignore[attr-defined]
ThirdPartyParameters.Config = ThirdPartyLuteConfig  # type: ignore[attr-defined]
"""What a LUTE model's ``class Config(TaskParameters.Config)`` derives from."""
