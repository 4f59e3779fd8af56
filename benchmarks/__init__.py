"""lute's benchmarks: every measure a ratio against a floor measured in the same run.

``python -m benchmarks`` (or ``bash benchmarks/run.sh``) runs them all through
real processes and writes docs/performance.md; see ``benchmarks/__main__.py``.
``bench_db.py`` and ``bench_elog.py`` measure the database and the eLog on
their own.
"""
