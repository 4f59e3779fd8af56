"""Compatibility path: entry-point plugin loading now lives in ``lute.core.plugins``."""

from lute.core.plugins import EXECUTORS, MANAGED_TASKS, MODELS, TASKS, load, names

__all__ = ["EXECUTORS", "MANAGED_TASKS", "MODELS", "TASKS", "load", "names"]
