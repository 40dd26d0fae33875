"""The benchmarks are run by hand (`python benchmarks/run.py`), never by pytest."""

collect_ignore_glob = ["*"]
