"""Executors: run a Task process, supervise it, decide and record its outcome."""
