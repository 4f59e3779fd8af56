"""The package layout is the architecture: imports point only down the layers.

The import graph is read from the source with ``ast`` (function-local and
type-checking imports included), so an edge hidden inside a function is
still an edge.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

LUTE = Path(__file__).resolve().parents[1] / "lute"

LAYERS: dict[str, int] = {
    "core": 0,
    "ipc": 1,
    "db": 2,
    "elog": 2,
    "config": 3,
    "tasks": 4,
    "execution": 5,
    "managed_tasks": 6,
    "batch": 7,
    "triggers": 8,
    "cli": 9,
    "__main__": 10,
}
"""Lowest first. Packages of one rank (db, elog) may not import each other."""

COMPATIBILITY: dict[str, dict[str, str]] = {
    "lute.exceptions": {
        "LuteError": "lute.core.exceptions",
        "ConfigurationError": "lute.core.exceptions",
        "UnknownNameError": "lute.core.exceptions",
        "SubmissionError": "lute.core.exceptions",
    },
    "lute.plugins": {"load": "lute.core.plugins", "names": "lute.core.plugins"},
    "lute.tasks.task": {"Task": "lute.tasks.base", "ThirdPartyTask": "lute.tasks.third_party"},
    "lute.tasks.dataclasses": {
        "TaskStatus": "lute.core.analysis",
        "TaskResult": "lute.core.analysis",
        "DescribedAnalysis": "lute.core.analysis",
        "ElogSummaryPlots": "lute.core.analysis",
    },
    "lute.io.models.base": {
        "TaskParameters": "lute.config.models.base",
        "ThirdPartyParameters": "lute.config.models.base",
        "AnalysisHeader": "lute.config.models.base",
    },
    "lute.io.models.sfx_index": {
        "IndexCrystFELParameters": "lute.config.models.sfx_index",
        "ConcatenateStreamFilesParameters": "lute.config.models.sfx_index",
    },
    "lute.io.models.sfx_merge": {
        "MergePartialatorParameters": "lute.config.models.sfx_merge",
        "CompareHKLParameters": "lute.config.models.sfx_merge",
        "ManipulateHKLParameters": "lute.config.models.sfx_merge",
    },
    "lute.io.models.sfx_solve": {
        "DimpleSolveParameters": "lute.config.models.sfx_solve",
        "RunSHELXCParameters": "lute.config.models.sfx_solve",
    },
    "lute.io.config": {
        "load_documents": "lute.config.loader",
        "load_task_parameters": "lute.config.loader",
    },
    "lute.execution.ipc": {
        "Message": "lute.ipc.message",
        "SocketCommunicator": "lute.ipc.executor_side",
        "PipeCommunicator": "lute.ipc.executor_side",
    },
    "lute.execution.environment": {
        "ProgramEnvironment": "lute.tasks.environment",
        "merge_environment": "lute.tasks.environment",
    },
    "lute.execution.executor": {
        "Executor": "lute.execution.executor",
        "BaseExecutor": "lute.execution.executor",
        "MPIExecutor": "lute.execution.mpi",
    },
    "lute.managed_tasks": {"ManagedTask": "lute.managed_tasks"},
    "lute.io.db": {"read_latest_db_entry": "lute.db.latest", "store_run": "lute.db.store"},
    "lute.io.results": {"get_result": "lute.db.results", "list_runs": "lute.db.results"},
    "lute.io.elog": {"ElogClient": "lute.elog.client", "ElogSettings": "lute.elog.settings"},
    "lute.execution.slurm": {"submit": "lute.batch.slurm", "job_status": "lute.batch.slurm"},
    "lute.execution.workflows": {"load_workflow": "lute.batch.workflows"},
}
"""Old import path -> names users import from it -> the module that defines them."""

COMPATIBILITY_ONLY = frozenset(
    {"lute.io", "lute.io.models"}
    | set(COMPATIBILITY) - {"lute.execution.executor", "lute.managed_tasks"}
)
"""Modules that exist only to re-export (the others above are real modules)."""


def module_name(path: Path) -> str:
    parts = path.relative_to(LUTE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path) -> set[str]:
    """Every ``lute`` module ``path`` imports, wherever the import statement is."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = (
        module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    )
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return {name for name in found if name == "lute" or name.startswith("lute.")}


def is_compatibility(module: str) -> bool:
    """Whether ``module`` only re-exports for old code (lute itself must not use it)."""
    return module in COMPATIBILITY_ONLY


def layer(module: str) -> int | None:
    """The rank of a module; ``None`` for the root package (its version only)."""
    parts = module.split(".")
    if len(parts) == 1:
        return None
    return LAYERS[parts[1]]


def violations(edges: dict[str, set[str]]) -> list[str]:
    """Every import that points up, sideways between packages, or at a compatibility path."""
    found = []
    for source, targets in sorted(edges.items()):
        if is_compatibility(source):
            continue
        for target in sorted(targets):
            if is_compatibility(target):
                found.append(f"{source} imports the compatibility path {target}")
                continue
            low, high = layer(target), layer(source)
            if low is None or high is None:
                continue
            same_rank_other_package = low == high and target.split(".")[1] != source.split(".")[1]
            if low > high or same_rank_other_package:
                found.append(f"{source} (layer {high}) imports {target} (layer {low})")
    return found


def lute_sources() -> list[Path]:
    return sorted(LUTE.rglob("*.py"))


def test_every_package_has_a_layer():
    for path in lute_sources():
        module = module_name(path)
        parts = module.split(".")
        if len(parts) > 1 and not is_compatibility(module):
            assert parts[1] in LAYERS or module in ("lute.exceptions", "lute.plugins"), module


def test_imports_point_only_down():
    edges = {module_name(path): imported_modules(path) for path in lute_sources()}
    assert violations(edges) == []


def test_the_check_catches_an_upward_or_sideways_import():
    edges = {
        "lute.db.store": {"lute.config.loader", "lute.core.files"},
        "lute.elog.client": {"lute.db.engine"},
        "lute.tasks.base": {"lute.exceptions"},
        "lute.cli.run": {"lute.managed_tasks"},
    }
    assert violations(edges) == [
        "lute.db.store (layer 2) imports lute.config.loader (layer 3)",
        "lute.elog.client (layer 2) imports lute.db.engine (layer 2)",
        "lute.tasks.base imports the compatibility path lute.exceptions",
    ]


def test_every_package_declares_its_public_names():
    for init in LUTE.rglob("__init__.py"):
        module = importlib.import_module(module_name(init))
        if module.__name__ in ("lute", "lute.io", "lute.io.models"):
            continue
        assert getattr(module, "__all__", None), f"{module.__name__} has no __all__"
        for name in module.__all__:
            assert hasattr(module, name), f"{module.__name__}.__all__ names missing {name}"


@pytest.mark.parametrize("old_path", sorted(COMPATIBILITY))
def test_compatibility_paths_import_the_same_objects(old_path):
    old = importlib.import_module(old_path)
    for name, home in COMPATIBILITY[old_path].items():
        assert getattr(old, name) is getattr(importlib.import_module(home), name), (
            f"{old_path}.{name} is not {home}.{name}"
        )


def test_no_module_is_over_500_lines():
    long = {
        module_name(path): lines
        for path in lute_sources()
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > 500
    }
    assert long == {}
