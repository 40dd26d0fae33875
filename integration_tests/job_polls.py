"""The tests' clock for the CDK's polls of the reporting export jobs, imported by the fork servers
the tests' runs are forked from (the package CLI's, integration_tests/cli_process.py; the
manifest-only runs' and the Connector Builder's, integration_tests/fork_server.py, which imports
it as a top-level module beside it).

The CDK's asynchronous retriever waits 5 s after each round of polls, also after the round that
found every job complete: each read of a reporting stream costs at least 5 s of waiting, and most
10 to 20. The forked runs wait a quarter of a second instead. The wait is the CDK's, not the
connector's: what the connector asks, and when a job counts as pending, complete, failed or
expired, stay the same (the emulator's jobs stay pending for a time of their own). Runs that start
the real command (SOURCE_INTERCOM_TEST_FORK=0, each mode's `check`, and the main job,
tools/sync.py) wait 5 s, as users' runs do. Only the CDK is imported here (the manifest-only runs
must not see the package)."""

from airbyte_cdk.sources.declarative.async_job.job_orchestrator import AsyncJobOrchestrator

TESTS_POLL_INTERVAL = 0.25

if hasattr(AsyncJobOrchestrator, "_WAIT_TIME_BETWEEN_STATUS_UPDATE_IN_SECONDS"):  # otherwise the CDK's own wait
    AsyncJobOrchestrator._WAIT_TIME_BETWEEN_STATUS_UPDATE_IN_SECONDS = TESTS_POLL_INTERVAL
