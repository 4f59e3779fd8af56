"""A first-party Task written for LUTE, unchanged."""

__all__ = ["RunTask"]
__author__ = "A LUTE user"

from lute.execution.ipc import Message  # Message for communication
from lute.io.models.base import *  # noqa: F403 (For TaskParameters)
from lute.tasks.dataclasses import TaskStatus
from lute.tasks.task import *  # noqa: F403 (For Task)


class RunTask(Task):  # noqa: F405
    """Writes `count` numbers to a file in the work dir."""

    def __init__(self, *, params: TaskParameters) -> None:  # noqa: F405
        super().__init__(params=params)

    def _run(self) -> None:
        self.do_my_analysis()

    def do_my_analysis(self) -> None:
        msg: Message = Message(contents=f"Writing {self._task_parameters.count} numbers")
        self._report_to_executor(msg)
        work_dir: str = self._task_parameters.lute_config.work_dir
        out_file: str = f"{work_dir}/{self._task_parameters.out_name}"
        with open(out_file, "w") as f:
            for i in range(self._task_parameters.count):
                f.write(f"{i}\n")
        self._result.payload = out_file
        self._result.summary = f"{self._task_parameters.label}: wrote {out_file}"
        self._result.task_status = TaskStatus.COMPLETED
