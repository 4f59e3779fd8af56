"""Compatibility path: LUTE's ``lute.tasks.task`` held both Task base classes.

Tasks written for LUTE import ``Task`` and ``ThirdPartyTask`` from here; new
code imports them from ``lute.tasks`` (or ``lute.tasks.base`` and
``lute.tasks.third_party``).
"""

from lute.tasks.base import Task
from lute.tasks.third_party import ThirdPartyTask

__all__ = ["Task", "ThirdPartyTask"]
