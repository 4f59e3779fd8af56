"""Compatibility paths kept for code written against LUTE or earlier lute.

LUTE kept configuration, models, the database and the eLog client under
``lute.io``; lute gives each its own package (``lute.config``, ``lute.db``,
``lute.elog``). The modules here only re-export, and lute itself never
imports them.
"""
