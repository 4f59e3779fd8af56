"""Exit statuses shared by every ``lute`` sub-command."""

EXIT_OK = 0
EXIT_TASK_FAILED = 1
EXIT_BAD_INPUT = 2
