"""Tasks: the analysis side of a managed task, and how they are found by name."""
