"""Exit statuses of every lute process: the CLI and the Task process alike.

A caller (a shell script, SLURM's ``afterok``, a workflow) can tell a Task
that ran and failed (1) from input that was refused before anything ran (2).
"""

EXIT_OK = 0
EXIT_TASK_FAILED = 1
EXIT_BAD_INPUT = 2
