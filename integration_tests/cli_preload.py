"""What the fork server of integration_tests/cli_process.py imports before it forks runs of the
CLI: what ``source-intercom`` imports for a command other than ``spec``, prepared as it prepares
it (source_intercom/startup.py), and the manifest it parses (once per process, whichever the
command); and the tests' clock for the CDK's export-job polls."""

from source_intercom.startup import import_the_cdk

import_the_cdk()

import source_intercom.source  # noqa: E402,F401
from source_intercom.manifest_file import load_manifest  # noqa: E402

load_manifest()

import integration_tests.job_polls  # noqa: E402,F401

import gc  # noqa: E402

# What the server holds now, each forked run inherits: moved out of the garbage collector's reach,
# so that a run's full collections do not walk it (and copy its pages) again (about 7% of the
# forked runs' CPU: test_cli.py and test_companies_scroll.py, 42 -> 39 CPU-s).
gc.freeze()
