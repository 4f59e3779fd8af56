"""Resolve ``{{ ... }}`` substitutions in a configuration, within a budget.

The syntax (see ``lute.config.loader``): ``{{ key }}``, ``{{ nested.key }}``,
``{{ lute_config.key }}``, ``{{ $ENV_VAR }}``, each optionally with a Python
format spec (``{{ run:04d }}``).

As in LUTE, a format spec applied to text that is a number formats the
number: ``{{ $RUN:04d }}`` is ``0012``, and so is ``{{ run:04d }}`` when
the header says ``run: "{{ $RUN }}"``. Only text a number prints back
unchanged counts (``12``, ``0.5``; not ``0012`` or ``1e5``). Otherwise
substituted text stays text (LUTE retypes every numeric string, so
``"{{ run:04d }}"`` loses its zeros there); the parameter model converts
it where the parameter is a number.

Resolving copies what it walks, so an alias in the YAML is expanded here,
and a substitution can refer to a key that refers to another, many times
over. Every value copied, every substitution made and every character it
produces is counted against one ``Budget`` per load, the nesting of what is produced is bounded like
the file's, and a chain of substitutions is bounded in length: a file
whose substitutions would grow without bound is refused with one line
naming the key, in bounded time and memory.
"""

from __future__ import annotations

import os
import re
from typing import Any

from lute.config.limits import MAX_NESTING, Budget
from lute.core.exceptions import ConfigurationError

SUBSTITUTION = re.compile(r"\{\{\s*(?P<name>\$?[A-Za-z_][\w.\-]*)\s*(?::(?P<spec>[^}]*?))?\s*\}\}")
MAX_CHAIN = 10
"""Most substitutions one value may go through (a key naming a key naming a key...)."""

_MISSING = object()
_MAX_NUMBER_CHARS = 40
"""Longer text is never read as a number (and a 5,000-digit one never converted)."""
_NUMBERS = re.compile(r"\d+")


class Substituter:
    """Resolves substitutions in the values of one configuration, naming the key on any error.

    Args:
        where: The configuration file, for messages.
        sections: The second document as written: where ``{{ key }}``
            looks after the current section.
        header: The first document: where it looks last, and what
            ``{{ lute_config.key }}`` reads.
        budget: Counts the values walked and the characters produced.
    """

    def __init__(
        self, where: str, sections: dict[str, Any], header: dict[str, Any], budget: Budget
    ) -> None:
        self._where = where
        self._sections = sections
        self._header = header
        self._budget = budget
        self._section: dict[str, Any] = {}

    def resolve(self, value: Any, section: Any, path: str) -> Any:
        """A copy of ``value`` with every substitution resolved.

        Args:
            value: What to resolve (a whole section, or the header).
            section: Where ``{{ key }}`` looks first: the section ``value``
                belongs to (``{}`` for the header).
            path: The key of ``value``, for messages ("" for a document).

        Raises:
            ConfigurationError: A variable is unknown, a format fails, or a
                limit is passed; the message names the file and the key.
        """
        self._section = section if isinstance(section, dict) else {}
        self._budget.spend(1, path or "header")
        return self._apply(value, path, 0, 0)

    def _enter(self, path: str, level: int, size: int) -> None:
        """Count a mapping's or list's values before they are copied; bound its depth."""
        if level >= MAX_NESTING:
            raise ConfigurationError(
                f"{self._where}: {path}: substitutions nest values more than"
                f" {MAX_NESTING} deep; lute refuses it"
            )
        self._budget.spend(size, path or "header")

    def _apply(self, value: Any, path: str, level: int, chain: int) -> Any:
        if isinstance(value, dict):
            self._enter(path, level, len(value))
            return {
                k: self._apply(v, f"{path}.{k}" if path else str(k), level + 1, chain)
                if _needs_walk(v)
                else v
                for k, v in value.items()
            }
        if isinstance(value, list):
            self._enter(path, level, len(value))
            return [
                self._apply(v, f"{path}[{i}]", level + 1, chain) if _needs_walk(v) else v
                for i, v in enumerate(value)
            ]
        if not isinstance(value, str) or "{{" not in value:
            return value
        self._budget.spend(1, path)
        if chain >= MAX_CHAIN:
            raise ConfigurationError(
                f"{self._where}: {path}: substitutions nest more than {MAX_CHAIN} deep (a cycle?)"
            )
        whole = SUBSTITUTION.fullmatch(value.strip())
        if whole and not whole.group("spec"):
            return self._apply(self._lookup(whole.group("name"), path), path, level, chain + 1)

        def replace(match: re.Match[str]) -> str:
            found = self._apply(self._lookup(match.group("name"), path), path, level, chain + 1)
            spec = match.group("spec") or ""
            self._check_spec(match.group("name"), spec, path)
            try:
                text = _format(found, spec)
            except (ValueError, TypeError) as err:
                raise ConfigurationError(
                    f"{self._where}: {path}: cannot format "
                    f"{match.group('name')}={found!r} with ':{spec}': {err}"
                ) from err
            self._budget.spend(1 + len(text), path)
            return text

        return SUBSTITUTION.sub(replace, value)

    def _check_spec(self, name: str, spec: str, path: str) -> None:
        """Refuse a format spec whose width or precision alone would pass the budget."""
        for digits in _NUMBERS.findall(spec):
            if len(digits) > len(str(self._budget.left)) or int(digits) > self._budget.left:
                raise ConfigurationError(
                    f"{self._where}: {path}: the format ':{spec}' of {name} asks for"
                    " a longer text than lute allows"
                )

    def _lookup(self, name: str, path: str) -> Any:
        if name.startswith("$"):
            value = os.environ.get(name[1:])
            if value is None:
                raise ConfigurationError(
                    f"{self._where}: {path}: environment variable "
                    f"{name[1:]} is not set (used as {{{{ {name} }}}})"
                )
            return value
        keys = name.split(".")
        scopes: list[dict[str, Any]] = [self._section, self._sections, self._header]
        if keys[0] == "lute_config":
            scopes, keys = [self._header], keys[1:]
        for scope in scopes:
            found = _dig(scope, keys)
            if found is not _MISSING:
                return found
        raise ConfigurationError(
            f"{self._where}: {path}: unknown substitution variable "
            f"{{{{ {name} }}}} (not a key of this Task's section, of another "
            "section, or of the header)"
        )


def as_number(value: Any) -> Any:
    """``value`` as an ``int`` or ``float`` if it is text that number prints back as; else as is."""
    if not isinstance(value, str) or not value or len(value) > _MAX_NUMBER_CHARS:
        return value
    for kind in (int, float):
        try:
            number = kind(value)
        except ValueError:
            continue
        if str(number) == value:
            return number
    return value


def _format(value: Any, spec: str) -> str:
    """``format(value, spec)``, reading numeric text as its number first when the spec allows."""
    if spec:
        number = as_number(value)
        if number is not value:
            try:
                return format(number, spec)
            except (ValueError, TypeError):
                pass  # a text spec such as ":>8s": format the text as written
    return format(value, spec)


def _needs_walk(value: Any) -> bool:
    """Whether resolving ``value`` does more than return it (most values are plain)."""
    return isinstance(value, (dict, list)) or (isinstance(value, str) and "{{" in value)


def _dig(scope: dict[str, Any], keys: list[str]) -> Any:
    node: Any = scope
    for key in keys:
        if not isinstance(node, dict) or key not in node:
            return _MISSING
        node = node[key]
    return node
