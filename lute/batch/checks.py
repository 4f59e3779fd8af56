"""Checking a workflow's configuration before any node runs.

A workflow that would fail at its third node because of a typo in the
configuration should fail before its first: the file and its header are
checked, every node's Executor settings (the site file, its Task's
``lute_executor``, its own ``retries``/``time_limit``), and the parameters
of the nodes without parents. Other nodes' parameters are checked when they
start, because they may come from their parents' results in the database.
"""

from __future__ import annotations

import json
import os

from lute.batch.dag import Workflow
from lute.config.executor_settings import ENV_NODE_SETTINGS, resolve_executor_settings
from lute.config.loader import load_header, load_task_parameters
from lute.core.exceptions import ConfigurationError
from lute.managed_tasks import get_managed_task
from lute.tasks import registry


def validate_config(workflow: Workflow, config: str) -> str:
    """Check ``config`` for ``workflow`` before anything runs; return its work dir.

    Raises:
        ConfigurationError: The message names the node when one is at fault.
    """
    for name, node in workflow.nodes.items():
        managed = get_managed_task(node.task_name)
        task_name = managed.task_name
        env = {**os.environ, ENV_NODE_SETTINGS: json.dumps(node.executor_settings())}
        try:
            resolve_executor_settings(config, task_name, managed.options, env)
            if not node.parents:
                model = registry.parameter_model(task_name)
                load_task_parameters(config, task_name, model, known_tasks=registry.task_names)
        except ConfigurationError as err:
            raise ConfigurationError(f"{workflow.source}: node '{name}': {err}") from err
    return load_header(config).work_dir
