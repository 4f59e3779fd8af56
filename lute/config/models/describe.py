"""Describe a parameter model for people: one row per parameter, or a YAML section.

Used by ``lute tasks help``. Nested models are expanded into dotted names
(``compound_var.int_var``) so every value a user can set is listed, and the
YAML section is built from the same defaults the model uses, so pasting it
into a config validates and changes nothing.
"""

from __future__ import annotations

import json
import re
import types
import typing
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import to_jsonable_python

from lute.config.models.base import TaskParameters, ThirdPartyParameters
from lute.config.models.command import command_form

HIDDEN = frozenset({"lute_config"})
"""Fields set from the header, not from the Task's section."""
_MODULE_PREFIX = re.compile(r"\b(?:[A-Za-z_]\w*\.)+(?=[A-Za-z_])")


@dataclass(frozen=True)
class ParameterDoc:
    """What a user needs to know to set one parameter.

    Attributes:
        name: Dotted path from the Task's section (``a.b``).
        type: The annotation, written as in Python (``list[str] | None``).
        required: True when the parameter has no default.
        default: The default value, JSON-compatible (``None`` when required).
        description: The field's description, possibly empty.
        command_form: For third-party Tasks, how it appears on the command line.
    """

    name: str
    type: str
    required: bool
    default: Any
    description: str
    command_form: str = ""


def summary_line(model: type[BaseModel]) -> str:
    """The first line of a model's docstring, as plain text for a terminal.

    Model docstrings conventionally open with "Parameters of ``Task``: ...";
    in a listing that names the Task already, only what follows is kept.
    """
    doc = (model.__doc__ or "").strip()
    line = doc.splitlines()[0] if doc else ""
    line = re.sub(r"^Parameters of ``\w+``:\s*", "", line)
    line = line.replace("``", "")
    return line[:1].upper() + line[1:]


def describe_parameters(model: type[TaskParameters]) -> list[ParameterDoc]:
    """One entry per parameter, nested ones after their parent, in field order."""
    return _describe(model, _defaults(model), prefix="")


def yaml_section(task_name: str, model: type[TaskParameters]) -> str:
    """A config section with every parameter at its default, descriptions as comments.

    Required parameters appear as ``null`` with a ``REQUIRED`` comment: the
    section validates once they are filled in.
    """
    lines = [f"{task_name}:"]
    _emit(model, _defaults(model), depth=1, lines=lines)
    return "\n".join(lines) + "\n"


def _fields(model: type[BaseModel]) -> dict[str, FieldInfo]:
    return {name: info for name, info in model.model_fields.items() if name not in HIDDEN}


def _defaults(model: type[BaseModel]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name, info in _fields(model).items():
        if not info.is_required():
            values[name] = to_jsonable_python(info.get_default(call_default_factory=True))
    return values


def _nested_model(info: FieldInfo) -> type[BaseModel] | None:
    """The model class of a field typed ``Model`` or ``Model | None``."""
    annotation = info.annotation
    candidates = (
        typing.get_args(annotation)
        if typing.get_origin(annotation) in (typing.Union, types.UnionType)
        else (annotation,)
    )
    for candidate in candidates:
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    return None


def _type_name(info: FieldInfo) -> str:
    annotation = info.annotation
    text = annotation.__name__ if isinstance(annotation, type) else str(annotation)
    return _MODULE_PREFIX.sub("", text)


def _describe(model: type[BaseModel], values: dict[str, Any], prefix: str) -> list[ParameterDoc]:
    docs: list[ParameterDoc] = []
    for name, info in _fields(model).items():
        value = values.get(name)
        form = ""
        if issubclass(model, ThirdPartyParameters):
            form = command_form(model, name)
        docs.append(
            ParameterDoc(
                name=f"{prefix}{name}",
                type=_type_name(info),
                required=name not in values,
                default=value,
                description=info.description or "",
                command_form=form,
            )
        )
        nested = _nested_model(info)
        if nested is not None:
            inner = value if isinstance(value, dict) else _defaults(nested)
            docs.extend(_describe(nested, inner, prefix=f"{prefix}{name}."))
    return docs


def _emit(model: type[BaseModel], values: dict[str, Any], depth: int, lines: list[str]) -> None:
    pad = "  " * depth
    for name, info in _fields(model).items():
        if info.description:
            lines.append(f"{pad}# {info.description}")
        nested = _nested_model(info)
        value = values.get(name)
        if nested is not None and isinstance(value, dict):
            lines.append(f"{pad}{name}:")
            _emit(nested, value, depth + 1, lines)
        elif name in values:
            lines.append(f"{pad}{name}: {json.dumps(value)}")
        else:
            lines.append(f"{pad}{name}: null  # REQUIRED ({_type_name(info)})")
