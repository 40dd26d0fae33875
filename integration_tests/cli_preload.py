"""What the fork server of integration_tests/cli_process.py imports before it forks runs of the
CLI: what ``source-intercom`` imports for a command other than ``spec``, prepared as it prepares
it (source_intercom/startup.py); and the tests' clock for the CDK's export-job polls."""

from source_intercom.startup import import_the_cdk

import_the_cdk()

import source_intercom.source  # noqa: E402,F401
from airbyte_cdk.sources.declarative.async_job.job_orchestrator import AsyncJobOrchestrator  # noqa: E402

# The CDK's asynchronous retriever waits 5 s after each round of polls of the reporting export
# jobs, also after the round that found every job complete: each read of a reporting stream costs
# at least 5 s of waiting, and most take 10 to 20. The forked runs of the tests poll every quarter
# second instead. The wait is the CDK's, not the connector's: what the connector asks, and when a
# job counts as pending, complete, failed or expired, are the same (the emulator's jobs stay
# pending for a time of their own). Runs that start the real command (SOURCE_INTERCOM_TEST_FORK=0,
# the `check` of each mode, and the main job, tools/sync.py) poll every 5 s as users' runs do.
TESTS_POLL_INTERVAL = 0.25
if hasattr(AsyncJobOrchestrator, "_WAIT_TIME_BETWEEN_STATUS_UPDATE_IN_SECONDS"):
    AsyncJobOrchestrator._WAIT_TIME_BETWEEN_STATUS_UPDATE_IN_SECONDS = TESTS_POLL_INTERVAL
