"""Exit statuses of every lute process: the CLI and the Task process alike.

A caller (a shell script, SLURM's ``afterok``, a workflow) can tell a Task
that ran and failed (1) from input that was refused before anything ran (2)
and from a Task that ran but whose record could be stored nowhere: not in
the database, the work dir's spool nor the fallback spool (3). Any
non-zero status stops dependent jobs; 3 tells the operator that what the run
did is known only from its log.
"""

EXIT_OK = 0
EXIT_TASK_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_NOT_RECORDED = 3
