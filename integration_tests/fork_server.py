"""Runs of a Python command forked from a process that has imported what the command imports.

The manifest-only runtime (``source-declarative-manifest``) and the Connector Builder's backend
(``python -m airbyte_cdk.connector_builder.main``) spend about 2 CPU-s starting Python and
importing airbyte-cdk before they look at their arguments, and the suite starts them some 50 times
on two cores. integration_tests/cli_process.py does the same for the package's CLI with
multiprocessing's fork server; these commands need a server of their own, started with the
environment they start in (the folder that hides the package, AIRBYTE_ENABLE_UNSAFE_CODE), which
multiprocessing's one server per process cannot have.

``ForkServer(preload, env)`` starts this file as a script (stdlib only: it must not import the
package it may be hiding) with the environment ``env``; the script imports the modules
``preload`` and then, for each run asked over a Unix socket, forks a child that takes the run's
arguments, environment, working folder, stdout and stderr (sent as file descriptors) and runs the
command: a module as ``python -m`` runs it, or a console script's function. Everything from there
is the real thing: a process of its own with its own exit code, files, HTTP and signals.
``SOURCE_INTERCOM_TEST_FORK=0`` (see cli_process) starts every run as a new process instead.
"""

from __future__ import annotations

import io
import json
import os
import selectors
import socket
import subprocess
import sys
import threading
import traceback
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

READY_WITHIN = 600  # seconds: a hang detector for the server's imports
_MESSAGE_BYTES = 1 << 20


# --- the server (this file run as a script) ---


def _standard_stream(fd: int, errors: str, line_buffering: bool) -> io.TextIOWrapper:
    """The stream a new interpreter opens on ``fd`` when it is not a terminal: buffered (stderr by
    line), or unbuffered under PYTHONUNBUFFERED."""
    unbuffered = bool(os.environ.get("PYTHONUNBUFFERED"))
    raw = io.FileIO(fd, "w", closefd=False)
    binary = raw if unbuffered else io.BufferedWriter(raw)
    return io.TextIOWrapper(binary, encoding="utf-8", errors=errors, line_buffering=line_buffering, write_through=unbuffered)  # type: ignore[arg-type]


def become(argv: Sequence[str], env: Mapping[str, str], stdout: int, stderr: int) -> None:
    """In a forked child: take the run's stdout and stderr (the descriptors received, then closed),
    its environment and its arguments, with the standard streams a new interpreter opens on them.
    (Also the children of integration_tests/cli_process.py.)"""
    os.dup2(stdout, 1)
    os.dup2(stderr, 2)
    os.close(stdout)
    os.close(stderr)
    os.environ.clear()
    os.environ.update(env)
    sys.stdout = _standard_stream(1, "strict", line_buffering=False)
    sys.stderr = _standard_stream(2, "backslashreplace", line_buffering=True)
    sys.argv = list(argv)


def _run_in_child(request: Dict[str, Any], stdout: int, stderr: int) -> None:
    """In the forked child: become the command, then exit with its exit code."""
    code = 1
    try:
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.close(devnull)
        become([request["argv0"], *request["args"]], request["env"], stdout, stderr)
        if request.get("cwd"):
            os.chdir(request["cwd"])
        # sys.path[0] as the real command has it: the working folder for `python -m`, the script's folder for a console script.
        sys.path[0] = os.getcwd() if "module" in request else os.path.dirname(request["argv0"])
        try:
            if "module" in request:
                import runpy

                runpy.run_module(request["module"], run_name="__main__", alter_sys=True)
            else:
                module, function = request["function"].split(":")
                sys.exit(getattr(__import__(module, fromlist=[function]), function)())
            code = 0
        except SystemExit as done:
            code = done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
            if done.code is not None and not isinstance(done.code, int):
                print(done.code, file=sys.stderr)
        except BaseException:  # as the interpreter ends a script: sys.excepthook, exit code 1
            sys.excepthook(*sys.exc_info())
            code = 1
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:  # noqa: BLE001 - a closed pipe: nothing more to write
                pass
    except BaseException:  # noqa: BLE001 - whatever happens, the child must not return into the server's loop
        traceback.print_exc()
    finally:
        os._exit(code)


def serve(channel: socket.socket, preload: Sequence[str]) -> None:
    for module in preload:
        __import__(module)
    import gc
    gc.freeze()  # what every run inherits stays out of its garbage collections (see cli_preload.py)
    channel.send(json.dumps({"ready": True}).encode())
    runs: Dict[int, int] = {}  # pid -> request id
    selector = selectors.DefaultSelector()
    selector.register(channel, selectors.EVENT_READ)
    while True:
        if selector.select(timeout=0.05):
            data, fds, _, _ = socket.recv_fds(channel, _MESSAGE_BYTES, 2)
            if not data:
                return  # the test process is gone: its runs live on until they end
            request = json.loads(data)
            pid = os.fork()
            if pid == 0:
                channel.close()
                _run_in_child(request, *fds)
            for fd in fds:
                os.close(fd)
            runs[pid] = request["id"]
            channel.send(json.dumps({"id": request["id"], "pid": pid}).encode())
        while runs:
            pid, status = os.waitpid(-1, os.WNOHANG)
            if pid == 0:
                break
            channel.send(json.dumps({"id": runs.pop(pid), "exit": os.waitstatus_to_exitcode(status)}).encode())


# --- the client (imported by the tests) ---


class ForkedRun:
    """A run forked by the server, with the part of ``subprocess.Popen``'s interface the tests use."""

    def __init__(self, pid: int, command: str) -> None:
        self.pid = pid
        self._command = command
        self._done = threading.Event()
        self._exit: Optional[int] = None

    def _ended(self, code: int) -> None:
        self._exit = code
        self._done.set()

    def poll(self) -> Optional[int]:
        return self._exit

    def wait(self, timeout: Optional[float] = None) -> int:
        if not self._done.wait(timeout):
            raise subprocess.TimeoutExpired(self._command, timeout or 0)
        assert self._exit is not None
        return self._exit

    def kill(self) -> None:
        if self._exit is None:
            try:
                os.kill(self.pid, 9)
            except ProcessLookupError:
                pass


class ForkServer:
    """A server process, started with ``env``, that has imported ``preload`` and forks runs."""

    def __init__(self, preload: Sequence[str], env: Mapping[str, str]) -> None:
        self.env = dict(env)
        self._channel, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self._process = subprocess.Popen(
            [sys.executable, __file__, str(theirs.fileno()), *preload],
            env=self.env, pass_fds=[theirs.fileno()], stdin=subprocess.DEVNULL,
        )
        theirs.close()
        self._channel.settimeout(READY_WITHIN)
        answer = self._channel.recv(_MESSAGE_BYTES)
        if not answer or not json.loads(answer).get("ready"):
            self.close()
            raise RuntimeError(f"the fork server for {list(preload)} did not start (exit {self._process.poll()})")
        self._channel.settimeout(None)
        self._lock = threading.Lock()
        self._next_id = 0
        self._started: Dict[int, Tuple[threading.Event, List[ForkedRun]]] = {}
        self._runs: Dict[int, ForkedRun] = {}
        threading.Thread(target=self._read_answers, daemon=True).start()

    def start(self, command: Mapping[str, str], argv0: str, args: Sequence[str], stdout: int, stderr: int,
              env: Mapping[str, str], cwd: Optional[str] = None) -> ForkedRun:
        """Fork a run of ``command`` ({"module": M} or {"function": "module:function"}) with
        ``sys.argv == [argv0, *args]``, this environment and working folder, writing to the file
        descriptors ``stdout`` and ``stderr``."""
        with self._lock:
            self._next_id += 1
            request_id = self._next_id
            started: Tuple[threading.Event, List[ForkedRun]] = (threading.Event(), [])
            self._started[request_id] = started
            request = {"id": request_id, **command, "argv0": argv0, "args": list(args), "env": dict(env), "cwd": cwd}
            socket.send_fds(self._channel, [json.dumps(request).encode()], [stdout, stderr])
        if not started[0].wait(READY_WITHIN):
            raise RuntimeError(f"the fork server did not fork {argv0} {' '.join(args[:1])} within {READY_WITHIN} s")
        return started[1][0]

    def _read_answers(self) -> None:
        while True:
            try:
                data = self._channel.recv(_MESSAGE_BYTES)
            except OSError:
                return
            if not data:
                return
            answer = json.loads(data)
            with self._lock:
                if "pid" in answer:
                    run = self._runs[answer["id"]] = ForkedRun(answer["pid"], f"run {answer['id']}")
                    event, holder = self._started.pop(answer["id"])
                    holder.append(run)
                    event.set()
                else:
                    self._runs.pop(answer["id"])._ended(answer["exit"])

    def close(self) -> None:
        # The server ends when it sees the socket closed; shutdown also wakes the answers' reader
        # (a close alone would not, and the socket would stay open while it waits).
        try:
            self._channel.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._channel.close()
        try:
            self._process.wait(60)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()


if __name__ == "__main__":
    serve(socket.socket(fileno=int(sys.argv[1])), sys.argv[2:])
