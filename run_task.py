"""Run one managed task, LUTE-style: ``python run_task.py -t Tester -c CONFIG``."""

import sys

from lute.cli import main

if __name__ == "__main__":
    sys.exit(main(["run", *sys.argv[1:]]))
