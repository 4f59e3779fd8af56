"""lute: run facility data analysis as managed, recorded tasks."""

__version__ = "0.1.0"
