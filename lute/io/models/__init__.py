"""Compatibility path: LUTE's parameter models now live in ``lute.config.models``."""
