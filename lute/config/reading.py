"""Read a configuration file's YAML documents, within the limits of ``lute.config.limits``.

PyYAML, left alone, reads a file of any size, composes nesting by recursion
until Python's stack overflows (a traceback of thousands of lines), and
expands merge keys (``<<: [*a, *a, ...]``) without bound. Here the file's
size is checked before it is read, the nesting depth and the number of
nodes are counted while the document is composed, so composing stops at the
limit, long before the recursion could overflow, and merged keys are
counted before they are copied. Plain aliases are not expanded when read
(each is one shared object), so their cost is counted where they are
expanded: when substitutions are resolved (``lute.config.substitution``).
"""

from __future__ import annotations

import os
from typing import Any

import yaml

from lute.config.limits import ENV_MAX_BYTES, MAX_NESTING, MAX_YAML_NODES, Budget, max_bytes
from lute.core.exceptions import ConfigurationError


def read_documents(path: str | os.PathLike[str]) -> list[Any]:
    """The YAML documents of the file at ``path``.

    Raises:
        ConfigurationError: The file cannot be read, is too large, is not
            UTF-8 text or not valid YAML, or nests or holds too much; the
            message names the file and, where there is one, the line.
    """
    where = str(path)
    limit = max_bytes()
    try:
        with open(path, "rb") as stream:
            data = stream.read(limit + 1)
    except OSError as err:
        raise ConfigurationError(f"{where}: cannot read config: {err.strerror}") from err
    if len(data) > limit:
        raise ConfigurationError(
            f"{where}: config is larger than {limit:,} bytes; lute refuses it"
            f" (set {ENV_MAX_BYTES} to allow a larger one)"
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise ConfigurationError(
            f"{where}: not UTF-8 text (byte {err.start}: {err.reason})"
        ) from err
    loader = _BoundedLoader(text, where)
    try:
        return list(_documents(loader))
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        position = f":{mark.line + 1}:{mark.column + 1}" if mark else ""
        problem = getattr(err, "problem", None) or str(err)
        raise ConfigurationError(f"{where}{position}: invalid YAML: {problem}") from err
    finally:
        loader.dispose()


def _documents(loader: _BoundedLoader) -> Any:
    while loader.check_data():
        yield loader.get_data()


class _BoundedLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that counts depth and nodes while composing."""

    def __init__(self, text: str, where: str) -> None:
        super().__init__(text)
        self._where = where
        self._depth = 0
        self._merging = 0
        self._nodes = Budget(
            where,
            MAX_YAML_NODES,
            "YAML values",
            "data belongs in data files, which Tasks read themselves",
        )

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node:
        """Compose one node, refusing it beyond ``MAX_NESTING`` or ``MAX_YAML_NODES``."""
        mark = self.peek_event().start_mark
        self._nodes.spend(1, f"line {mark.line + 1}")
        if self._depth >= MAX_NESTING:
            raise ConfigurationError(
                f"{self._where}:{mark.line + 1}:{mark.column + 1}: mappings and lists"
                f" nest more than {MAX_NESTING} deep; lute refuses it"
            )
        self._depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def flatten_mapping(self, node: yaml.MappingNode) -> None:
        """Merge ``<<`` keys, counting every key merged before it is copied.

        A mapping's own keys were counted when it was composed. A mapping
        merged into another is counted each time it is merged, before its
        keys are walked and copied, so what a merge copies never outgrows
        what was counted, however often one anchor is merged.
        """
        if self._merging:
            self._nodes.spend(len(node.value), f"line {node.start_mark.line + 1} (merged keys)")
        self._merging += 1
        try:
            super().flatten_mapping(node)
        finally:
            self._merging -= 1

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        """Construct one value; one YAML types but Python cannot hold is an error at its line.

        (A date like ``2024-13-45`` or an integer of 5,000 digits.)
        """
        try:
            return super().construct_object(node, deep)
        except (ValueError, OverflowError) as err:
            mark = node.start_mark
            raise ConfigurationError(
                f"{self._where}:{mark.line + 1}:{mark.column + 1}: invalid value: {err}"
            ) from err
