"""What the serial-crystallography (SFX) parameter models share.

The SFX models (``sfx_index``, ``sfx_merge``, ``sfx_solve``) reproduce
LUTE's: the same Task and parameter names, defaults and command-line forms,
so a LUTE configuration drives the same programs the same way. Their
programs take dozens of options, declared here in one line each:
``short("i", ...)`` is ``-i VALUE``, ``long("int-radius", ...)`` is
``--int-radius VALUE`` (``=`` where the model says so), ``positional(...)``
the value alone where the field is declared.

Many defaults come from the run database, as in LUTE: the merger reads the
concatenated stream recorded by the concatenator, and so on down the chain
(``latest``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationInfo

FACILITY_TOOLS = "/sdf/group/lcls/ds/tools"
"""Where LUTE finds the SFX programs at SLAC; the managed tasks put it on the program's PATH."""


def short(
    flag: str,
    default: Any = None,
    description: str = "",
    *,
    validate: bool = False,
    gt: float | None = None,
    **extra: Any,
) -> Any:
    """A ``-flag VALUE`` option.

    Args:
        flag: The option's name on the command line.
        default: Its default (``...``: required).
        description: What it does.
        validate: Run the field's validators on the default too (defaults
            read from the database need it).
        gt: The value must be greater than this.
        **extra: More command-line rules (``lute.config.models.command``).
    """
    return Field(
        default,
        description=description,
        validate_default=validate,
        gt=gt,
        json_schema_extra={"flag_type": "-", "rename_param": flag, **extra},
    )


def long(
    flag: str,
    default: Any = None,
    description: str = "",
    *,
    validate: bool = False,
    gt: float | None = None,
    **extra: Any,
) -> Any:
    """A ``--flag VALUE`` option (``--flag=VALUE`` when the model's long flags use ``=``)."""
    return Field(
        default,
        description=description,
        validate_default=validate,
        gt=gt,
        json_schema_extra={"flag_type": "--", "rename_param": flag, **extra},
    )


def positional(
    default: Any = "", description: str = "", *, validate: bool = False, **extra: Any
) -> Any:
    """A positional argument, placed where the field is declared."""
    return Field(
        default,
        description=description,
        validate_default=validate,
        json_schema_extra={"flag_type": "", **extra},
    )


def default_threads() -> int:
    """LUTE's default thread count: the cores SLURM gave the job (else this process's), less one."""
    cores = os.environ.get("SLURM_NPROCS") or len(os.sched_getaffinity(0))
    return max(int(cores) - 1, 1)


def latest(info: ValidationInfo, task: str, param: str, valid_only: bool = True) -> Any:
    """The latest recorded ``param`` of ``task`` in this config's database, or ``None``."""
    header = info.data.get("lute_config")
    if header is None:
        return None
    from lute.db.latest import read_latest_db_entry  # noqa: PLC0415 (SQLAlchemy only when asked)

    return read_latest_db_entry(header.work_dir, task, param, valid_only, db_url=header.db_url)


def without_extension(path: str) -> str:
    """``path`` without its file's extension (``/d.x/r12.stream`` -> ``/d.x/r12``).

    LUTE cuts at the first ``.`` of the whole path, which a directory named
    ``x.y`` breaks; lute cuts the file name's extension only.
    """
    file = Path(path)
    return str(file.with_name(file.name.split(".", 1)[0]))
