"""End to end: where the installed airbyte-cdk is not what a component expects (an internal
attribute renamed, a log wording changed, a keyword no longer handed over), the sync completes
with every record, and one warning names what could not be applied.

Each case runs the CLI in a new process whose `sitecustomize` changes the CDK the way a later
release might, before the connector loads; the `source.py` queue and the partition-cursor cap are
checked in unit_tests/test_cdk_reliances.py. (test_cdk_internals checks the locked CDK still has
what the components rely on.)"""

from __future__ import annotations

import os
import textwrap
from pathlib import Path
from typing import Dict

import pytest

from integration_tests.harness import START_TS, catalog_for, config_for, discovered_streams, run_cli
from integration_tests.workspaces import TOKEN, small_workspace
from intercom_emulator import running_emulator

STREAMS = ["admins", "contacts", "contact_tags", "conversations", "companies"]

CHANGED_CDKS: Dict[str, str] = {
    # The API budget's policies under another private name: only the CDK's own module finds them.
    "the API budget": """
        import sys
        from airbyte_cdk.sources.streams import call_rate

        class Renamed:
            def __get__(self, budget, owner):
                if budget is None or sys._getframe(1).f_globals.get("__name__") != call_rate.__name__:
                    raise AttributeError("_policies")
                return budget.__dict__["_rate_policies"]

            def __set__(self, budget, value):
                budget.__dict__["_rate_policies"] = value

        call_rate.APIBudget._policies = Renamed()
    """,
    # The retry line in other words.
    "the retry log wording": """
        import logging
        make_record = logging.getLogRecordFactory()

        def reworded(*args, **kwargs):
            record = make_record(*args, **kwargs)
            if str(record.msg).startswith("UserDefinedBackoffException"):
                record.msg = "Backing off: " + str(record.msg).split(": ", 1)[1]
            return record

        logging.setLogRecordFactory(reworded)
    """,
    # The stream's cursor no longer handed to a custom retriever.
    "the first slice from the stream's cursor": """
        from airbyte_cdk.sources.declarative.parsers.model_to_component_factory import ModelToComponentFactory
        create = ModelToComponentFactory.create_custom_component

        def without_cursor(self, model, config, **kwargs):
            kwargs.pop("cursor", None)
            return create(self, model, config, **kwargs)

        ModelToComponentFactory.create_custom_component = without_cursor
    """,
}

CHANGED_CDKS["one decoding of each answer"] = """
    # The response filters' decoding as an instance method: the CDK decodes as it always did.
    from airbyte_cdk.sources.declarative.requesters.error_handlers.http_response_filter import HttpResponseFilter

    def _safe_response_json(self, response):
        try:
            return response.json()
        except ValueError:
            return {}

    HttpResponseFilter._safe_response_json = _safe_response_json
"""

CHANGED_CDKS["plain strings evaluated once"] = """
    # Jinja's evaluation with another signature: every string is rendered on every call, as the CDK does.
    from airbyte_cdk.sources.declarative.interpolation.jinja import JinjaInterpolation

    evaluate = JinjaInterpolation.eval

    def eval(self, input_str, config, *args, **kwargs):
        return evaluate(self, input_str, config, *args, **kwargs)

    JinjaInterpolation.eval = eval
"""

# What the warnings name, where a change costs more than one optimisation.
WARNINGS = {"the API budget": ["Intercom's rate-limit windows on the API budget", "the fair-share cap's spread over the minute"]}


@pytest.mark.parametrize("reliance", list(CHANGED_CDKS))
def test_a_changed_cdk_internal_costs_a_warning_not_the_sync(reliance: str, tmp_path: Path) -> None:
    (tmp_path / "sitecustomize.py").write_text(textwrap.dedent(CHANGED_CDKS[reliance]))
    ws = small_workspace()
    with running_emulator(ws, token=TOKEN) as server:
        config = config_for(server, max_requests_per_minute=6000)
        catalog = catalog_for(discovered_streams(config), STREAMS)
        server.inject_fault(r"^/contacts/search$", "500", times=1)  # one retry, so that the retry line is written
        run = run_cli("read", config, catalog, env={**os.environ, "PYTHONPATH": str(tmp_path)})
    assert run.returncode == 0, run.stderr[-2000:]
    for stream in STREAMS:
        assert run.key_set(stream) == set(ws.expected_ids(stream, START_TS)), stream
    warnings = [m["log"]["message"] for m in run.of_type("LOG") if "could not apply" in m["log"]["message"]]
    expected = WARNINGS.get(reliance, [reliance])
    assert len(warnings) == len(expected) and all(sum(what in w for w in warnings) == 1 for what in expected), warnings
