"""HTTP front end of the Intercom emulator: auth, versions, rate limits, faults, endpoints."""
from __future__ import annotations

import json
import math
import random
import re
import socket
import struct
import threading
import time
import uuid
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

from .data import Workspace, id_sort_key
from .search import SearchCache, SearchError, run_search

SUPPORTED_VERSIONS = ("2.7", "2.8", "2.9", "2.10", "2.11", "2.12", "2.13", "2.14", "2.15", "2.16", "Preview")
FAULT_KINDS = {"500", "502", "503", "504", "reset", "timeout", "truncated", "429",
               "scroll_restart_500", "scroll_expired"}
UNLIMITED_RATE_LIMIT = 1_000_000   # reported X-RateLimit-Limit when no limit is enforced
LIST_COMPANIES_MAX = 10_000         # GET /companies cannot reach further than this


@dataclass
class RequestRecord:
    method: str
    path: str
    query: dict
    headers: dict
    body: object
    status: int = 0
    started: float = 0.0
    ended: float = 0.0
    fault: str | None = None


class _ApiError(Exception):
    def __init__(self, status, code, message, headers=None):
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers or {}


def error_body(code, message, field=None):
    err = {"code": code, "message": message}
    if field:
        err["field"] = field
    return {"type": "error.list", "request_id": str(uuid.uuid4()), "errors": [err]}


def resources_of(path: str) -> set:
    """Permission resources a path belongs to (used by ``denied``)."""
    parts = [p for p in path.split("/") if p]
    if not parts:
        return set()
    head = parts[0]
    if head == "admins" and len(parts) > 1 and parts[1] == "activity_logs":
        return {"activity_logs"}
    if head == "companies" and len(parts) == 3 and parts[2] == "segments":
        return {"companies", "company_segments"}
    if head == "ticket_types":
        return {"tickets", "ticket_types"}
    if head == "data_attributes":
        return {"data_attributes", "company_attributes", "contact_attributes"}
    if head == "conversations":
        return {"conversations", "conversation_parts"}
    return {head}


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
                 fault_rate: float = 0.0, fault_seed: int = 0,
                 fault_kinds=("500", "502", "503", "504", "reset", "timeout", "truncated"),
                 scroll_page_size: int = 50, scroll_ttl: float = 60.0, page_size_cap: int = 150,
                 activity_logs_page_size: int = 50, denied: dict | None = None, plan_restricted: bool = False,
                 other_region_tokens=(), supported_versions=SUPPORTED_VERSIONS,
                 fault_timeout_seconds: float = 30.0, control_endpoints: bool = True):
        self.ws = ws if ws is not None else Workspace()
        self.token = token
        self.host, self.port = host, port
        self.latency = latency
        self.rate_limit_per_10s = rate_limit_per_10s
        self.fault_rate = fault_rate
        self.fault_kinds = tuple(fault_kinds)
        for k in self.fault_kinds:
            if k not in FAULT_KINDS:
                raise ValueError(f"unknown fault kind {k!r}")
        self._fault_rng = random.Random(fault_seed)
        self.scroll_page_size = scroll_page_size
        self.scroll_ttl = scroll_ttl
        self.page_size_cap = page_size_cap
        self.activity_logs_page_size = activity_logs_page_size
        self.denied = dict(denied or {})
        self.plan_restricted = plan_restricted
        self.other_region_tokens = set(other_region_tokens)
        self.supported_versions = set(supported_versions)
        self.fault_timeout_seconds = fault_timeout_seconds
        self.control_endpoints = control_endpoints

        self._lock = threading.Lock()          # server bookkeeping (not workspace state)
        self.requests: list[RequestRecord] = []
        self._injected: list[list] = []
        self._search_cache = SearchCache()
        self._stop = threading.Event()
        self._conns = set()
        self._httpd = None
        self._thread = None
        self.reset_stats()
        self._window_start = 0
        self._window_count = 0

    # ---------------------------------------------------------------- lifecycle
    def start(self):
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

    def stop(self):
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

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def _track(self, conn, add):
        with self._lock:
            (self._conns.add if add else self._conns.discard)(conn)

    # -------------------------------------------------------------------- stats
    def reset_stats(self):
        with self._lock:
            self.requests = []
            self._by_status = {}
            self._rate_limited = 0
            self._faults = 0
            self._in_flight = 0
            self._max_in_flight = 0

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
        with self._lock:
            return {"total": sum(self._by_status.values()), "by_status": dict(self._by_status),
                    "rate_limited": self._rate_limited, "faults_injected": self._faults,
                    "max_in_flight": self._max_in_flight, "in_flight": self._in_flight}

    def inject_fault(self, path_regex: str, kind: str, times: int = 1):
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}")
        with self._lock:
            self._injected.append([re.compile(path_regex), kind, int(times)])

    def clear_faults(self):
        with self._lock:
            self._injected.clear()

    # ----------------------------------------------------------------- plumbing
    def _send(self, h, status, obj=None, headers=None, raw: bytes | None = None, ctype="application/json"):
        body = raw if raw is not None else json.dumps(obj, separators=(",", ":")).encode()
        h.send_response(status)
        h.send_header("Content-Type", "application/json; charset=utf-8" if ctype == "application/json" else ctype)
        h.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            h.send_header(k, str(v))
        h.end_headers()
        if h.command != "HEAD":
            h.wfile.write(body)
        return status

    def _rate(self):
        """Admit or reject one authenticated request; returns (allowed, headers)."""
        now = time.time()
        window = int(now // 10) * 10
        limit = self.rate_limit_per_10s
        with self._lock:
            if window != self._window_start:
                self._window_start, self._window_count = window, 0
            eff = limit if limit is not None else UNLIMITED_RATE_LIMIT
            if limit is not None and self._window_count >= limit:
                self._rate_limited += 1
                return False, {"X-RateLimit-Limit": eff, "X-RateLimit-Remaining": 0,
                               "X-RateLimit-Reset": window + 10}
            self._window_count += 1
            return True, {"X-RateLimit-Limit": eff, "X-RateLimit-Remaining": max(0, eff - self._window_count),
                          "X-RateLimit-Reset": window + 10}

    def _pick_fault(self, path):
        with self._lock:
            for entry in self._injected:
                if entry[2] > 0 and entry[0].search(path):
                    entry[2] -= 1
                    if entry[2] <= 0:
                        self._injected.remove(entry)
                    self._faults += 1
                    return entry[1]
            if self.fault_rate > 0 and self.fault_kinds:
                if self._fault_rng.random() < self.fault_rate:
                    self._faults += 1
                    return self._fault_rng.choice(self.fault_kinds)
        return None

    # ------------------------------------------------------------------ request
    def _handle(self, h: BaseHTTPRequestHandler):
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

        if path.startswith("/_emulator/") and self.control_endpoints:
            self._control(h, path, query, body)
            return

        rec = RequestRecord(h.command, path, query, headers, body, 0, started, 0.0)
        with self._lock:
            self._in_flight += 1
            self._max_in_flight = max(self._max_in_flight, self._in_flight)
        status = 0
        try:
            status = self._api(h, rec, path, query, body, body_invalid, headers)
        finally:
            rec.status = status
            rec.ended = time.time()
            with self._lock:
                self._in_flight -= 1
                self.requests.append(rec)
                self._by_status[status] = self._by_status.get(status, 0) + 1

    def _api(self, h, rec, path, query, body, body_invalid, headers):
        if self.latency > 0:
            time.sleep(self.latency)
        auth = headers.get("authorization", "")
        tok = auth[7:].strip() if auth[:7].lower() == "bearer " else None
        if tok is None or tok != self.token or tok in self.other_region_tokens:
            return self._send(h, 401, error_body("unauthorized", "Access Token Invalid"))
        allowed, rl = self._rate()
        if not allowed:
            return self._send(h, 429, error_body(
                "rate_limit_exceeded", f"Exceeded rate limit of {self.rate_limit_per_10s} in 10_seconds"), rl)
        version = headers.get("intercom-version")
        if version is not None and version not in self.supported_versions:
            return self._send(h, 400, error_body("intercom_version_invalid",
                                                 f"The requested version '{version}' is not valid"), rl)
        if self.plan_restricted:
            return self._send(h, 403, error_body("api_plan_restricted", "Active subscription needed."), rl)
        for res in resources_of(path):
            st = self.denied.get(res)
            if st:
                code = "unauthorized" if int(st) == 401 else "forbidden"
                return self._send(h, int(st), error_body(
                    code, f"The access token does not have the permission required to access {res}"), rl)

        fault = self._pick_fault(path)
        rec.fault = fault
        if fault is not None:
            return self._fault(h, fault, path, query, body, body_invalid, rl)
        try:
            status, obj = self._dispatch(h, path, query, body, body_invalid)
        except _ApiError as e:
            return self._send(h, e.status, error_body(e.code, e.message), {**rl, **e.headers})
        return self._send(h, status, obj, rl)

    def _fault(self, h, fault, path, query, body, body_invalid, rl):
        if fault in ("500", "scroll_restart_500"):
            if fault == "scroll_restart_500":
                with self.ws.lock:
                    self.ws._scroll = None
                msg = "Request failed due to an internal network error. Please restart the scroll operation."
            else:
                msg = "An unexpected server error occurred"
            return self._send(h, 500, error_body("server_error", msg), rl)
        if fault in ("502", "503", "504"):
            text = {"502": "Bad Gateway", "503": "Service Unavailable", "504": "Gateway Time-out"}[fault]
            html = f"<html><head><title>{fault} {text}</title></head><body><h1>{text}</h1></body></html>"
            return self._send(h, int(fault), raw=html.encode(), ctype="text/html", headers=rl)
        if fault == "429":
            with self._lock:
                self._rate_limited += 1
            return self._send(h, 429, error_body(
                "rate_limit_exceeded", f"Exceeded rate limit of {self.rate_limit_per_10s or 1666} in 10_seconds"),
                {**rl, "X-RateLimit-Remaining": 0})
        if fault == "scroll_expired":
            with self.ws.lock:
                self.ws._scroll = None
            return self._send(h, 404, error_body("not_found", "scroll parameter not found"), rl)
        if fault == "reset":
            h.close_connection = True
            try:
                h.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            except OSError:
                pass
            return 0
        if fault == "timeout":
            self._stop.wait(self.fault_timeout_seconds)
            h.close_connection = True
            return 0
        if fault == "truncated":
            try:
                status, obj = self._dispatch(h, path, query, body, body_invalid, commit=False)
            except _ApiError as e:
                obj = error_body(e.code, e.message)
            data = json.dumps(obj, separators=(",", ":")).encode()
            return self._send(h, 200, raw=data[: max(1, len(data) // 2)], headers=rl)
        raise AssertionError(fault)

    # ---------------------------------------------------------------- control
    def _control(self, h, path, query, body):
        try:
            if path == "/_emulator/ground_truth" and h.command == "GET":
                sd = query.get("start_date", [""])[0]
                out = self.ws.ground_truth(int(sd) if sd else None)
                return self._send(h, 200, out)
            if path == "/_emulator/stats" and h.command == "GET":
                return self._send(h, 200, {**self.stats(), "version": self.ws.version})
            if path == "/_emulator/mutate" and h.command == "POST":
                b = body or {}
                summary = self.ws.mutate_random(random.Random(b.get("seed", 0)), float(b.get("fraction", 0.1)))
                return self._send(h, 200, {**summary, "version": self.ws.version})
            if path == "/_emulator/reset_stats" and h.command == "POST":
                self.reset_stats()
                return self._send(h, 200, {"ok": True})
        except (ValueError, TypeError) as e:
            return self._send(h, 400, error_body("bad_request", str(e)))
        return self._send(h, 404, error_body("not_found", "Resource Not Found"))

    # --------------------------------------------------------------- dispatch
    def _dispatch(self, h, path, query, body, body_invalid, commit=True):
        m = h.command
        parts = [p for p in path.split("/") if p]
        ws = self.ws

        def q1(name, default=None):
            v = query.get(name)
            return v[0] if v else default

        def not_found(code="not_found", msg="Resource Not Found"):
            raise _ApiError(404, code, msg)

        with ws.lock:
            if m == "GET":
                if parts == ["me"]:
                    if not ws.admins:
                        not_found()
                    return 200, ws.render_admin(ws.admins[0], with_app=True)
                if parts == ["admins"]:
                    return 200, {"type": "admin.list", "admins": [ws.render_admin(a) for a in ws.admins]}
                if parts == ["admins", "activity_logs"]:
                    return 200, self._activity_logs(h, query)
                if len(parts) == 2 and parts[0] == "admins":
                    for a in ws.admins:
                        if a["id"] == parts[1]:
                            return 200, ws.render_admin(a)
                    not_found("admin_not_found", "Admin not found")
                if parts == ["teams"]:
                    return 200, {"type": "team.list", "teams": [dict(t) for t in ws.teams]}
                if parts == ["tags"]:
                    return 200, {"type": "list", "data": [ws.render_tag(i) for i in range(len(ws.tags))]}
                if parts == ["segments"]:
                    inc = (q1("include_count", "false") or "").lower() == "true"
                    return 200, {"type": "segment.list",
                                 "segments": [ws.render_segment(r, inc) for r in ws.segments], "pages": {}}
                if parts == ["data_attributes"]:
                    model = q1("model")
                    if model is None:
                        data = [a for mdl in ("contact", "company", "conversation")
                                for a in ws.render_data_attributes(mdl)]
                    elif model in ("contact", "company", "conversation"):
                        data = ws.render_data_attributes(model)
                    else:
                        raise _ApiError(400, "parameter_invalid",
                                        "model must be one of contact, company, conversation")
                    return 200, {"type": "list", "data": data}
                if parts == ["companies", "scroll"]:
                    return 200, self._scroll(q1("scroll_param"), commit)
                if parts == ["companies"]:
                    return 200, self._list_companies(query)
                if len(parts) == 2 and parts[0] == "companies":
                    r = ws.company_by_id.get(parts[1])
                    if r is None:
                        not_found("company_not_found", "Company Not Found")
                    return 200, ws.render_company(r)
                if len(parts) == 3 and parts[0] == "companies" and parts[2] == "segments":
                    r = ws.company_by_id.get(parts[1])
                    if r is None:
                        not_found("company_not_found", "Company Not Found")
                    return 200, {"type": "list", "data": [ws.render_segment(ws.segments[s]) for s in r.a]}
                if len(parts) == 2 and parts[0] == "contacts":
                    r = ws.contact_by_id.get(parts[1])
                    if r is None:
                        not_found()
                    return 200, ws.render_contact(r)
                if len(parts) == 2 and parts[0] == "conversations":
                    r = ws.conversation_by_id.get(parts[1])
                    if r is None or r.deleted:
                        not_found()
                    return 200, ws.render_conversation(r, with_parts=True)
                if len(parts) == 2 and parts[0] == "tickets":
                    r = ws.ticket_by_id.get(parts[1])
                    if r is None:
                        not_found()
                    return 200, ws.render_ticket(r, with_parts=True)
                if parts == ["ticket_types"]:
                    return 200, {"type": "list", "data": [dict(t) for t in ws.ticket_types]}
            elif m == "POST" and len(parts) == 2 and parts[1] == "search" and \
                    parts[0] in ("contacts", "conversations", "tickets"):
                if body_invalid:
                    raise _ApiError(400, "bad_request", "Request body is not valid JSON")
                try:
                    return 200, run_search(ws, parts[0], body, self._search_cache, self.page_size_cap)
                except SearchError as e:
                    raise _ApiError(e.status, e.code, e.message)
        not_found()

    def _activity_logs(self, h, query):
        """Newest first; bounds are inclusive: created_at_after <= created_at <= created_at_before."""
        def intparam(name, required=False):
            v = query.get(name)
            if not v or v[0] == "":
                if required:
                    raise _ApiError(400, "parameter_invalid", f"{name} is a required parameter")
                return None
            try:
                return int(v[0])
            except ValueError:
                raise _ApiError(400, "parameter_invalid", f"{name} must be a UNIX timestamp")
        after = intparam("created_at_after", True)
        before = intparam("created_at_before")
        page = intparam("page") or 1
        per_page = intparam("per_page") or self.activity_logs_page_size
        if page < 1 or not 1 <= per_page <= self.page_size_cap:
            raise _ApiError(400, "parameter_invalid", "invalid page or per_page")
        logs = [r for r in self.ws.activity_logs
                if r.created_at >= after and (before is None or r.created_at <= before)]
        logs.sort(key=lambda r: (r.created_at, id_sort_key(r.id)), reverse=True)
        total_pages = max(1, math.ceil(len(logs) / per_page))
        chunk = logs[(page - 1) * per_page: page * per_page]
        nxt = None
        if page < total_pages:
            params = {k: v[0] for k, v in query.items() if k != "page"}
            params["page"] = page + 1
            host = h.headers.get("Host") or f"{self.host}:{self.port}"
            nxt = f"http://{host}/admins/activity_logs?{urlencode(params)}"
        return {"type": "activity_log.list",
                "pages": {"type": "pages", "page": page, "per_page": per_page, "total_pages": total_pages,
                          "next": nxt},
                "activity_logs": [self.ws.render_activity_log(r) for r in chunk]}

    def _scroll(self, param, commit):
        ws = self.ws
        now = time.monotonic()
        st = ws._scroll
        if st is not None and now - st["last"] > self.scroll_ttl:
            if commit:
                ws._scroll = None
            st = None
        if not param:
            if st is not None:
                raise _ApiError(400, "scroll_exists", "scroll already exists for this workspace")
            if not ws.companies:
                raise _ApiError(404, "company_not_found", "Company Not Found")
            st = {"ids": sorted((r.id for r in ws.companies), key=id_sort_key), "pos": 0, "last": now,
                  "param": None}
        elif st is None or st["param"] != param:
            raise _ApiError(404, "not_found", "scroll parameter not found")
        page_ids = st["ids"][st["pos"]: st["pos"] + self.scroll_page_size]
        new_param = str(uuid.uuid4())
        if commit:
            st["pos"] += len(page_ids)
            st["last"] = now
            st["param"] = new_param
            ws._scroll = st if page_ids else None      # empty page: end of scroll, the param expires
        data = [ws.render_company(ws.company_by_id[i]) for i in page_ids]
        return {"type": "list", "data": data, "pages": None, "total_count": None, "scroll_param": new_param}

    def _list_companies(self, query):
        try:
            page = int((query.get("page") or ["1"])[0])
            per_page = int((query.get("per_page") or ["15"])[0])
        except ValueError:
            raise _ApiError(400, "parameter_invalid", "page and per_page must be integers")
        if page < 1 or not 1 <= per_page <= 60:
            raise _ApiError(400, "parameter_invalid", "per_page must be between 1 and 60")
        comps = sorted(self.ws.companies, key=lambda r: (r.created_at, id_sort_key(r.id)), reverse=True)
        reachable = comps[:LIST_COMPANIES_MAX]
        total_pages = max(1, math.ceil(len(reachable) / per_page))
        chunk = reachable[(page - 1) * per_page: page * per_page]
        return {"type": "list", "data": [self.ws.render_company(r) for r in chunk],
                "pages": {"type": "pages", "page": page, "per_page": per_page, "total_pages": total_pages},
                "total_count": len(comps)}
