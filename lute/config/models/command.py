"""How the parameters of a third-party Task become a command line.

The rules live here, apart from the Task that ``exec``s the program, so that
validation (which rejects parameters no command line can hold), the run
record (which stores the command) and the Task all use the same function.

Per field, ``json_schema_extra`` keys control the form:

* ``flag_type``: ``"-"``, ``"--"``, or ``""`` for a positional argument
  (the value alone, where the field is declared), as in LUTE. Default:
  ``"-"`` for one-letter names, ``"--"`` otherwise.
* ``rename_param``: the flag's name when it differs from the field's.
* ``use_eq``: ``--name=value`` (or ``-n=value``) instead of two arguments.
  A model sets the default for all its fields with the class variables
  ``long_flags_use_eq`` / ``short_flags_use_eq``.
* ``repeat_flag``: for lists, the flag before every value
  (``-I a -I b``) instead of once before all of them (``--files a b``).
* ``template_param``: the value goes only to the config template, never to
  the command line.
* ``split``: a text value is split at white space into several arguments
  (LUTE splits every value so; lute only where a field asks, so a path
  with a space stays one argument).
* ``stdin``: the value is a file the program reads on its standard input
  (``shelxc xx < in.xds``), not an argument; a leading ``<``, as LUTE
  writes it, is dropped.

Fields named ``p_arg1``, ``p_arg2``, ... are positional arguments, placed in
that order after all flags. ``True`` gives a bare switch, ``False``, ``None``
and empty values leave the parameter out.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

if TYPE_CHECKING:
    from lute.config.models.base import ThirdPartyParameters

NOT_ON_COMMAND_LINE = frozenset({"executable", "lute_config", "lute_template_cfg"})
"""Fields that configure the run rather than the program."""
FLAG_TYPES = ("-", "--", "")


def field_options(model: type[ThirdPartyParameters], name: str) -> dict[str, Any]:
    """The ``json_schema_extra`` options of field ``name`` (empty for extras)."""
    info = model.model_fields.get(name)
    extra = info.json_schema_extra if info is not None else None
    return dict(extra) if isinstance(extra, Mapping) else {}


def positional_index(name: str) -> int | None:
    """N for a field named ``p_argN``, else ``None``."""
    if name.startswith("p_arg") and name[5:].isdigit():
        return int(name[5:])
    return None


def is_template_parameter(params: ThirdPartyParameters, name: str) -> bool:
    """Whether ``name`` goes to the config template instead of the command line.

    Declared fields opt in with ``template_param``; undeclared (extra) keys
    do whenever the model renders a template, since they cannot be flags of
    a program that reads its options from that file.
    """
    if field_options(type(params), name).get("template_param") is True:
        return True
    declared = name in type(params).model_fields
    return not declared and params.lute_template_cfg is not None


def build_command(params: ThirdPartyParameters) -> list[str]:
    """The argument vector that runs ``params.executable``: program first.

    Raises:
        ValueError: A parameter cannot be written on a command line (a
            mapping, or an unknown ``flag_type``); the message names it.
    """
    positional: list[tuple[int, list[str]]] = []
    flags: list[str] = []
    values = {name: getattr(params, name) for name in type(params).model_fields}
    values.update(params.model_extra or {})
    for name, value in values.items():
        options = field_options(type(params), name)
        if name in NOT_ON_COMMAND_LINE or is_template_parameter(params, name) or "stdin" in options:
            continue
        if _is_empty(value) or value is False:
            continue
        if isinstance(value, (Mapping, BaseModel)):
            raise ValueError(
                f"parameter '{name}' is a mapping and cannot be a command-line argument;"
                " mark it json_schema_extra={'template_param': True} or use a template"
            )
        rendered = [str(v) for v in value] if isinstance(value, (list, tuple)) else [str(value)]
        if options.get("split") and isinstance(value, str):
            rendered = value.split()
        index = positional_index(name)
        if index is not None:
            positional.append((index, rendered))
        elif options.get("flag_type") == "":
            flags.extend(rendered)
        else:
            flags.extend(_flag_arguments(type(params), name, value, rendered))
    args = [arg for _, group in sorted(positional, key=lambda item: item[0]) for arg in group]
    return [params.executable, *flags, *args]


def stdin_file(params: ThirdPartyParameters) -> str | None:
    """The file the program reads on its standard input, if a field names one."""
    for name in type(params).model_fields:
        if field_options(type(params), name).get("stdin"):
            value = getattr(params, name)
            path = str(value).removeprefix("<").strip() if value else ""
            return path or None
    return None


def shell_form(params: ThirdPartyParameters) -> str:
    """The command as a shell would run it: quoted, with ``< FILE`` for standard input."""
    stdin = stdin_file(params)
    command = shlex.join(build_command(params))
    return f"{command} < {shlex.quote(stdin)}" if stdin else command


def command_form(model: type[ThirdPartyParameters], name: str) -> str:
    """How field ``name`` appears on the command line, for help texts."""
    if name in NOT_ON_COMMAND_LINE:
        return ""
    if field_options(model, name).get("template_param") is True:
        return "template variable"
    if field_options(model, name).get("stdin"):
        return "standard input: < VALUE"
    index = positional_index(name)
    if index is not None:
        return f"positional argument {index}"
    if field_options(model, name).get("flag_type") == "":
        return "positional argument, where the field is declared"
    annotation = model.model_fields[name].annotation
    value: Any = True if annotation is bool else "VALUE"
    return " ".join(_flag_arguments(model, name, value, ["VALUE"]))


def _flag_arguments(
    model: type[ThirdPartyParameters], name: str, value: Any, rendered: list[str]
) -> list[str]:
    options = field_options(model, name)
    flag_name = str(options.get("rename_param", name))
    dashes = options.get("flag_type", "-" if len(flag_name) == 1 else "--")
    if dashes not in FLAG_TYPES:
        raise ValueError(
            f"parameter '{name}': flag_type {dashes!r} is not one of"
            f" {', '.join(map(repr, FLAG_TYPES))}"
        )
    flag = f"{dashes}{flag_name}"
    if value is True:
        return [flag]
    eq_default = model.short_flags_use_eq if dashes == "-" else model.long_flags_use_eq
    use_eq = bool(options.get("use_eq", eq_default and dashes != ""))
    if options.get("repeat_flag"):
        if use_eq:
            return [f"{flag}={item}" for item in rendered]
        return [arg for item in rendered for arg in (flag, item)]
    if use_eq:
        return [f"{flag}={','.join(rendered)}"]
    return [flag, *rendered]


def _is_empty(value: Any) -> bool:
    return value is None or (isinstance(value, (str, list, tuple, dict)) and len(value) == 0)
