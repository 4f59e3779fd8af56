"""The plugin's Python Task."""

from __future__ import annotations

from lute.tasks.base import Task


class PluginSum(Task):
    """Adds its values, scales the sum and reports it as the result."""

    def _run(self) -> None:
        params = self._task_parameters
        total = sum(params.values) * params.scaling.factor + params.scaling.offset
        self._report(f"PluginSum: {len(params.values)} values, total {total}")
        self._result.summary = f"sum of {len(params.values)} values"
        self._result.payload = total
