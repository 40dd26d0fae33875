"""HTTP front end of the Intercom emulator.

Each API request: parsed -> logged as a ``RequestRecord`` -> latency -> ``Gate`` checks (auth,
rate limit, version, plan, permissions) -> the gate's fault draw -> the endpoint
(``routes.IntercomApi``), unless the fault keeps it from running -> the answer, or what the fault
makes of it -> wire. Control endpoints under ``/_emulator/`` skip all of that and are not logged.
"""
from __future__ import annotations

import bisect
import json
import random
import socket
import struct
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable
from urllib.parse import parse_qs, urlsplit

from .faults import (CLOSES_SCROLL, DEFAULT_RANDOM_KINDS, SERVES, FaultPlan, Predicate, RandomFaults, even_rates,
                     fault_reply)
from .gate import SUPPORTED_VERSIONS, Gate, Refused
from .replies import ApiError, Reply, error_reply, json_reply
from .reporting import SCOPE as REPORTING_SCOPE
from .reporting import ReportingExports, ReportingRows
from .routes import DEFAULT_VERSION, TICKET_PARTS_IN_SEARCH, ApiRequest, IntercomApi
from .scroll import CompaniesScroll
from .workspace import Workspace


@dataclass
class RequestRecord:
    method: str
    path: str
    query: dict
    headers: dict
    body: object
    status: int = 0             # 0: no answer (reset, timeout)
    started: float = 0.0
    ended: float = 0.0
    fault: str | None = None


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server_version = "IntercomEmulator/1.0"
    sys_version = ""

    def log_message(self, fmt, *args):  # keep test output quiet
        pass

    def setup(self):
        super().setup()
        self.server.emu._track(self.connection, True)

    def finish(self):
        try:
            super().finish()
        finally:
            self.server.emu._track(self.connection, False)

    def do_GET(self):
        self.server.emu._handle(self)

    do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = do_GET


class EmulatorServer:
    def __init__(self, ws: Workspace | None = None, token: str = "test-token", host: str = "127.0.0.1",
                 port: int = 0, latency: float = 0.0, rate_limit_per_10s: int | None = None,
                 fault_rate: float = 0.0, fault_seed: int = 0, fault_kinds=DEFAULT_RANDOM_KINDS,
                 scroll_page_size: int = 50, scroll_ttl: float = 60.0, page_size_cap: int = 150,
                 activity_logs_page_size: int = 50, denied: dict | None = None, plan_restricted: bool = False,
                 plan_lacks=(),
                 other_region_tokens=(), supported_versions=SUPPORTED_VERSIONS,
                 fault_timeout_seconds: float = 30.0, control_endpoints: bool = True,
                 fault_rates: dict[str, float] | None = None, fault_paths: str | None = None,
                 max_faults_in_a_row: int | None = None, default_version: str = DEFAULT_VERSION,
                 ticket_parts_in_search: int = TICKET_PARTS_IN_SEARCH, reporting_scope: bool = False,
                 reporting: ReportingExports | None = None, reporting_rows: dict[str, int] | None = None,
                 scroll_clock: Callable[[], float] = time.monotonic, rate_limit_clock: Callable[[], float] = time.time):
        """Random faults: ``fault_rates`` ({kind: probability per request}) or ``fault_rate``
        shared evenly by ``fault_kinds``; only on paths matching ``fault_paths`` (a regex; all if
        None); reproducible with ``fault_seed``; a request that already got
        ``max_faults_in_a_row`` faults in a row gets no random one. ``default_version`` is the
        app's API version, used for a request without ``Intercom-Version``. ``plan_restricted``: the
        plan has no API access (every request 403 ``api_plan_restricted``); ``plan_lacks``: the
        resources (the keys of ``denied``) of the products the plan lacks, refused so alone. A ticket in search
        results carries its ``ticket_parts_in_search`` most recent parts (Intercom does not say).
        ``reporting_scope``: the token has the ``export_reporting_data`` scope (without it the
        Reporting Data Export endpoints answer 403); ``reporting``: the export jobs' settings
        (pending time, failure rate, download expiry); ``reporting_rows``: rows per dataset.
        ``scroll_clock`` (seconds) is the time the companies scroll's ``scroll_ttl`` runs on, and
        ``rate_limit_clock`` (unix seconds) the time of the rate-limit windows: a test that must not
        depend on the machine's speed passes a clock it moves itself (a client that reads
        ``X-RateLimit-Reset`` needs the real one)."""
        self.ws = ws if ws is not None else Workspace()
        self.token = token
        self.host, self.port = host, port
        self.latency = latency
        self.fault_timeout_seconds = fault_timeout_seconds
        self.control_endpoints = control_endpoints
        if fault_rates and fault_rate > 0:
            raise ValueError("give fault_rate (with fault_kinds) or fault_rates, not both")
        rates = dict(fault_rates) if fault_rates else even_rates(fault_rate, fault_kinds)
        self.faults = FaultPlan(RandomFaults(rates, fault_paths, fault_seed), max_faults_in_a_row)
        denied = dict(denied or {})
        if not reporting_scope:
            denied.setdefault(REPORTING_SCOPE, 403)
        self.gate = Gate(token=token, other_region_tokens=other_region_tokens, rate_limit_per_10s=rate_limit_per_10s,
                         supported_versions=supported_versions, plan_restricted=plan_restricted, denied=denied,
                         faults=self.faults, plan_lacks=plan_lacks, clock=rate_limit_clock)
        self.scroll = CompaniesScroll(scroll_page_size, scroll_ttl, scroll_clock)
        self.reporting = reporting if reporting is not None else ReportingExports()
        self.reporting_rows = ReportingRows(self.ws.seed, self.ws.anchor, self.ws.span_days, reporting_rows)
        self.api = IntercomApi(self.ws, self.scroll, page_size_cap, activity_logs_page_size, default_version,
                               ticket_parts_in_search, self.reporting, self.reporting_rows)
        self._control_routes = {
            ("GET", "/_emulator/ground_truth"): self._ground_truth,
            ("GET", "/_emulator/reporting_ground_truth"): self._reporting_ground_truth,
            ("GET", "/_emulator/stats"): self._stats,
            ("POST", "/_emulator/mutate"): self._mutate,
            ("POST", "/_emulator/delete_conversations"): self._delete_conversations,
            ("POST", "/_emulator/reset_stats"): self._reset_stats,
        }

        self._lock = threading.Lock()          # the request log and counters (not workspace state)
        self.requests: list[RequestRecord] = []
        self._request_observers: list[Callable[[RequestRecord], None]] = []
        self._answer_observers: list[Callable[[RequestRecord, object], None]] = []
        self._stop = threading.Event()
        self._conns: set = set()
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None
        self._in_flight = 0
        self.reset_stats()

    # ------------------------------------------------------------------------- settings
    @property
    def scroll_page_size(self) -> int:
        return self.scroll.page_size

    @scroll_page_size.setter
    def scroll_page_size(self, value: int) -> None:
        self.scroll.page_size = value

    @property
    def scroll_ttl(self) -> float:
        return self.scroll.ttl

    @scroll_ttl.setter
    def scroll_ttl(self, value: float) -> None:
        self.scroll.ttl = value

    @property
    def rate_limit_per_10s(self) -> int | None:
        return self.gate.rate_limit_per_10s

    # ------------------------------------------------------------------------ lifecycle
    def start(self) -> EmulatorServer:
        if self._httpd is not None:
            return self
        self._stop.clear()
        self._httpd = _Server((self.host, self.port), _Handler)
        self._httpd.emu = self
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"intercom-emulator:{self.port}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is None:
            return
        self._stop.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        with self._lock:
            conns = list(self._conns)
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self._thread.join(timeout=5)
        self._httpd = None

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def _track(self, conn, add: bool) -> None:
        with self._lock:
            (self._conns.add if add else self._conns.discard)(conn)

    # ---------------------------------------------------------------------------- stats
    def reset_stats(self) -> None:
        """Forget the request log and counters; requests being served still count as in flight."""
        with self._lock:
            self.requests = []
            self._by_status: dict[int, int] = {}
            self._max_in_flight = self._in_flight
        self.gate.reset_counts()
        self.scroll.reset_counts()
        self.reporting.reset_counts()

    def wait_idle(self, timeout: float = 5.0) -> None:
        """Wait until no request is being served. A request is logged just after its response
        is sent, so a client that has its answer may read the log a moment too early."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            with self._lock:
                if self._in_flight == 0:
                    return
            time.sleep(0.005)
        raise TimeoutError(f"the emulator still serves {self._in_flight} request(s) after {timeout} s")

    def stats(self) -> dict:
        """Requests by status, 429s, faults, concurrency, and the companies scroll: scrolls
        opened, read to their end (completed), closed by a fault, expired; scroll_exists answers."""
        with self._lock:
            return {"total": sum(self._by_status.values()), "by_status": dict(self._by_status),
                    "rate_limited": self.gate.rate_limited, "faults_injected": self.gate.faults_injected,
                    "max_in_flight": self._max_in_flight, "in_flight": self._in_flight,
                    **self.scroll.counts(), "reporting": dict(self.reporting.counts)}

    # ---------------------------------------------------------------------------- faults
    def inject_fault(self, path_regex: str, kind: str, times: int = 1, when: Predicate | None = None) -> None:
        """The next ``times`` requests whose path matches ``path_regex`` (and for which
        ``when(ctx)`` is true, given) get fault ``kind``. ``ctx`` is a ``faults.FaultContext``; for
        the companies scroll it tells which page the request would serve."""
        self.faults.inject(path_regex, kind, times, when)

    def clear_faults(self) -> None:
        self.faults.clear()

    # ------------------------------------------------------------------------- observers
    def on_request(self, observer: Callable[[RequestRecord], None]) -> None:
        """Call ``observer(record)`` as each API request arrives, before any check or fault.
        It runs on the serving thread: it may change the workspace or inject a fault for this
        very request."""
        self._request_observers.append(observer)

    def on_answer(self, observer: Callable[[RequestRecord, object], None]) -> None:
        """Call ``observer(record, answer)`` when an endpoint has produced a 200 answer (the JSON
        object), including one that a fault then keeps from reaching the client."""
        self._answer_observers.append(observer)

    # --------------------------------------------------------------------------- requests
    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        started = time.time()
        split = urlsplit(h.path)
        path = split.path.rstrip("/") or "/"
        query = parse_qs(split.query, keep_blank_values=True)
        length = int(h.headers.get("Content-Length") or 0)
        raw = h.rfile.read(length) if length > 0 else b""
        body, body_invalid = None, False
        if raw:
            try:
                body = json.loads(raw)
            except ValueError:
                body_invalid = True
        headers = {k.lower(): v for k, v in h.headers.items()}
        req = ApiRequest(h.command, path, query, body, body_invalid,
                         host=h.headers.get("Host") or f"{self.host}:{self.port}",
                         version=headers.get("intercom-version"), accept=headers.get("accept", ""))

        if path.startswith("/_emulator/") and self.control_endpoints:
            self._deliver(h, self._control(req))
            return

        rec = RequestRecord(h.command, path, query, headers, body, 0, started, 0.0)
        with self._lock:
            self._in_flight += 1
            self._max_in_flight = max(self._max_in_flight, self._in_flight)
        status = 0
        try:
            for observe in self._request_observers:
                observe(rec)
            status = self._deliver(h, self._api_reply(req, rec))
        finally:
            rec.status = status
            rec.ended = time.time()
            with self._lock:
                self._in_flight -= 1
                # In the order the requests arrived: a request is logged once answered, and on a
                # busy machine the next one may be answered and logged first.
                bisect.insort(self.requests, rec, key=lambda record: record.started)
                self._by_status[status] = self._by_status.get(status, 0) + 1

    def _api_reply(self, req: ApiRequest, rec: RequestRecord) -> Reply:
        if self.latency > 0:
            time.sleep(self.latency)
        try:
            rate_headers = self.gate.admit(req.path, rec.headers, req.query)
        except Refused as refused:
            return refused.reply
        with self.ws.lock:              # the page a fault rule saw is the page served
            fault = self.gate.draw_fault(self.api.fault_context(req))
            rec.fault = fault
            served = self._endpoint_reply(req, rec, rate_headers) if fault is None or fault in SERVES else None
            if fault in CLOSES_SCROLL:
                self.scroll.close()
        if fault is None:
            return served
        return fault_reply(fault, rate_headers, served, self.rate_limit_per_10s)

    def _endpoint_reply(self, req: ApiRequest, rec: RequestRecord, rate_headers: dict) -> Reply:
        try:
            answer = self.api.answer(req)
        except ApiError as e:
            return error_reply(e.status, e.code, e.message, {**rate_headers, **e.headers})
        if isinstance(answer, Reply):      # a file (a reporting export), not JSON
            answer.headers.update(rate_headers)
            return answer
        for observe in self._answer_observers:
            observe(rec, answer)
        return json_reply(200, answer, rate_headers)

    def _deliver(self, h: BaseHTTPRequestHandler, reply: Reply) -> int:
        """Put ``reply`` on the wire; returns the status as logged (0 when nothing was sent)."""
        if reply.lost == "reset":
            h.close_connection = True
            try:
                h.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            except OSError:
                pass
            return 0
        if reply.lost == "hang":
            self._stop.wait(self.fault_timeout_seconds)
            h.close_connection = True
            return 0
        h.send_response(reply.status)
        h.send_header("Content-Type", reply.content_type)
        h.send_header("Content-Length", str(len(reply.body)))
        for k, v in reply.headers.items():
            h.send_header(k, str(v))
        h.end_headers()
        if h.command != "HEAD":
            h.wfile.write(reply.body)
        return reply.status

    # --------------------------------------------------------------------------- control
    def _control(self, req: ApiRequest) -> Reply:
        handler = self._control_routes.get((req.method, req.path))
        if handler is None:
            return error_reply(404, "not_found", "Resource Not Found")
        try:
            return json_reply(200, handler(req))
        except (ValueError, TypeError, KeyError) as e:
            return error_reply(400, "bad_request", str(e.args[0] if isinstance(e, KeyError) else e))

    def _ground_truth(self, req: ApiRequest) -> dict:
        start_date = req.param("start_date", "")
        return self.ws.ground_truth(int(start_date) if start_date else None)

    def _reporting_ground_truth(self, req: ApiRequest) -> dict:
        """{dataset id: its rows whose time attribute is in [start_date, now)} (unix seconds, and
        None where the export's cell is empty)."""
        start = int(req.param("start_date", "0") or 0)
        end = int(time.time()) + 1
        return {d: list(self.reporting_rows.rows(d, start, end)) for d in self.reporting_rows.counts}

    def _stats(self, req: ApiRequest) -> dict:
        return {**self.stats(), "version": self.ws.version}

    def _mutate(self, req: ApiRequest) -> dict:
        b = req.body or {}
        summary = self.ws.mutate_random(random.Random(b.get("seed", 0)), float(b.get("fraction", 0.1)))
        return {**summary, "version": self.ws.version}

    def _delete_conversations(self, req: ApiRequest) -> dict:
        """``{"ids": [...]}`` deletes those conversations (one version step each), ``{"count": n,
        "seed": s}`` n random live ones (one version step)."""
        b = req.body if isinstance(req.body, dict) else {}
        if "ids" in b:
            with self.ws.lock:
                live = {r.id for r in self.ws.conversations if not r.deleted}
                unknown = [i for i in b["ids"] if str(i) not in live]
                if unknown:
                    raise ValueError(f"unknown or already deleted conversations: {unknown}")
                deleted = [self.ws.delete_conversation(i) for i in b["ids"]]
        else:
            deleted = self.ws.delete_random_conversations(random.Random(b.get("seed", 0)), int(b["count"]))
        return {"deleted": deleted, "version": self.ws.version}

    def _reset_stats(self, req: ApiRequest) -> dict:
        self.reset_stats()
        return {"ok": True}
