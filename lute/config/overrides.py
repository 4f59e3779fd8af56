"""Parameter overrides from the environment: ``LUTE_<param>=value``.

``LUTE_float_var=2.5`` replaces ``float_var`` of the Task being validated;
``LUTE_compound_var__int_var=5`` replaces one key of a nested parameter
(``__`` separates levels). Only names that are declared parameters of the
Task's model count, matched case-sensitively, so lute's own upper-case
variables (``LUTE_WORK_DIR``, ``LUTE_SOCKET``, ...) are never mistaken for
parameters. Overrides are applied after ``{{ }}`` substitution and before
validation, in the Executor and in the Task alike, since both validate the
same file in the same environment.

Values are read as YAML so lists and mappings can be given
(``LUTE_files='[a.h5, b.h5]'``) and ``null`` (or an empty value) unsets a
parameter. Plain scalars are passed to the model as the text given, so the
model's type decides: ``LUTE_str_var=123`` is the string ``"123"``.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from lute.core.exceptions import ConfigurationError

logger = logging.getLogger(__name__)

PREFIX = "LUTE_"
SEPARATOR = "__"
NOT_OVERRIDABLE = frozenset({"lute_config"})


@dataclass(frozen=True)
class Override:
    """One environment variable that replaces one parameter.

    Attributes:
        variable: The variable's name, for messages.
        path: Keys from the Task's section down to the replaced value.
        value: The value to validate.
    """

    variable: str
    path: tuple[str, ...]
    value: Any

    def covers(self, loc: tuple[int | str, ...]) -> bool:
        """Whether a validation error at ``loc`` concerns this override.

        It does when either path leads into the other: an error inside the
        overridden value, or at a parent the override turned into a mapping.
        """
        depth = min(len(loc), len(self.path))
        return tuple(loc[:depth]) == self.path[:depth]


def find_overrides(declared: Mapping[str, Any], environ: Mapping[str, str]) -> list[Override]:
    """The overrides in ``environ`` for a model whose fields are ``declared``.

    Raises:
        ConfigurationError: A variable names a parameter but its value is
            not valid YAML, or its name has an empty level (``a____b``).
    """
    found: list[Override] = []
    for variable in sorted(environ):
        if not variable.startswith(PREFIX):
            continue
        path = tuple(variable[len(PREFIX) :].split(SEPARATOR))
        if path[0] not in declared or path[0] in NOT_OVERRIDABLE:
            continue
        if not all(path):
            raise ConfigurationError(f"{variable}: empty key between '{SEPARATOR}' separators")
        found.append(Override(variable, path, _parse(variable, environ[variable])))
    return found


def _parse(variable: str, raw: str) -> Any:
    try:
        parsed = yaml.safe_load(raw)
    except yaml.YAMLError as err:
        problem = getattr(err, "problem", None) or str(err)
        raise ConfigurationError(f"{variable}: value {raw!r} is not valid YAML: {problem}") from err
    if parsed is None or isinstance(parsed, (list, dict)):
        return parsed
    return raw


def apply_overrides(section: Mapping[str, Any], overrides: list[Override]) -> dict[str, Any]:
    """A copy of ``section`` with every override applied.

    Raises:
        ConfigurationError: An override goes below a value that is not a
            mapping (``LUTE_float_var__x`` when ``float_var`` is a number).
    """
    result = copy.deepcopy(dict(section))
    for override in overrides:
        node = result
        for depth, key in enumerate(override.path[:-1]):
            child = node.setdefault(key, {})
            if not isinstance(child, dict):
                where = ".".join(override.path[: depth + 1])
                raise ConfigurationError(
                    f"{override.variable}: '{where}' is not a mapping, so it has no"
                    f" key '{override.path[depth + 1]}'"
                )
            node = child
        node[override.path[-1]] = override.value
        logger.info("%s overrides %s", override.variable, ".".join(override.path))
    return result
