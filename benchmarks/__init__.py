"""jinit's benchmark suite: ``python -m benchmarks`` (see its ``--help``)."""
