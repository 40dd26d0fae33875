#!/usr/bin/env python3
"""Throughput and memory benchmark of the `source-intercom` CLI against the project's emulator.

    .venv/bin/python benchmarks/run.py                                   # 100 ms latency, 1,666 calls / 10 s
    .venv/bin/python benchmarks/run.py --latency 0 --no-rate-limit       # CPU-bound: contacts + conversation_parts
    .venv/bin/python benchmarks/run.py --latency 0 --no-rate-limit --scale 10   # memory at 10x the records

It starts the Intercom emulator in this process, runs `source-intercom discover`, a full `read`
(incremental catalog), lets the emulator change 5 % of the records, and runs an incremental
`read` from the final state. For each sync it prints a Markdown table per stream and in total
(records, requests, wall time, rates, 429s, failures, peak RSS of the connector process) and
writes everything as JSON to benchmarks/results/<timestamp>.json.

Run by hand; it is not part of the test suite (benchmarks/conftest.py keeps pytest out).
"""

from __future__ import annotations

import argparse
import bisect
import dataclasses
import hashlib
import importlib.metadata
import json
import os
import platform
import random
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from intercom_emulator import EmulatorServer, RequestRecord, Workspace, WorkspaceSizes  # noqa: E402
from intercom_emulator.__main__ import parse_fault_rates  # noqa: E402  (the emulator CLI's --fault-rates)
from intercom_emulator.data import PRESETS  # noqa: E402
from integration_tests.harness import catalog_for, record_key  # noqa: E402  (the tests' catalog and record keys)
from integration_tests.request_budget import fewest_requests  # noqa: E402
from source_intercom.stream_facts import stream_facts  # noqa: E402

TOKEN = "benchmark-token"
RATE_LIMIT_PER_10S = 1666
RATE_LIMIT_BOUND = RATE_LIMIT_PER_10S / 10.0  # requests per second Intercom admits at most
CPU_STREAMS = ("contacts", "conversation_parts")
# --families: the streams read together in one sync each; "the rest" is every other stream.
FAMILIES = (
    ("contacts", ("contacts",)),
    ("conversations + conversation_parts", ("conversations", "conversation_parts")),
    ("companies + company_segments", ("companies", "company_segments")),
    ("tickets + ticket_parts", ("tickets", "ticket_parts")),
)
REST_FAMILY = "the rest"
# Sizes that grow with --scale (the rest describe a workspace's setup, not its volume).
SCALED_SIZES = ("companies", "contacts", "conversations", "activity_logs", "tickets")
RECORD_PREFIX = re.compile(rb'^\{"type":"RECORD","record":\{"stream":"([^"]+)"')
MIN_RATE_WINDOW_S = 0.5


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------- environment ----


def git(*args: str) -> str:
    """Output of a read-only git command in the repository ('' when git is unavailable)."""
    try:
        return subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True, check=False).stdout.strip()
    except OSError:
        return ""


def code_version() -> Dict[str, Any]:
    """Which connector code a run measured: the commit, and whether the working tree differs from it."""
    manifest = ROOT / "source_intercom" / "manifest.yaml"
    status = git("status", "--short", "source_intercom")
    return {
        "commit": git("log", "-1", "--format=%h"),
        "source_intercom_status": status.splitlines(),
        "manifest_modified": any(line.endswith("manifest.yaml") for line in status.splitlines()),
        "manifest_sha256": hashlib.sha256(manifest.read_bytes()).hexdigest()[:16],
        "connector_api_budget": connector_budget(),
    }


def connector_budget() -> List[str]:
    """The manifest's client-side call budget (policies), which throttles even with the server's limit off."""
    import yaml  # airbyte-cdk depends on PyYAML

    budget = (yaml.safe_load((ROOT / "source_intercom" / "manifest.yaml").read_text()) or {}).get("api_budget") or {}
    return [f"{p.get('type')} {p.get('call_limit', p.get('rates'))} per {p.get('period', '')}".strip()
            for p in budget.get("policies") or []]


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine() -> Dict[str, Any]:
    try:
        nproc = int(subprocess.run(["nproc"], capture_output=True, text=True, check=True).stdout)
    except (OSError, ValueError, subprocess.CalledProcessError):
        nproc = os.cpu_count() or 0
    return {
        "nproc": nproc,
        "cpu_model": cpu_model(),
        "python": platform.python_version(),
        "airbyte_cdk": importlib.metadata.version("airbyte-cdk"),
        "platform": platform.platform(),
    }


# -------------------------------------------------------------------------- measurements ----


@dataclass
class StreamFigures:
    """One stream in one sync."""

    records: int = 0
    requests: int = 0
    rate_limited: int = 0  # 429s
    failed: int = 0  # neither 2xx nor 429 (status 0 = connection dropped)
    first_record_s: Optional[float] = None  # seconds after the connector started
    last_record_s: Optional[float] = None
    first_request_s: Optional[float] = None
    last_response_s: Optional[float] = None
    max_concurrent_requests: int = 0

    @property
    def wall_s(self) -> Optional[float]:
        """Time from the stream's first to its last record (None with fewer than two records)."""
        if self.first_record_s is None or self.last_record_s is None or self.records < 2:
            return None
        return self.last_record_s - self.first_record_s

    @property
    def request_window_s(self) -> Optional[float]:
        if self.first_request_s is None or self.last_response_s is None:
            return None
        return self.last_response_s - self.first_request_s

    def as_dict(self) -> Dict[str, Any]:
        out = dataclasses.asdict(self)
        out["wall_s"] = self.wall_s
        out["request_window_s"] = self.request_window_s
        # Rates over windows shorter than MIN_RATE_WINDOW_S (one response's worth) say nothing.
        out["records_per_s"] = rate(self.records, self.wall_s) if (self.wall_s or 0) >= MIN_RATE_WINDOW_S else None
        window = self.request_window_s or 0
        out["requests_per_s"] = rate(self.requests, window) if window >= MIN_RATE_WINDOW_S and self.requests > 1 else None
        return out


@dataclass
class SyncResult:
    """One `source-intercom` invocation."""

    name: str
    command: List[str]
    code: Dict[str, Any]
    exit_code: Optional[int] = None
    timed_out: bool = False
    wall_s: float = 0.0
    streams: Dict[str, StreamFigures] = field(default_factory=dict)
    # The connector's peak RSS: VmHWM polled from /proc/<pid>/status (the high-water mark of its
    # own address space, so only growth in its last poll interval before exit can be missed).
    peak_rss_mib: Optional[float] = None
    # ru_maxrss from wait4 on the child, kept for reference only: Linux carries the maximum over to
    # the child from the address space it had before exec, i.e. this process's (the emulator's)
    # RSS at spawn time, so it overstates the connector's peak whenever the emulator is larger.
    ru_maxrss_mib: Optional[float] = None
    connector_cpu_s: Optional[float] = None  # user + system CPU of the connector process
    emulator_cpu_s: float = 0.0  # user + system CPU of this process (emulator threads + stdout reader) during the sync
    other_cpu_s: float = 0.0  # CPU seconds other processes on the machine used during the sync
    load_average_before: float = 0.0  # 1-minute load average when the sync started
    max_in_flight: int = 0  # emulator: most requests being served at once
    peak_10s_window: int = 0  # emulator: most requests admitted in one aligned 10-second window
    peak_60s_requests: int = 0  # emulator: most requests that started within any 60 seconds
    by_status: Dict[str, int] = field(default_factory=dict)
    scroll_opens: int = 0  # /companies/scroll requests without scroll_param (new scroll passes)
    scroll_waits: int = 0  # 400 scroll_exists answers (a second scroll was refused)
    search_first_pages: Dict[str, int] = field(default_factory=dict)  # search requests without starting_after
    detail_requests: Dict[str, int] = field(default_factory=dict)  # a record's details: /contacts/{id}/tags, /tickets/{id}, ...
    faults_injected: int = 0  # by the emulator (--fault-rates)
    fewest_requests: Optional[int] = None  # what any connector needs for this sync (full reads only)
    keys: Dict[str, List[Any]] = field(default_factory=lambda: defaultdict(list))  # record keys of --check streams
    completeness: Dict[str, Dict[str, int]] = field(default_factory=dict)  # per --check stream, against the ground truth
    errors: List[str] = field(default_factory=list)
    final_state: List[Dict[str, Any]] = field(default_factory=list)

    @property
    def records(self) -> int:
        return sum(s.records for s in self.streams.values())

    @property
    def requests(self) -> int:
        return sum(s.requests for s in self.streams.values())

    def totals(self) -> Dict[str, Any]:
        requests_per_s = rate(self.requests, self.wall_s)
        return {
            "records": self.records,
            "requests": self.requests,
            "wall_s": self.wall_s,
            "records_per_s": rate(self.records, self.wall_s),
            "requests_per_s": requests_per_s,
            "fraction_of_rate_limit": (requests_per_s / RATE_LIMIT_BOUND) if requests_per_s is not None else None,
            "rate_limit_bound_s": self.requests / RATE_LIMIT_BOUND,
            "rate_limited": sum(s.rate_limited for s in self.streams.values()),
            "failed": sum(s.failed for s in self.streams.values()),
            "connector_cpu_per_wall": rate(self.connector_cpu_s or 0, self.wall_s) if self.connector_cpu_s is not None else None,
        }

    def as_dict(self) -> Dict[str, Any]:
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name not in ("streams", "final_state", "keys")}
        out["streams"] = {name: figures.as_dict() for name, figures in sorted(self.streams.items())}
        out["totals"] = self.totals()
        return out


def rate(count: float, seconds: Optional[float]) -> Optional[float]:
    return count / seconds if seconds else None


def _stream_paths() -> List[Tuple[str, "re.Pattern[str]"]]:
    """(stream, its request path as a pattern) from the manifest's facts: paths without
    placeholders first, so /conversations/deleted is not read as /conversations/{id}; a path
    several streams share (a reading's) goes to the first of them, its parent."""
    facts = [(name, f.api_path) for name, f in stream_facts().items() if f.api_path]
    facts.sort(key=lambda fact: "{" in fact[1])
    return [(name, re.compile(re.sub(r"\\{[^}]*\\}", "[^/]+", re.escape(path)))) for name, path in facts]


STREAM_PATHS = _stream_paths()
# A record's details fetched by a reading: a contact's lists beyond the 10 embedded, a ticket's parts.
DETAIL_PATH = re.compile(r"/(contacts|tickets)/(?!search$)[^/]+(?:/(tags|companies|notes))?")
ATTRIBUTE_MODELS = {"company": "company_attributes", "contact": "contact_attributes", "conversation": "conversation_attributes"}


def stream_of(request: RequestRecord) -> str:
    """The stream a request served (parents' reads count for the parent stream, a record's
    details for the reading's first stream: a contact's lists for contacts, a ticket's parts for
    tickets)."""
    path = "/" + request.path.strip("/")
    if path == "/data_attributes":
        return ATTRIBUTE_MODELS.get((request.query.get("model") or [""])[0], "other")
    if path == "/me":
        return "me (check)"
    for name, pattern in STREAM_PATHS:
        if pattern.fullmatch(path):
            return name
    for prefix, name in (("/contacts/", "contacts"), ("/tickets/", "tickets"), ("/conversations/", "conversation_parts")):
        if path.startswith(prefix):
            return name
    return "other"


def max_overlap(intervals: Iterable[Tuple[float, float]]) -> int:
    """Most intervals open at one instant."""
    events = sorted([(start, 1) for start, _ in intervals] + [(end, -1) for _, end in intervals], key=lambda e: (e[0], e[1]))
    best = current = 0
    for _, step in events:
        current += step
        best = max(best, current)
    return best


def attribute_requests(result: SyncResult, requests: Sequence[RequestRecord], wall_offset: float) -> None:
    """Per-stream request counts, statuses, time windows and concurrency from the emulator's log.

    `wall_offset` is the unix time at which the connector process was started.
    """
    intervals: Dict[str, List[Tuple[float, float]]] = defaultdict(list)
    statuses: Counter[str] = Counter()
    windows: Counter[int] = Counter()
    for request in requests:
        name = stream_of(request)
        figures = result.streams.setdefault(name, StreamFigures())
        figures.requests += 1
        statuses[str(request.status)] += 1
        if request.status == 429:
            figures.rate_limited += 1
        elif not 200 <= request.status < 300:
            figures.failed += 1
        else:
            windows[int(request.started // 10)] += 1
        start, end = request.started - wall_offset, request.ended - wall_offset
        intervals[name].append((start, end))
        figures.first_request_s = start if figures.first_request_s is None else min(figures.first_request_s, start)
        figures.last_response_s = end if figures.last_response_s is None else max(figures.last_response_s, end)
        if request.path == "/companies/scroll":
            if not request.query.get("scroll_param"):
                result.scroll_opens += 1
            if request.status == 400:
                result.scroll_waits += 1
        if request.path.endswith("/search") and not ((request.body or {}).get("pagination") or {}).get("starting_after"):
            result.search_first_pages[name] = result.search_first_pages.get(name, 0) + 1
        detail = DETAIL_PATH.fullmatch(request.path)
        if detail:
            kind = "/".join(part for part in (detail.group(1), "{id}", detail.group(2)) if part)
            result.detail_requests[kind] = result.detail_requests.get(kind, 0) + 1
    for name, spans in intervals.items():
        result.streams[name].max_concurrent_requests = max_overlap(spans)
    result.by_status = dict(sorted(statuses.items()))
    result.peak_10s_window = max(windows.values(), default=0)
    starts = sorted(request.started for request in requests)
    result.peak_60s_requests = max((bisect.bisect_right(starts, t + 60) - i for i, t in enumerate(starts)), default=0)


def machine_busy_cpu_s() -> float:
    """CPU seconds every process on the machine has used since boot (from /proc/stat)."""
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    except (OSError, IndexError):
        return 0.0
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(v) for v in (fields + ["0"] * 8)[:8])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


class RssPoller:
    """Polls VmHWM (the kernel's peak-RSS mark) of one process until it exits."""

    def __init__(self, pid: int, interval: float = 0.1) -> None:
        self.pid = pid
        self.interval = interval
        self.vmhwm_kib = 0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._poll, name=f"rss-{pid}", daemon=True)
        self._thread.start()

    def _poll(self) -> None:
        status = Path(f"/proc/{self.pid}/status")
        while not self._done.is_set():
            try:
                for line in status.read_text().splitlines():
                    if line.startswith("VmHWM:"):
                        self.vmhwm_kib = max(self.vmhwm_kib, int(line.split()[1]))
            except (OSError, ValueError, IndexError):
                return
            self._done.wait(self.interval)

    def stop(self) -> None:
        self._done.set()
        self._thread.join()


# -------------------------------------------------------------------------------- running ----

SCRATCH = "<scratch>"  # how results name a run's temporary directory
ELSEWHERE = "<elsewhere>"  # ... and any other directory outside the project


def recorded_path(path: str, scratch: Path, root: Path = ROOT) -> str:
    """`path` as results record it: no machine's path, only where it lies relative to the project.

    Inside the project root: relative to it (`.venv/bin/source-intercom`). In the run's temporary
    directory: `<scratch>/config.json`. Elsewhere: `<elsewhere>/` and the file's name.
    """
    absolute = Path(path).resolve()
    for base, shown in ((root.resolve(), None), (scratch.resolve(), SCRATCH)):
        if absolute.is_relative_to(base):
            relative = absolute.relative_to(base).as_posix()
            return relative if shown is None else f"{shown}/{relative}"
    return f"{ELSEWHERE}/{absolute.name}"


def recorded_command(command: Sequence[str], scratch: Path, root: Path = ROOT) -> List[str]:
    """The command as results record it: its absolute paths through `recorded_path`, all else as is."""
    return [recorded_path(arg, scratch, root) if os.path.isabs(arg) else arg for arg in command]


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.connector = str(args.connector)
        self.tmp = Path(tempfile.mkdtemp(prefix="intercom-bench-"))
        self.server: Optional[EmulatorServer] = None
        self.workspace: Optional[Workspace] = None
        self.config_start: Optional[int] = None
        self.catalog_streams: List[str] = []

    # -- the emulator -------------------------------------------------------------------
    def sizes(self) -> WorkspaceSizes:
        base = PRESETS["benchmark"]
        scaled = {name: int(round(getattr(base, name) * self.args.scale)) for name in SCALED_SIZES}
        return dataclasses.replace(base, **scaled, contacts_with_long_lists=not self.args.short_lists)

    def start_emulator(self) -> EmulatorServer:
        started = time.monotonic()
        self.workspace = Workspace(seed=self.args.seed, sizes=self.sizes(), span_days=self.args.span_days)
        say(f"workspace generated in {time.monotonic() - started:.1f} s: {self.sizes()}")
        self.server = EmulatorServer(
            self.workspace,
            token=TOKEN,
            latency=self.args.latency,
            rate_limit_per_10s=None if self.args.no_rate_limit else RATE_LIMIT_PER_10S,
            fault_rates=self.args.fault_rates,
            fault_paths=self.args.fault_paths,
            max_faults_in_a_row=self.args.max_faults_in_a_row,
            fault_seed=self.args.seed,
            scroll_ttl=self.args.scroll_expiry,
            reporting_scope=self.args.reporting_scope,
        ).start()
        say(f"emulator on {self.server.url} (latency {self.args.latency} s, rate limit "
            f"{'off' if self.args.no_rate_limit else f'{RATE_LIMIT_PER_10S} / 10 s'})")
        return self.server

    def config(self) -> Dict[str, Any]:
        assert self.server is not None and self.workspace is not None
        start = self.workspace.anchor - (self.args.span_days + 1) * 86400
        self.config_start = start
        config: Dict[str, Any] = {
            "access_token": TOKEN,
            "start_date": datetime.fromtimestamp(start, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "base_url": self.server.url,
        }
        if self.args.num_workers is not None:
            config["num_workers"] = self.args.num_workers
        if self.args.max_requests_per_minute is not None:
            config["max_requests_per_minute"] = self.args.max_requests_per_minute
        return config

    def write(self, name: str, content: Any) -> str:
        path = self.tmp / name
        path.write_text(json.dumps(content))
        return str(path)

    # -- one connector invocation ---------------------------------------------------------
    def measured(self, name: str, argv: List[str]) -> List[SyncResult]:
        """One run of the connector, preceded by one of the --baseline connector (named
        "baseline: ...") when there is one: the two alternate, so that both meet the same load."""
        runs = [self.baseline_run(name, argv)] if self.args.baseline is not None else []
        runs.append(self.run_connector(name, argv)[0])
        return runs

    def baseline_run(self, name: str, argv: List[str]) -> SyncResult:
        """One run of the --baseline connector, named "baseline: ..."."""
        return self.run_connector(f"baseline: {name}", argv, connector=str(self.args.baseline))[0]

    def run_connector(self, name: str, argv: List[str], connector: Optional[str] = None) -> Tuple[SyncResult, List[Dict[str, Any]]]:
        """Runs the connector, reading its stdout as it streams. Returns the figures and the non-record messages."""
        assert self.server is not None
        server = self.server
        command = [connector or self.connector, *argv]
        result = SyncResult(name=name, command=recorded_command(command, self.tmp), code=code_version())
        messages: List[Dict[str, Any]] = []
        server.reset_stats()
        self_cpu = resource.getrusage(resource.RUSAGE_SELF)
        machine_cpu = machine_busy_cpu_s()
        result.load_average_before = os.getloadavg()[0]
        stderr_path = self.tmp / f"{name}.stderr"
        wall_offset = time.time()
        started = time.monotonic()
        with stderr_path.open("wb") as stderr:
            env = {**os.environ, "SOURCE_INTERCOM_SCROLL_EXPIRY_SECONDS": str(self.args.scroll_expiry)}
            process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=stderr, bufsize=1 << 16, env=env)
        poller = RssPoller(process.pid)
        timer = threading.Timer(self.args.timeout, self._kill, (process, result))
        timer.start()
        heartbeat = self._heartbeat(name, result, started)
        last_state: Dict[str, Dict[str, Any]] = {}
        assert process.stdout is not None
        for line in process.stdout:
            now = time.monotonic() - started
            match = RECORD_PREFIX.match(line)
            if match and match.group(1).decode() in self.checked:
                record = json.loads(line)["record"]
                stream = record["stream"]
                result.keys[stream].append(record_key(stream, record["data"]))
            elif match:
                stream = match.group(1).decode()
            else:
                try:
                    message = json.loads(line)
                except ValueError:
                    continue
                if message.get("type") != "RECORD":
                    messages.append(message)
                    if message.get("type") == "STATE":
                        state = message["state"]
                        last_state[state["stream"]["stream_descriptor"]["name"]] = {"type": "STREAM", "stream": state["stream"]}
                    if message.get("type") == "TRACE" and (message["trace"].get("error") or {}).get("message"):
                        result.errors.append(message["trace"]["error"]["message"])
                    continue
                stream = message["record"]["stream"]
            figures = result.streams.setdefault(stream, StreamFigures())
            figures.records += 1
            if figures.first_record_s is None:
                figures.first_record_s = now
            figures.last_record_s = now
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        result.wall_s = time.monotonic() - started
        timer.cancel()
        heartbeat.set()
        poller.stop()
        self_after = resource.getrusage(resource.RUSAGE_SELF)
        result.exit_code = process.returncode
        result.peak_rss_mib = poller.vmhwm_kib / 1024 if poller.vmhwm_kib else None
        result.completeness = self.completeness(result.keys)
        if name == "full read" and self.catalog_streams:
            result.fewest_requests = sum(fewest_requests(self.workspace, server, self.config_start, self.catalog_streams).values())
        result.keys = defaultdict(list)  # not kept in the results
        result.ru_maxrss_mib = usage.ru_maxrss / 1024  # KiB on Linux
        result.connector_cpu_s = usage.ru_utime + usage.ru_stime
        result.emulator_cpu_s = (self_after.ru_utime - self_cpu.ru_utime) + (self_after.ru_stime - self_cpu.ru_stime)
        # What the rest of the machine used meanwhile: other work on these cores skews the figures.
        result.other_cpu_s = max(0.0, machine_busy_cpu_s() - machine_cpu - result.connector_cpu_s - result.emulator_cpu_s)
        stats = server.stats()
        result.max_in_flight = stats["max_in_flight"]
        result.faults_injected = stats["faults_injected"]
        attribute_requests(result, server.requests, wall_offset)
        result.final_state = list(last_state.values())
        if result.exit_code != 0:
            tail = stderr_path.read_text(errors="replace")[-2000:]
            if tail.strip():
                result.errors.append(f"stderr: {tail}")
        say(f"{name}: exit {result.exit_code}, {result.records:,} records, {result.requests:,} requests, "
            f"{result.wall_s:.1f} s{' (TIMED OUT)' if result.timed_out else ''}")
        return result, messages

    def _heartbeat(self, name: str, result: SyncResult, started: float, every: float = 15.0) -> threading.Event:
        """Says on stderr every few seconds how far a sync got; set the returned event to stop."""
        assert self.server is not None
        server, done = self.server, threading.Event()

        def beat() -> None:
            while not done.wait(every):
                say(f"    {name}: {time.monotonic() - started:5.0f} s, {sum(f.records for f in list(result.streams.values())):,} records, "
                    f"{server.stats()['total']:,} requests served")

        threading.Thread(target=beat, name="heartbeat", daemon=True).start()
        return done

    def _kill(self, process: "subprocess.Popen[bytes]", result: SyncResult) -> None:
        result.timed_out = True
        say(f"{result.name}: over {self.args.timeout:.0f} s, stopping the connector (pid {process.pid})")
        process.kill()

    # -- the sequence ------------------------------------------------------------------------
    @property
    def checked(self) -> Tuple[str, ...]:
        return tuple(self.args.check.split(",")) if self.args.check else ()

    def completeness(self, keys: Dict[str, List[Any]]) -> Dict[str, Dict[str, int]]:
        """Per checked stream: records, distinct keys, the workspace's keys now, and how many of
        those are missing; duplicates are records beyond one per key."""
        assert self.workspace is not None and self.config_start is not None
        out = {}
        for stream in self.checked:
            got = keys.get(stream, [])
            expected = self.workspace.expected_ids(stream, self.config_start)
            expected = {tuple(k) if isinstance(k, (list, tuple)) else k for k in expected}
            distinct = set(got)
            out[stream] = {"records": len(got), "distinct": len(distinct), "expected": len(expected),
                           "missing": len(expected - distinct), "duplicates": len(got) - len(distinct)}
        return out

    def run(self) -> Dict[str, Any]:
        """The whole sequence; the emulator is stopped and the scratch files removed however it ends."""
        try:
            return self._run()
        finally:
            if self.server is not None:
                self.server.stop()
            shutil.rmtree(self.tmp, ignore_errors=True)

    def _run(self) -> Dict[str, Any]:
        self.start_emulator()
        assert self.workspace is not None
        config = self.write("config.json", self.config())
        syncs: List[SyncResult] = []

        startup = self.args.families or self.args.startup_only
        if startup:
            for _ in range(self.args.repeat):  # start-up: commands that read nothing
                syncs += self.measured("spec", ["spec"])
                syncs += self.measured("check", ["check", "--config", config])
        for _ in range(self.args.repeat - 1 if startup else 0):
            syncs += self.measured("discover", ["discover", "--config", config])
        if startup and self.args.baseline is not None:
            syncs.append(self.baseline_run("discover", ["discover", "--config", config]))
        discover, messages = self.run_connector("discover", ["discover", "--config", config])
        syncs.append(discover)
        if self.args.startup_only:
            return self.report(syncs)
        catalogs = [m["catalog"] for m in messages if m.get("type") == "CATALOG"]
        if not catalogs:
            raise SystemExit(f"discover printed no catalog: {discover.errors}")
        discovered = catalogs[-1]["streams"]
        configured = catalog_for(discovered, self.streams())
        self.catalog_streams = [s["stream"]["name"] for s in configured["streams"]]
        catalog = self.write("catalog.json", configured)

        if self.args.families:
            named = {stream for _, streams in FAMILIES for stream in streams}
            rest = tuple(s["name"] for s in discovered if s["name"] not in named)
            for family, streams in (*FAMILIES, (REST_FAMILY, rest)):
                if self.args.only_families and ("rest" if family == REST_FAMILY else family.split()[0]) not in self.args.only_families:
                    continue
                family_catalog = self.write("catalog-family.json", catalog_for(discovered, streams))
                for _ in range(self.args.repeat):
                    syncs += self.measured(f"read {family}", ["read", "--config", config, "--catalog", family_catalog])
            return self.report(syncs)

        if self.cpu_mode() and not self.args.not_alone:
            for stream in CPU_STREAMS:  # each stream's own records/s, without the other competing for the CPU
                alone = self.write(f"catalog-{stream}.json", catalog_for(discovered, (stream,)))
                result, _ = self.run_connector(f"full read, {stream} alone", ["read", "--config", config, "--catalog", alone])
                syncs.append(result)

        for _ in range(self.args.repeat - 1):  # the same full read again, for the median of its CPU time
            syncs += self.measured("full read", ["read", "--config", config, "--catalog", catalog])
        if self.args.baseline is not None:
            syncs.append(self.baseline_run("full read", ["read", "--config", config, "--catalog", catalog]))
        full, _ = self.run_connector("full read", ["read", "--config", config, "--catalog", catalog])
        syncs.append(full)
        if not self.args.no_incremental and not full.timed_out:
            changes = self.workspace.mutate_random(random.Random(1), fraction=self.args.mutate_fraction)
            say(f"the emulator changed records: {changes}")
            state = self.write("state.json", full.final_state)
            incremental, _ = self.run_connector(
                "incremental read", ["read", "--config", config, "--catalog", catalog, "--state", state])
            syncs.append(incremental)
        return self.report(syncs)

    def report(self, syncs: List[SyncResult]) -> Dict[str, Any]:
        return {
            "started_at": self.args.started_at,
            "machine": machine(),
            "connector": recorded_path(self.connector, self.tmp),
            "baseline": recorded_path(str(self.args.baseline), self.tmp) if self.args.baseline is not None else None,
            "settings": {
                "latency_s": self.args.latency,
                "rate_limit_per_10s": None if self.args.no_rate_limit else RATE_LIMIT_PER_10S,
                "rate_limit_bound_per_s": RATE_LIMIT_BOUND,
                "scale": self.args.scale,
                "num_workers": self.args.num_workers,
                "max_requests_per_minute": self.args.max_requests_per_minute,
                "streams": list(self.streams()) if self.streams() else "all",
                "mutate_fraction": self.args.mutate_fraction,
                "seed": self.args.seed,
                "repeat": self.args.repeat,
                "families": self.args.families,
                "only_families": self.args.only_families,
                "startup_only": self.args.startup_only,
                "fault_rates": self.args.fault_rates,
                "fault_paths": self.args.fault_paths,
                "max_faults_in_a_row": self.args.max_faults_in_a_row,
                "scroll_expiry_s": self.args.scroll_expiry,
                "reporting_scope": self.args.reporting_scope,
            },
            "workspace": dataclasses.asdict(self.sizes()),
            "syncs": [s.as_dict() for s in syncs],
            "cpu_medians": cpu_medians(syncs),
        }

    def cpu_mode(self) -> bool:
        """No latency and no server rate limit: what the connector itself can do."""
        return self.args.latency == 0 and self.args.no_rate_limit

    def streams(self) -> Optional[Sequence[str]]:
        if self.args.streams:
            return None if self.args.streams == "all" else tuple(self.args.streams.split(","))
        return CPU_STREAMS if self.cpu_mode() else None


# ------------------------------------------------------------------------------- reporting ----


def cpu_medians(syncs: Sequence[SyncResult]) -> List[Dict[str, Any]]:
    """Per invocation name (a command, a family's read): the median of its runs' connector CPU
    seconds (user + system) and the records and requests per CPU-second at that median."""
    runs: Dict[str, List[SyncResult]] = defaultdict(list)
    for sync in syncs:
        runs[sync.name].append(sync)
    out = []
    for name, group in runs.items():
        cpu = statistics.median(s.connector_cpu_s or 0.0 for s in group)
        records = statistics.median(s.records for s in group)
        requests = statistics.median(s.requests for s in group)
        out.append({
            "name": name,
            "runs": len(group),
            "cpu_s_median": cpu,
            "cpu_s_runs": [s.connector_cpu_s for s in group],
            "records": records,
            "requests": requests,
            "records_per_cpu_s": rate(records, cpu),
            "requests_per_cpu_s": rate(requests, cpu),
            "wall_s_median": statistics.median(s.wall_s for s in group),
            "peak_rss_mib_max": max((s.peak_rss_mib or 0.0) for s in group),
            "other_cpu_s_median": statistics.median(s.other_cpu_s for s in group),
            "exit_codes": sorted({s.exit_code for s in group}, key=str),
        })
    return out


def cpu_table(report: Dict[str, Any]) -> List[str]:
    lines = ["", "## Connector CPU (user + system), medians", "",
             "| command | runs | CPU s (median) | CPU s (each run) | records | requests | records/CPU-s | "
             "requests/CPU-s | wall s | peak RSS MiB | other processes' CPU s | exit |",
             "|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---|"]
    for row in report.get("cpu_medians") or []:
        lines.append(
            f"| {row['name']} | {row['runs']} | {fmt(row['cpu_s_median'], 2)} | "
            f"{', '.join(fmt(c, 2) for c in row['cpu_s_runs'])} | {fmt(row['records'])} | {fmt(row['requests'])} | "
            f"{fmt(row['records_per_cpu_s'], 0)} | {fmt(row['requests_per_cpu_s'], 0)} | {fmt(row['wall_s_median'])} | "
            f"{fmt(row['peak_rss_mib_max'])} | {fmt(row['other_cpu_s_median'])} | {row['exit_codes']} |")
    return lines


def fmt(value: Any, digits: int = 1) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def markdown(report: Dict[str, Any]) -> str:
    m, s = report["machine"], report["settings"]
    lines = [
        f"# source-intercom benchmark, {report['started_at']}",
        "",
        f"Machine: {m['nproc']} CPUs ({m['cpu_model']}), Python {m['python']}, airbyte-cdk {m['airbyte_cdk']}.  ",
        f"Emulator: latency {s['latency_s']} s, rate limit "
        f"{s['rate_limit_per_10s'] if s['rate_limit_per_10s'] else 'off'} / 10 s; scale {s['scale']} "
        f"(contacts {report['workspace']['contacts']:,}, conversations {report['workspace']['conversations']:,} "
        f"x {report['workspace']['parts_per_conversation']} parts, companies {report['workspace']['companies']:,}, "
        f"activity logs {report['workspace']['activity_logs']:,}, tickets {report['workspace']['tickets']:,}); "
        f"num_workers {s['num_workers'] if s['num_workers'] is not None else 'default'}; streams {s['streams']}.",
    ]
    for sync in report["syncs"]:
        code = sync["code"]
        tree = "manifest modified in the working tree" if code["manifest_modified"] else "manifest as committed"
        lines += ["", f"## {sync['name']}", "",
                  f"Commit {code['commit']} ({tree}; status: {code['source_intercom_status'] or 'clean'}; "
                  f"manifest sha256 {code['manifest_sha256']}; connector's own api_budget: "
                  f"{', '.join(code['connector_api_budget']) or 'none'}). Exit code {sync['exit_code']}"
                  f"{', TIMED OUT (partial figures)' if sync['timed_out'] else ''}.", ""]
        if sync["name"] != "discover":
            lines += [
                "| stream | records | requests | 429 | failed | first rec s | last rec s | wall s | records/s | "
                "req window s | requests/s | of limit | max concurrent |",
                "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
            ]
            ordered = sorted(sync["streams"].items(), key=lambda kv: -(kv[1]["request_window_s"] or 0))
            for name, f in ordered:
                share = f["requests_per_s"] / RATE_LIMIT_BOUND if f["requests_per_s"] else None
                lines.append(
                    f"| {name} | {fmt(f['records'])} | {fmt(f['requests'])} | {fmt(f['rate_limited'])} | {fmt(f['failed'])} | "
                    f"{fmt(f['first_record_s'])} | {fmt(f['last_record_s'])} | {fmt(f['wall_s'])} | {fmt(f['records_per_s'], 0)} | "
                    f"{fmt(f['request_window_s'])} | {fmt(f['requests_per_s'])} | {fmt(share, 2)} | {fmt(f['max_concurrent_requests'])} |")
        t = sync["totals"]
        lines += [
            "",
            "| total | value |",
            "|---|---:|",
            f"| records | {fmt(t['records'])} |",
            f"| requests | {fmt(t['requests'])} |",
            f"| wall time of the sync (process start to exit) | {fmt(t['wall_s'], 2)} s |",
            f"| records/s | {fmt(t['records_per_s'], 0)} |",
            f"| requests/s | {fmt(t['requests_per_s'])} |",
            f"| requests/s as a fraction of the rate-limit bound ({RATE_LIMIT_BOUND}/s) | {fmt(t['fraction_of_rate_limit'], 3)} |",
            f"| rate-limit bound time (requests / {RATE_LIMIT_BOUND}) vs actual | {fmt(t['rate_limit_bound_s'], 1)} s vs {fmt(t['wall_s'], 1)} s |",
            f"| fewest possible requests; requests over them | {fmt(sync.get('fewest_requests'))}; "
            f"{fmt(t['requests'] / sync['fewest_requests'] - 1 if sync.get('fewest_requests') else None, 3)} |",
            f"| wall / rate-limit bound of the fewest requests | "
            f"{fmt(t['wall_s'] / (sync['fewest_requests'] / RATE_LIMIT_BOUND) if sync.get('fewest_requests') else None, 2)} |",
            f"| 429s / failed (non-2xx, non-429) | {fmt(t['rate_limited'])} / {fmt(t['failed'])} |",
            f"| connector peak RSS (VmHWM, polled every 0.1 s) | {fmt(sync['peak_rss_mib'])} MiB |",
            f"| (wait4 ru_maxrss: includes the benchmark process's RSS at spawn, not comparable) | {fmt(sync['ru_maxrss_mib'])} MiB |",
            f"| CPU (user+sys): connector / benchmark process (emulator + stdout reader) | {fmt(sync['connector_cpu_s'])} s / {fmt(sync['emulator_cpu_s'])} s |",
            f"| CPU used by other processes on the machine meanwhile; 1-min load average before | "
            f"{fmt(sync['other_cpu_s'])} s; {fmt(sync['load_average_before'], 2)} |",
            f"| connector CPU / wall time (1.0 = one core busy the whole sync) | {fmt(t['connector_cpu_per_wall'], 2)} |",
            f"| max requests in flight (emulator) | {fmt(sync['max_in_flight'])} |",
            f"| most requests admitted in one 10-s window; most started within any 60 s | {fmt(sync['peak_10s_window'])}; {fmt(sync.get('peak_60s_requests'))} |",
            f"| companies scroll passes opened / refused (scroll_exists) | {fmt(sync['scroll_opens'])} / {fmt(sync['scroll_waits'])} |",
            f"| faults injected by the emulator | {fmt(sync.get('faults_injected'))} |",
            f"| search first pages (slices) by stream | {sync['search_first_pages'] or '-'} |",
            f"| details requests (lists beyond the embedded 10, ticket parts) | {sync.get('detail_requests') or '-'} |",
            f"| statuses | {sync['by_status']} |",
        ]
        if sync.get("completeness"):
            lines += ["", "| checked stream | records | distinct keys | workspace | missing | duplicates |", "|---|---:|---:|---:|---:|---:|"]
            for name, c in sync["completeness"].items():
                lines.append(f"| {name} | {fmt(c['records'])} | {fmt(c['distinct'])} | {fmt(c['expected'])} | {fmt(c['missing'])} | {fmt(c['duplicates'])} |")
        for error in sync["errors"][:5]:
            lines.append(f"\nError: {error[:500]}")
    lines += cpu_table(report)
    return "\n".join(lines) + "\n"


def default_connector() -> Path:
    return Path(sys.executable).with_name("source-intercom")


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--latency", type=float, default=0.1, help="seconds the emulator waits per request (default 0.1)")
    parser.add_argument("--no-rate-limit", action="store_true", help="do not enforce 1,666 calls per 10 s")
    parser.add_argument("--scale", type=float, default=1.0, help="multiply the benchmark workspace's record counts")
    parser.add_argument("--streams", help="comma-separated streams to sync, or 'all' (default: all; with --latency 0 "
                                          "--no-rate-limit: contacts,conversation_parts)")
    parser.add_argument("--num-workers", type=int, help="the connector's num_workers (default: the connector's own)")
    parser.add_argument("--max-requests-per-minute", type=int, help="the connector's fair-share cap (default: none)")
    parser.add_argument("--no-incremental", action="store_true", help="skip the mutation and incremental read")
    parser.add_argument("--not-alone", action="store_true",
                        help="CPU-bound mode: skip the full reads of contacts and of conversation_parts each on its own")
    parser.add_argument("--families", action="store_true",
                        help="CPU per stream family: spec, check, discover, then one read per family "
                             "(contacts; conversations + parts; companies + segments; tickets + parts; the rest)")
    parser.add_argument("--family", action="append", dest="only_families", metavar="FAMILY",
                        help="with --families: read only this family (by its first stream: contacts, conversations, "
                             "companies, tickets, rest); repeat the option for several")
    parser.add_argument("--baseline", type=Path,
                        help="another connector (an older version) run before each measured command, alternating "
                             "with --connector; its rows are named 'baseline: ...'")
    parser.add_argument("--startup-only", action="store_true", help="only spec, check and discover (each --repeat times)")
    parser.add_argument("--reporting-scope", action="store_true",
                        help="the token has the export_reporting_data scope: discover lists the reporting datasets "
                             "and offers one stream each (without it, that list answers 403)")
    parser.add_argument("--repeat", type=int, default=1,
                        help="run each measured command this many times; the CPU table shows medians (default 1)")
    parser.add_argument("--mutate-fraction", type=float, default=0.05)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--short-lists", action="store_true",
                        help="no contact has more than the 10 tags, companies or notes it embeds, so contacts "
                             "need no request beyond the search (a workspace with no cut lists)")
    parser.add_argument("--span-days", type=int, default=120, help="the workspace's history; start_date is one day before it")
    parser.add_argument("--timeout", type=float, default=900.0, help="stop a sync after this many seconds (partial figures)")
    parser.add_argument("--connector", type=Path, default=default_connector(), help="the source-intercom executable")
    parser.add_argument("--results", type=Path, default=ROOT / "benchmarks" / "results", help="where the JSON goes")
    parser.add_argument("--check", help="comma-separated streams whose records are compared with the workspace's ground truth "
                                        "(missing keys, duplicates)")
    parser.add_argument("--fault-rates", type=parse_fault_rates, help="random faults, e.g. scroll_restart_500=0.1,truncated=0.1,scroll_expired=0.1")
    parser.add_argument("--fault-paths", help="regex of the paths the random faults hit (default: all)")
    parser.add_argument("--max-faults-in-a-row", type=int, help="at most this many random faults in a row on one request")
    parser.add_argument("--scroll-expiry", type=float, default=60.0,
                        help="seconds an unused companies scroll stays open, in the emulator and the connector (Intercom: about 60)")
    args = parser.parse_args(argv)
    args.started_at = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H-%M-%SZ")
    if not args.connector.exists():
        parser.error(f"{args.connector} does not exist: create .venv with `python3 tools/test.py` or pass --connector")
    return args


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    report = Bench(args).run()
    args.results.mkdir(parents=True, exist_ok=True)
    label = f"scale{args.scale:g}-latency{args.latency:g}{'-nolimit' if args.no_rate_limit else ''}{'-families' if args.families else '-startup' if args.startup_only else ''}{'-reporting' if args.reporting_scope else ''}{'-shortlists' if args.short_lists else ''}"
    path = args.results / f"{args.started_at}-{label}.json"
    path.write_text(json.dumps(report, indent=2) + "\n")
    print(markdown(report))
    say(f"results: {path}")
    return 0 if all(s["exit_code"] == 0 for s in report["syncs"]) else 1


if __name__ == "__main__":
    sys.exit(main())
