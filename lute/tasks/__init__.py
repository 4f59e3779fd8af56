"""Tasks: the analysis side of a managed task, and how they are found by name.

``base.Task`` is what every Python Task subclasses; ``third_party`` runs a
program instead (import ``lute.tasks.third_party.ThirdPartyTask``; it is not
imported here, as no Python Task needs it).
``launch`` is the entry point of a Task process, ``registry`` maps names to
Task classes and parameter models.
"""

from lute.tasks.base import Task

__all__ = ["Task"]
