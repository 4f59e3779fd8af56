"""Parameter models written for LUTE (pydantic 1 idioms), unchanged.

The first-party model follows LUTE's "Creating a First-Party Task" steps;
the third-party one its ``RunTask``/``RunTask2`` examples: an inner
``Config``, ``Field`` attributes (``flag_type``, ``rename_param``,
``is_result``), ``validator``s that read ``values``, ``Optional`` fields
without a default, and a result set through ``Config.result_from_params``.
"""

from typing import Any, Dict, Optional

from pydantic import Field, validator

from lute.io.models.base import *  # noqa: F403 (LUTE's template imports so)


class RunTaskParameters(TaskParameters):  # noqa: F405
    """Parameters for RunTask, which writes numbers to a file in the work dir."""

    class Config(TaskParameters.Config):  # noqa: F405
        set_result: bool = True
        result_from_params: str = ""
        impl_schemas: str = "lute_style.numbers"

    out_name: str = Field("numbers.txt", description="File name, in the work dir.")
    count: int = Field(5, description="How many numbers to write.")
    label: Optional[str] = Field(description="A label; defaults to the experiment.")

    @validator("label", always=True)
    def validate_label(cls, label: Optional[str], values: Dict[str, Any]) -> str:
        if label is None:
            return values["lute_config"].experiment
        return label

    @validator("count", always=True)
    def define_result(cls, count: int, values: Dict[str, Any]) -> int:
        cls.Config.result_from_params = f"{values['lute_config'].work_dir}/{values['out_name']}"
        return count


class RunTask2Parameters(ThirdPartyParameters):  # noqa: F405
    """Parameters for the runtask2 binary."""

    class Config(ThirdPartyParameters.Config):  # noqa: F405
        set_result: bool = True
        long_flags_use_eq: bool = True

    executable: str = Field("runtask2", description="Runtask Binary v2.0")
    in_file: str = Field("", description="Input file.", flag_type="")
    num_threads: int = Field(
        1, description="Number of concurrent threads.", flag_type="-", rename_param="n"
    )
    method: str = Field("algo1", description="Algorithm to use.", flag_type="--")
    method_param1: Optional[int] = Field(
        description="Modify method performance.", flag_type="-", rename_param="p"
    )
    debug: bool = Field(False, description="Whether to run in debug mode.", flag_type="--")
    output: str = Field(
        description="Path to write output to.",
        flag_type="-",
        rename_param="o",
        is_result=True,
    )

    @validator("method")
    def validate_method(cls, method: str, values: Dict[str, Any]) -> str:
        if method not in ["algo1", "algo2"]:
            raise ValueError("method must be algo1 or algo2")
        return method

    @validator("method_param1", always=True)
    def validate_method_param1(cls, param1: Optional[int], values: Dict[str, Any]) -> int:
        if param1 is not None:
            return param1
        return 3 if values["method"] == "algo1" else 5
