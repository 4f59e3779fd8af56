"""Compatibility path kept for code written against LUTE or earlier lute.

Everything here now lives in ``lute.tasks.environment``; import it from there in new code.
"""

from lute.tasks.environment import PATH_MODES, ProgramEnvironment, merge_environment, source_script

__all__ = [
    "PATH_MODES",
    "ProgramEnvironment",
    "merge_environment",
    "source_script",
]
