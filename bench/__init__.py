"""Benchmarks of the dashboard at CPAS scale: ``python manage.py bench [--quick]``.

See ``bench/README.md`` for what is measured and how to read the summary.
"""
