"""Manifest-only mode: the same manifest.yaml and components.py under the CDK's
``source-declarative-manifest``, against the Python package's ``source-intercom``.

Three ways to run the connector, each a process of its own against one emulator (forked after
its command's imports, see cli_process and fork_server; `check` starts each command itself):

- ``package``: the ``source-intercom`` console script (the reference);
- ``manifest_path``: ``source-declarative-manifest <cmd> --manifest-path manifest.yaml
  --components-path components.py``;
- ``injected_config``: ``source-declarative-manifest <cmd>`` with the manifest, the components
  code and its md5 injected into the config (``__injected_declarative_manifest``,
  ``__injected_components_py``, ``__injected_components_py_checksums``), as the Airbyte
  platform and the Connector Builder run a manifest-only connector.

Both manifest-only forms run with ``AIRBYTE_ENABLE_UNSAFE_CODE=true``, from byte-identical copies
of the two files in a directory of their own, and with the ``source_intercom`` package made
unimportable: a manifest that reached into the package (a ``source_intercom.components.X`` class,
a schema file beside the manifest) would pass here only by accident, and fail on the platform.
``spec`` is not compared: in manifest-only mode it prints the CDK's generic spec.
"""

from __future__ import annotations

import contextlib
import json
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional

import pytest

from integration_tests.workspaces import small_workspace
from integration_tests.cli_process import CLI
from integration_tests.harness import SDM, ManifestOnlyCopy, Run, catalog_for, config_for, manifest_only_copy, once_per_session, record_key, run_cli
from intercom_emulator import EmulatorServer, running_emulator
from source_intercom.stream_facts import stream_facts

TOKEN = "manifest-only-token-0123456789"

MANIFEST_ONLY_MODES = ["manifest_path", "injected_config"]
ALL_MODES = ["package", *MANIFEST_ONLY_MODES]


class Connector:
    """Runs one command in one of the three modes; manifest-only runs use the copied files."""

    def __init__(self, copy: ManifestOnlyCopy) -> None:
        self.copy = copy
        self.manifest, self.components, self.injected, self.env = copy.manifest, copy.components, copy.injected, copy.env

    def run(self, mode: str, command: str, config: Dict[str, Any], catalog: Optional[Dict[str, Any]] = None, script: bool = False) -> Run:
        """``script``: start the console script itself, not a run forked after its imports."""
        if mode == "package":
            return run_cli(command, config, catalog, cli=[CLI] if script else None)
        forked = {"cli": [SDM], "env": self.env} if script else {"manifest_only": self.copy}
        if mode == "manifest_path":
            extra = ["--manifest-path", str(self.manifest), "--components-path", str(self.components)]
            return run_cli(command, config, catalog, extra_args=extra, **forked)  # type: ignore[arg-type]
        if mode == "injected_config":
            return run_cli(command, {**config, **self.injected}, catalog, **forked)  # type: ignore[arg-type]
        raise ValueError(mode)

    def close(self) -> None:
        self.copy.close()


@pytest.fixture(scope="module")
def server() -> Iterator[EmulatorServer]:
    with running_emulator(small_workspace(), token=TOKEN) as emulator:
        yield emulator


@pytest.fixture(scope="module")
def connector(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Connector]:
    copy = manifest_only_copy(tmp_path_factory.mktemp("manifest-only"))
    yield Connector(copy)
    copy.close()


def discover_and_read_in_every_mode(folder: Path) -> Dict[str, Dict[str, Dict[str, Any]]]:
    """`discover`, then a full-refresh `read` of every stream (the package's catalog), per mode.
    The modes run at once, each against an emulator of its own serving the same workspace
    (Intercom allows one companies scroll at a time per workspace)."""
    copy = manifest_only_copy(folder)
    connector = Connector(copy)
    workspaces = [small_workspace()]
    workspaces += [small_workspace(anchor_time=workspaces[0].anchor) for _ in MANIFEST_ONLY_MODES]
    with contextlib.ExitStack() as stack:
        stack.enter_context(contextlib.closing(copy))
        servers = dict(zip(ALL_MODES, (stack.enter_context(running_emulator(w, token=TOKEN)) for w in workspaces)))
        discover = connector.run("package", "discover", config_for(servers["package"]))
        assert discover.returncode == 0 and discover.of_type("CATALOG"), f"package discover failed:\n{discover.stdout[-3000:]}\n{discover.stderr[-3000:]}"
        catalog = catalog_for(discover.catalog()["streams"], incremental=False)  # the package's: every mode reads it

        def discover_and_read(mode: str) -> Dict[str, Run]:
            config = config_for(servers[mode])
            return {"discover": discover if mode == "package" else connector.run(mode, "discover", config),
                    "read": connector.run(mode, "read", config, catalog)}

        with ThreadPoolExecutor(len(ALL_MODES)) as pool:
            done = dict(zip(ALL_MODES, pool.map(discover_and_read, ALL_MODES)))
    for mode, runs in done.items():
        assert runs["discover"].returncode == 0 and runs["discover"].of_type("CATALOG"), f"{mode} discover failed:\n{runs['discover'].stdout[-3000:]}\n{runs['discover'].stderr[-3000:]}"

    def as_if_from_the_packages_emulator(mode: str, messages: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
        # Records hold URLs on the emulator's own address (a call's recording_url), as Intercom's hold its host.
        return json.loads(json.dumps(messages).replace(servers[mode].url, servers["package"].url))  # type: ignore[no-any-return]

    return {mode: {command: {"returncode": run.returncode, "messages": as_if_from_the_packages_emulator(mode, run.messages), "stderr": run.stderr, "stdout": run.stdout}
                   for command, run in runs.items()} for mode, runs in done.items()}


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Dict[str, Run]]:
    """Each mode's `discover` and `read` (see discover_and_read_in_every_mode), run once for the
    session, whichever test process asks first."""
    done = once_per_session(tmp_path_factory, "manifest-only", discover_and_read_in_every_mode)
    runs = {mode: {command: Run(**run) for command, run in commands.items()} for mode, commands in done.items()}
    return runs.__getitem__


def test_the_package_is_hidden_from_manifest_only_runs(connector: Connector) -> None:
    probe = subprocess.run([sys.executable, "-c", "import source_intercom"], capture_output=True, text=True, env=connector.env)
    assert probe.returncode != 0 and "manifest-only mode must not import the package" in probe.stderr
    class_names = re.findall(r"class_name:\s*(\S+)", connector.manifest.read_text())
    assert class_names and all(name.startswith("source_declarative_manifest.components.") for name in class_names), class_names


@pytest.mark.parametrize("mode", ALL_MODES)
def test_check_succeeds(server: EmulatorServer, connector: Connector, mode: str) -> None:
    run = connector.run(mode, "check", config_for(server), script=True)  # each mode's command from its start
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert run.connection_status()["status"] == "SUCCEEDED", run.connection_status()


@pytest.mark.parametrize("mode", ALL_MODES)
def test_check_refuses_plain_http_base_url_with_the_connectors_message(server: EmulatorServer, connector: Connector, mode: str) -> None:
    run = connector.run(mode, "check", config_for(server, base_url="http://example.com"))
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    status = run.connection_status()
    assert status["status"] == "FAILED"
    # The connector's own message (components.ValidateConfigField), not a generic CDK error.
    assert "Config field 'base_url' uses plain http to a host that is not this machine" in status["message"]
    assert "Use an https:// URL" in status["message"]
    assert TOKEN not in run.stdout + run.stderr


# The first of these computes the session's runs (results): it starts early (conftest.py).
@pytest.mark.parametrize("mode", [pytest.param(MANIFEST_ONLY_MODES[0], marks=pytest.mark.long(80)), *MANIFEST_ONLY_MODES[1:]])
def test_discover_gives_the_packages_catalog(results: Callable[[str], Dict[str, Run]], mode: str) -> None:
    def described(run: Run) -> Dict[str, Dict[str, Any]]:
        return {
            stream["name"]: {
                "json_schema": stream["json_schema"],
                "supported_sync_modes": sorted(stream["supported_sync_modes"]),
                "source_defined_primary_key": stream.get("source_defined_primary_key"),
                "default_cursor_field": stream.get("default_cursor_field"),
                "source_defined_cursor": stream.get("source_defined_cursor"),
                "is_resumable": stream.get("is_resumable"),
            }
            for stream in run.catalog()["streams"]
        }

    expected, actual = described(results("package")["discover"]), described(results(mode)["discover"])
    assert sorted(expected) == sorted(stream_facts())
    assert sorted(actual) == sorted(expected)
    for name in expected:
        assert actual[name] == expected[name], name


@pytest.mark.parametrize("mode", MANIFEST_ONLY_MODES)
def test_read_gives_the_packages_records(results: Callable[[str], Dict[str, Run]], mode: str) -> None:
    expected, actual = results("package")["read"], results(mode)["read"]
    for run in (expected, actual):
        assert run.returncode == 0 and not run.errors, run.errors or run.stderr[-3000:]
    streams = [s["stream"]["name"] for s in catalog_for(results("package")["discover"].catalog()["streams"])["streams"]]
    assert sorted(expected.records) == sorted(streams), "the reference read must return records for every stream"
    assert sorted(actual.records) == sorted(expected.records)
    for stream in streams:
        assert sorted(actual.keys(stream), key=repr) == sorted(expected.keys(stream), key=repr), stream
        # The full data, for every record (a superset of sampling some).
        by_key = {repr(record_key(stream, r)): r for r in expected.records[stream]}
        mismatched: List[str] = [repr(record_key(stream, r)) for r in actual.records[stream] if by_key[repr(record_key(stream, r))] != r]
        assert not mismatched, f"{stream}: {len(mismatched)} records differ, e.g. {mismatched[:3]}"
