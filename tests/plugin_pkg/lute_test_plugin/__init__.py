"""An example lute plugin: one Python Task and one third-party Task."""
