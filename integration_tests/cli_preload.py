"""What the fork server of integration_tests/cli_process.py imports before it forks runs of the
CLI: what ``source-intercom`` imports for a command other than ``spec``, prepared as it prepares
it (source_intercom/startup.py); and the tests' clock for the CDK's export-job polls."""

from source_intercom.startup import import_the_cdk

import_the_cdk()

import source_intercom.source  # noqa: E402,F401

import integration_tests.job_polls  # noqa: E402,F401
