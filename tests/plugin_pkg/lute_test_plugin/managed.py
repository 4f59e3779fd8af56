"""The plugin's managed tasks: one as a ManagedTask, one as a plain dict."""

from lute.managed_tasks import ManagedTask

PLUGIN_SUMMER = ManagedTask("PluginSum", description="Adds numbers (from a plugin).")

PLUGIN_ECHOER = {"task_name": "PluginEcho", "description": "Echoes a message (from a plugin)."}
