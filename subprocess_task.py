"""Task side of a managed task: ``python subprocess_task.py -c CONFIG -t TASK``."""

import sys

from lute.tasks.launch import main

if __name__ == "__main__":
    sys.exit(main())
