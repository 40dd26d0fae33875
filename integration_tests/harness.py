"""Runs the real ``source-intercom`` CLI, each run a process of its own (see cli_process), and reads what it says."""

from __future__ import annotations

import copy
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Set, Tuple

import yaml

from integration_tests.cli_process import CLI, Started, forking_enabled, start_cli
from integration_tests.fork_server import ForkServer
from source_intercom.manifest_file import MANIFEST_PATH
from source_intercom.stream_facts import stream_facts

START_DATE = "2025-10-25T00:00:00Z"  # before every workspace's first record: they span at most the 400 days before now (2026-12-03 or later)
START_TS = 1761350400

def record_key(stream: str, data: Dict[str, Any]) -> Any:
    """The record's primary key as the manifest declares it (one value, or a tuple)."""
    return stream_facts()[stream].key_of(data)


@dataclass
class Run:
    """One CLI invocation: its exit code and the Airbyte messages it printed."""

    returncode: int
    messages: List[Dict[str, Any]]
    stderr: str
    stdout: str = ""
    records: Dict[str, List[Dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))

    def __post_init__(self) -> None:
        for message in self.messages:
            if message["type"] == "RECORD":
                self.records[message["record"]["stream"]].append(message["record"]["data"])

    def of_type(self, kind: str) -> List[Dict[str, Any]]:
        return [m for m in self.messages if m["type"] == kind]

    def keys(self, stream: str) -> List[Any]:
        return [record_key(stream, r) for r in self.records.get(stream, [])]

    def key_set(self, stream: str) -> Set[Any]:
        return set(self.keys(stream))

    @property
    def states(self) -> List[Dict[str, Any]]:
        return [m["state"] for m in self.of_type("STATE")]

    def final_state(self) -> List[Dict[str, Any]]:
        """The last state message of every stream: what a platform would persist."""
        latest: Dict[str, Dict[str, Any]] = {}
        for state in self.states:
            latest[state["stream"]["stream_descriptor"]["name"]] = state
        return [{"type": "STREAM", "stream": s["stream"]} for s in latest.values()]

    @property
    def errors(self) -> List[Dict[str, Any]]:
        return [m["trace"]["error"] for m in self.of_type("TRACE") if m["trace"]["type"] == "ERROR"]

    def logs(self, *levels: str) -> List[str]:
        return [m["log"]["message"] for m in self.of_type("LOG") if not levels or m["log"]["level"] in levels]

    def connection_status(self) -> Dict[str, Any]:
        return self.of_type("CONNECTION_STATUS")[-1]["connectionStatus"]

    def catalog(self) -> Dict[str, Any]:
        return self.of_type("CATALOG")[-1]["catalog"]


def parse_messages(stdout: str) -> List[Dict[str, Any]]:
    messages = []
    for line in stdout.splitlines():
        line = line.strip()
        if line.startswith("{"):
            messages.append(json.loads(line))
    return messages


# The companies scroll's expiry in the tests that lose or leave scrolls (Intercom: about a minute):
# a test then waits seconds, not a minute, for a scroll to expire; long enough that a busy machine
# does not expire a scroll between two of its pages.
SCROLL_EXPIRY = 2.0


def scroll_expiry_env(seconds: float) -> Dict[str, str]:
    """The environment for a connector run against an emulator whose companies scroll expires
    after ``seconds`` unused (Intercom: about a minute): the connector then waits that long, not a
    minute, for a scroll it lost (or a killed run left open) to expire."""
    return {**os.environ, "SOURCE_INTERCOM_SCROLL_EXPIRY_SECONDS": str(seconds)}


# Put first on a manifest-only run's PYTHONPATH as sitecustomize.py: hides the package.
HIDE_PACKAGE = '''\
import sys


class _HideSourceIntercom:
    """Manifest-only runs must not use the source_intercom package."""

    def find_spec(self, name, path=None, target=None):
        if name == "source_intercom" or name.startswith("source_intercom."):
            raise ImportError(f"{name} is hidden: manifest-only mode must not import the package")
        return None


sys.meta_path.insert(0, _HideSourceIntercom())
'''


# What a manifest-only run and a Connector Builder request run, and what a fork server for them
# imports first (see integration_tests/fork_server.py).
SDM = str(Path(sys.executable).with_name("source-declarative-manifest"))
SDM_FUNCTION = "airbyte_cdk.cli.source_declarative_manifest:run"  # the console script's entry point
BUILDER_MODULE = "airbyte_cdk.connector_builder.main"  # run as ``python -m``
# job_polls: the tests' clock for the CDK's export-job polls, imported from beside fork_server.py.
MANIFEST_ONLY_PRELOAD = ["airbyte_cdk.cli.source_declarative_manifest", "airbyte_cdk.connector_builder.connector_builder_handler",
                         "airbyte_cdk.entrypoint", "job_polls"]


@dataclass
class ManifestOnlyCopy:
    """The package's manifest and components copied to a folder of their own, as a manifest-only
    run (the Airbyte platform's, the Connector Builder's) is given them."""

    manifest: Path
    components: Path
    # The config keys that carry the two to a run that is not given their paths, as the platform and
    # the Connector Builder inject them: the parsed manifest, the components' code and its md5 (a
    # wrong or missing checksum is refused).
    injected: Dict[str, Any]
    # The run's environment: custom code allowed (AIRBYTE_ENABLE_UNSAFE_CODE) and the
    # ``source_intercom`` package unimportable, so that a manifest reaching into the package (a
    # ``source_intercom.components.X`` class, a schema file beside the manifest) fails here as it
    # would on the platform.
    env: Dict[str, str]
    _server: Optional[ForkServer] = field(default=None, repr=False)
    _server_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def start_sdm(self, args: Sequence[str], stdout: int, stderr: int) -> Started:
        """``source-declarative-manifest ARGS`` in this copy's environment."""
        return self._start({"function": SDM_FUNCTION}, SDM, [SDM], args, stdout, stderr)

    def start_builder(self, args: Sequence[str], stdout: int, stderr: int, cwd: str) -> Started:
        """``python -m airbyte_cdk.connector_builder.main ARGS`` in this copy's environment, in ``cwd``."""
        return self._start({"module": BUILDER_MODULE}, sys.executable, [sys.executable, "-m", BUILDER_MODULE], args, stdout, stderr, cwd)

    def _start(self, command: Dict[str, str], argv0: str, program: List[str], args: Sequence[str], stdout: int, stderr: int,
               cwd: Optional[str] = None) -> Started:
        """Forked from this copy's fork server, or (SOURCE_INTERCOM_TEST_FORK=0) a new process."""
        if not forking_enabled():
            return subprocess.Popen([*program, *args], stdout=stdout, stderr=stderr, stdin=subprocess.DEVNULL, env=self.env, cwd=cwd)
        with self._server_lock:
            if self._server is None:
                self._server = ForkServer(MANIFEST_ONLY_PRELOAD, self.env)
        return self._server.start(command, argv0, args, stdout, stderr, self.env, cwd)

    def close(self) -> None:
        """Ends the fork server, if one was started (runs still going live on)."""
        if self._server is not None:
            self._server.close()
            self._server = None


def manifest_only_copy(folder: Path, base_env: Optional[Dict[str, str]] = None) -> ManifestOnlyCopy:
    """Copies manifest.yaml and components.py to ``folder/files``, and writes the sitecustomize.py
    that hides the package to ``folder/hide-package``; ``base_env``: os.environ by default."""
    files, hidden = folder / "files", folder / "hide-package"
    files.mkdir()
    hidden.mkdir()
    for name in (MANIFEST_PATH.name, "components.py"):
        shutil.copyfile(MANIFEST_PATH.parent / name, files / name)
    manifest, components = files / MANIFEST_PATH.name, files / "components.py"
    code = components.read_text()
    injected = {
        "__injected_declarative_manifest": yaml.safe_load(manifest.read_text()),
        "__injected_components_py": code,
        "__injected_components_py_checksums": {"md5": hashlib.md5(code.encode()).hexdigest()},
    }
    base = dict(os.environ if base_env is None else base_env)
    (hidden / "sitecustomize.py").write_text(HIDE_PACKAGE)
    pythonpath = [str(hidden), *filter(None, [base.get("PYTHONPATH")])]
    env = {**base, "AIRBYTE_ENABLE_UNSAFE_CODE": "true", "PYTHONPATH": os.pathsep.join(pythonpath)}
    return ManifestOnlyCopy(manifest, components, injected, env)


def config_for(server: Any, **overrides: Any) -> Dict[str, Any]:
    config = {"access_token": server.token, "start_date": START_DATE, "base_url": server.url}
    config.update(overrides)
    return config


def catalog_for(streams: Iterable[Dict[str, Any]], names: Optional[Sequence[str]] = None, incremental: bool = True) -> Dict[str, Any]:
    """A configured catalog of the discovered streams (all, or those named), incremental where supported."""
    configured = []
    for stream in streams:
        if names is not None and stream["name"] not in names:
            continue
        mode = "incremental" if incremental and "incremental" in stream["supported_sync_modes"] else "full_refresh"
        configured.append(
            {
                "stream": stream,
                "sync_mode": mode,
                "destination_sync_mode": "append_dedup" if mode == "incremental" else "overwrite",
                "cursor_field": stream.get("default_cursor_field") or [],
                "primary_key": stream.get("source_defined_primary_key") or [],
            }
        )
    return {"streams": configured}


def file_args(folder: str, **contents: Any) -> List[str]:
    """``--config``/``--catalog``/``--state`` flags, each given content written to a JSON file in ``folder``."""
    args: List[str] = []
    for name, content in contents.items():
        if content is not None:
            path = Path(folder) / f"{name}.json"
            path.write_text(json.dumps(content))
            args += [f"--{name}", str(path)]
    return args


# A hang detector for one run of the CLI, not a speed limit: the longest run here (a full read of
# the small workspace, or a run that waits out a scroll) takes well under a minute on a quiet
# machine, and several times that on a busy one.
CLI_TIMEOUT = 600


def wait_or_say_it_hung(run: Started, timeout: float, what: str, stderr_path: Path) -> int:
    """The run's exit code; a run still going after ``timeout`` seconds is killed, and the error
    names it with the end of its stderr."""
    try:
        return run.wait(timeout)
    except subprocess.TimeoutExpired:
        run.kill()
        run.wait()
        raise TimeoutError(f"{what} hung: still running after {timeout} s; its stderr ends with:\n{stderr_path.read_text()[-2000:]}") from None


def run_cli(
    command: str,
    config: Optional[Dict[str, Any]] = None,
    catalog: Optional[Dict[str, Any]] = None,
    state: Optional[List[Dict[str, Any]]] = None,
    extra_args: Sequence[str] = (),
    timeout: float = CLI_TIMEOUT,
    cli: Optional[Sequence[str]] = None,
    env: Optional[Dict[str, str]] = None,
    manifest_only: Optional[ManifestOnlyCopy] = None,
) -> Run:
    """``source-intercom COMMAND`` (or ``cli COMMAND``; or, given ``manifest_only``,
    ``source-declarative-manifest COMMAND`` in its environment) with these files; see cli_process
    and fork_server for how the commands start."""
    with tempfile.TemporaryDirectory() as folder:
        args = [command, *file_args(folder, config=config, catalog=catalog, state=state), *extra_args]
        stdout_path, stderr_path = Path(folder) / "stdout.txt", Path(folder) / "stderr.txt"
        with open(stdout_path, "w") as stdout, open(stderr_path, "w") as stderr:
            if manifest_only is not None:
                cli = [SDM]
                proc = manifest_only.start_sdm(args, stdout.fileno(), stderr.fileno())
            else:
                proc = start_cli(args, stdout.fileno(), stderr.fileno(), env, cli)
            code = wait_or_say_it_hung(proc, timeout, f"{' '.join(cli or [CLI])} {command}", stderr_path)
        output = stdout_path.read_text()
        return Run(code, parse_messages(output), stderr_path.read_text(), output)


# Discover sends one request, the list of reporting datasets (test_cli checks it): without the
# export_reporting_data scope (the emulator's default) its catalog depends on the config's options
# only, not on which emulator or token it names. One real `discover` per set of options and test
# process; tests of the reporting streams, whose catalog depends on the emulator, discover anew.
_DISCOVERED: Dict[str, List[Dict[str, Any]]] = {}
_NOT_IN_CATALOG = ("base_url", "access_token")


def discovered_streams(config: Dict[str, Any]) -> List[Dict[str, Any]]:
    """The streams ``discover`` offers for ``config`` (a copy the caller may change)."""
    options = json.dumps({k: v for k, v in config.items() if k not in _NOT_IN_CATALOG}, sort_keys=True)
    if options not in _DISCOVERED:
        run = run_cli("discover", config)
        assert run.returncode == 0, run.stderr + run.stdout[-2000:]
        _DISCOVERED[options] = run.catalog()["streams"]
    return copy.deepcopy(_DISCOVERED[options])


def once_per_session(tmp_path_factory: Any, name: str, compute: Callable[[Path], Any]) -> Any:
    """``compute(folder)``'s result (JSON), computed once for the whole test session, also when
    pytest-xdist runs the tests in several worker processes: the first to ask claims ``name`` and
    computes it in a folder of its own, the others wait for its answer as long as that process
    lives (``compute`` has its own hang detectors: a busy machine only makes the wait longer).
    (xdist's ``loadgroup`` would keep such tests on one worker, but it groups nothing on pytest
    9.2: pytest-xdist#1386.)"""
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent  # the session's folder, above every worker's own
    folder = base / f"once-{name}"
    answer, claimant = folder / "answer.json", folder / "claimant.pid"
    try:
        folder.mkdir()  # atomic: exactly one process claims it
    except FileExistsError:
        while not answer.exists():
            pid = claimant.read_text() if claimant.exists() else ""
            if pid and not _alive(int(pid)) and not answer.exists():
                raise RuntimeError(f"{name}: the process computing it (pid {pid}) ended without an answer ({folder})")
            time.sleep(0.2)
        outcome = json.loads(answer.read_text())
        if "error" in outcome:
            raise RuntimeError(f"{name} failed in the process that computed it: {outcome['error']}")
        return outcome["value"]
    claimant.write_text(str(os.getpid()))
    try:
        value = compute(folder)
        outcome = {"value": value}
    except BaseException as error:
        outcome = {"error": f"{type(error).__name__}: {error}"}
        raise
    finally:
        partial = folder / "answer.partial"
        partial.write_text(json.dumps(outcome))
        partial.replace(answer)
    return value


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True




def run_until(config: Dict[str, Any], catalog: Dict[str, Any], state: Optional[List[Dict[str, Any]]],
              kill_after: Optional[int], env: Optional[Dict[str, str]] = None,
              count_only_records: bool = False) -> Tuple[Optional[int], List[Dict[str, Any]], bool, str]:
    """Run ``read``; SIGKILL it once ``kill_after`` messages (or records) were read from its stdout.

    Returns (exit code, messages read before the end or the kill, killed?, stderr tail).
    """
    with tempfile.TemporaryDirectory() as folder:
        args = ["read", *file_args(folder, config=config, catalog=catalog, state=state)]
        stderr_path = Path(folder) / "stderr.txt"
        read_end, write_end = os.pipe()
        with open(stderr_path, "w") as stderr, open(read_end) as stdout:
            try:
                proc = start_cli(args, write_end, stderr.fileno(), env)
            finally:
                os.close(write_end)  # the child has its own copy: the pipe ends when the child does
            hung = threading.Event()
            watchdog = threading.Timer(CLI_TIMEOUT, lambda: (hung.set(), proc.kill()))
            watchdog.start()
            messages: List[Dict[str, Any]] = []
            records_read = 0
            killed = False
            try:
                for line in stdout:
                    line = line.strip()
                    if not line.startswith("{"):
                        continue
                    messages.append(json.loads(line))
                    records_read += messages[-1]["type"] == "RECORD"
                    if kill_after is not None and (records_read if count_only_records else len(messages)) >= kill_after:
                        os.kill(proc.pid, signal.SIGKILL)
                        killed = True
                        break
                stdout.close()
                code = proc.wait(timeout=CLI_TIMEOUT)
            finally:
                watchdog.cancel()
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
            if hung.is_set():
                raise TimeoutError(f"read hung: still running after {CLI_TIMEOUT} s, {len(messages)} messages in; its stderr ends with:\n"
                                   f"{stderr_path.read_text()[-2000:]}")
        return code, messages, killed, stderr_path.read_text()[-3000:]


@dataclass
class KilledSync:
    """What a platform keeps from a sync killed and resumed: every record, the last states."""

    records: Dict[str, List[Any]] = field(default_factory=lambda: defaultdict(list))
    log: List[str] = field(default_factory=list)
    kills: int = 0
    finished: bool = False


def sync_through_kills(config: Dict[str, Any], catalog: Dict[str, Any], kill_points: Sequence[int], max_attempts: int = 10,
                       env: Optional[Dict[str, str]] = None) -> KilledSync:
    """Runs ``read`` SIGKILLed after each of ``kill_points`` messages in turn, each time resuming from the
    last STATE per stream seen so far; then runs to the end. A run failing by itself is retried."""
    sync = KilledSync()
    state_by_stream: Dict[str, Dict[str, Any]] = {}
    for attempt in range(1, max_attempts + 1):
        kill_after = kill_points[sync.kills] if sync.kills < len(kill_points) else None
        code, messages, killed, stderr = run_until(config, catalog, list(state_by_stream.values()) or None, kill_after, env)
        for message in messages:
            if message["type"] == "RECORD":
                stream = message["record"]["stream"]
                sync.records[stream].append(record_key(stream, message["record"]["data"]))
            elif message["type"] == "STATE":
                name = message["state"]["stream"]["stream_descriptor"]["name"]
                state_by_stream[name] = {"type": "STREAM", "stream": message["state"]["stream"]}
        errors = [m["trace"]["error"].get("internal_message") or m["trace"]["error"].get("message")
                  for m in messages if m["type"] == "TRACE" and m["trace"]["type"] == "ERROR"]
        sync.log.append(f"attempt {attempt}: kill_after={kill_after} killed={killed} exit={code} messages={len(messages)} errors={errors[:2]}")
        if killed:
            sync.kills += 1
        elif code == 0:
            sync.finished = True
            break
        else:
            assert errors or stderr, f"attempt {attempt} failed silently: exit {code}"
    return sync
