"""``lute tasks``: what can run, and how to configure it.

* ``lute tasks list``: every Task (built in and from plugins), the managed
  tasks that run it, and a one-line description.
* ``lute tasks help TASK``: each parameter with its type, default and
  description; ``--yaml`` prints a config section ready to paste instead.
  ``TASK`` may also be a managed-task name.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys

from lute.cli.table import print_json, print_table
from lute.config.models.describe import describe_parameters, summary_line, yaml_section
from lute.core.exceptions import UnknownNameError
from lute.core.exit_codes import EXIT_OK
from lute.managed_tasks import get_managed_task, managed_task_names
from lute.tasks import registry


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``tasks`` sub-command and its ``list`` and ``help`` actions."""
    tasks = commands.add_parser("tasks", help="list Tasks and describe their parameters")
    actions = tasks.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = actions.add_parser("list", help="every Task, its managed tasks and what it does")
    listing.add_argument("--json", action="store_true", help="as JSON")
    listing.set_defaults(handler=_list)
    helping = actions.add_parser("help", help="the parameters of one Task")
    helping.add_argument("task", help="Task or managed-task name, e.g. Test or Tester")
    helping.add_argument(
        "--yaml", action="store_true", help="print a config section with every default"
    )
    helping.add_argument("--json", action="store_true", help="as JSON")
    helping.set_defaults(handler=_help)


def _managed_by_task() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for name in managed_task_names():
        found.setdefault(get_managed_task(name).task_name, []).append(name)
    return found


def _list(args: argparse.Namespace) -> int:
    managed = _managed_by_task()
    rows = [
        (
            name,
            ", ".join(managed.get(name, [])) or "-",
            summary_line(registry.parameter_model(name)),
        )
        for name in registry.task_names()
    ]
    if args.json:
        print_json(
            [
                {"task": name, "managed_tasks": managed.get(name, []), "description": text}
                for name, _, text in rows
            ]
        )
        return EXIT_OK
    print_table(("TASK", "MANAGED TASKS", "DESCRIPTION"), rows)
    return EXIT_OK


def _task_name(name: str) -> str:
    """``name`` if it is a Task, else the Task of the managed task ``name``."""
    if name in registry.task_names():
        return name
    try:
        return get_managed_task(name).task_name
    except UnknownNameError:
        raise registry.unknown_name(
            "Task or managed task", name, [*registry.task_names(), *managed_task_names()]
        ) from None


def _help(args: argparse.Namespace) -> int:
    task = _task_name(args.task)
    model = registry.parameter_model(task)
    if args.yaml:
        sys.stdout.write(yaml_section(task, model))
        return EXIT_OK
    if args.json:
        print_json(
            {
                "task": task,
                "description": summary_line(model),
                "managed_tasks": _managed_by_task().get(task, []),
                "model": f"{model.__module__}.{model.__name__}",
                "parameters": [dataclasses.asdict(doc) for doc in describe_parameters(model)],
            }
        )
        return EXIT_OK
    out = sys.stdout
    out.write(f"{task}: {summary_line(model)}\n")
    out.write(f"Managed tasks: {', '.join(_managed_by_task().get(task, [])) or '-'}\n")
    out.write(f"Parameters ({model.__module__}.{model.__name__}):\n")
    for doc in describe_parameters(model):
        default = "required" if doc.required else f"default: {json.dumps(doc.default)}"
        out.write(f"  {doc.name} ({doc.type}; {default})\n")
        if doc.description:
            out.write(f"      {doc.description}\n")
        if doc.command_form:
            out.write(f"      command line: {doc.command_form}\n")
    return EXIT_OK
