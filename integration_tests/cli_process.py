"""The ``source-intercom`` CLI as a process of its own, without paying for its imports every time.

A run of the console script spends about 1.4 s of CPU starting Python and importing airbyte-cdk
before it looks at its arguments, and the suite runs the CLI some 150 times on two cores. So, by
default, a process that has imported the package already (multiprocessing's fork server, one per
test process) forks a child for each run. The child takes the run's arguments, environment, stdout
and stderr, then calls the console script's function (``source_intercom.run:run``), which is what
the script does once its imports are done. Everything from there is the real thing: a process of
its own with its own exit code, files, HTTP, signals (a SIGKILL kills that run alone), stdout and
stderr.

What a forked run skips, the interpreter's start and the imports, is still run by every test that
names the command itself (``cli=[CLI]``: the spec test, test_cli's comparison of forked runs with
the script; and the container entrypoint, the main job, the manifest-only runs).
``SOURCE_INTERCOM_TEST_FORK=0`` starts the script itself for every run.
"""

from __future__ import annotations

import functools
import multiprocessing
import os
import subprocess
import sys
from multiprocessing import reduction
from pathlib import Path
from typing import Any, Dict, Mapping, Optional, Sequence, Tuple, Union

from integration_tests import fork_server

CLI = str(Path(sys.executable).with_name("source-intercom"))
# Imported once by the fork server; every forked run starts with them loaded.
PRELOADED = ["integration_tests.cli_preload", "source_intercom.run", __name__]
# Variables that act while Python starts or imports: a run whose environment has other values than
# the fork server had when it started is not forked from it.
STARTUP_VARIABLES = ("PYTHON", "AIRBYTE_ENABLE_UNSAFE_CODE")


def forking_enabled() -> bool:
    return os.environ.get("SOURCE_INTERCOM_TEST_FORK", "1") != "0"


def _startup_variables(environment: Mapping[str, str]) -> Dict[str, str]:
    return {name: value for name, value in environment.items() if name.startswith(STARTUP_VARIABLES)}


@functools.lru_cache(maxsize=None)
def _fork_server() -> Tuple[Any, Dict[str, str]]:
    """multiprocessing's fork-server context (the server itself starts with the first run), and
    the startup variables of the environment it starts in."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(PRELOADED)
    return context, _startup_variables(os.environ)


class _FileDescriptor:
    """A file descriptor handed to the forked child (multiprocessing sends it with the child's arguments)."""

    def __init__(self, fd: int) -> None:
        self.fd = fd

    def __reduce__(self) -> Tuple[Any, Tuple[Any]]:
        return _received, (reduction.DupFd(self.fd),)


def _received(duplicate: Any) -> int:
    return duplicate.detach()  # type: ignore[no-any-return]


def _run_console_script(args: Sequence[str], env: Mapping[str, str], stdout: int, stderr: int) -> None:
    """In the forked child: become ``source-intercom ARGS`` with this environment, stdout and stderr."""
    fork_server.become([CLI, *args], env, stdout, stderr)
    from source_intercom.run import run

    try:
        run()
    except Exception:  # as the interpreter ends a script: sys.excepthook (the CDK's prints a TRACE), exit code 1
        sys.excepthook(*sys.exc_info())
        raise SystemExit(1)


class ForkedRun:
    """A forked run, with the part of ``subprocess.Popen``'s interface the harness uses."""

    def __init__(self, process: Any) -> None:
        self._process = process
        self.pid: int = process.pid

    def poll(self) -> Optional[int]:
        return self._process.exitcode  # type: ignore[no-any-return]

    def wait(self, timeout: Optional[float] = None) -> int:
        self._process.join(timeout)
        if self._process.exitcode is None:
            raise subprocess.TimeoutExpired(CLI, timeout or 0)
        return self._process.exitcode  # type: ignore[no-any-return]

    def kill(self) -> None:
        if self._process.exitcode is None:
            self._process.kill()


Started = Union[ForkedRun, fork_server.ForkedRun, "subprocess.Popen[bytes]"]


def start_cli(args: Sequence[str], stdout: int, stderr: int, env: Optional[Mapping[str, str]] = None,
              cli: Optional[Sequence[str]] = None) -> Started:
    """Start ``source-intercom ARGS`` (or ``cli ARGS``) with the environment ``env`` (default: this
    process's), writing to the file descriptors ``stdout`` and ``stderr``. Forked from the fork
    server when no other command is named, forking is enabled and the environment's startup
    variables are the fork server's; otherwise as a new process."""
    environment = dict(os.environ if env is None else env)
    if cli is None and forking_enabled():
        context, server_startup = _fork_server()
        if _startup_variables(environment) == server_startup:
            process = context.Process(target=_run_console_script, args=(list(args), environment, _FileDescriptor(stdout), _FileDescriptor(stderr)))
            process.start()
            return ForkedRun(process)
    return subprocess.Popen([*(cli or [CLI]), *args], stdout=stdout, stderr=stderr, stdin=subprocess.DEVNULL, env=environment)
