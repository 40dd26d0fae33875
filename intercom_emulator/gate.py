"""The checks every API request passes before an endpoint sees it, in Intercom's order:
auth (401) -> rate limit (429) -> version (400) -> plan (403) -> permission (401/403) -> fault.
``admit`` runs the checks; ``draw_fault`` then asks the fault plan.
"""
from __future__ import annotations

import threading
import time
from typing import Callable

from .faults import FaultContext, FaultPlan
from .replies import Reply, error_reply

SUPPORTED_VERSIONS = ("2.7", "2.8", "2.9", "2.10", "2.11", "2.12", "2.13", "2.14", "2.15", "2.16", "Preview")
UNLIMITED_RATE_LIMIT = 1_000_000   # reported X-RateLimit-Limit when no limit is enforced
WINDOW_SECONDS = 10
CONTACT_LISTS = {"tags": "contact_tags", "companies": "contact_companies", "notes": "contact_notes"}
LIST_STREAMS = {"collections": "help_center_collections", "help_centers": "help_centers", "news_items": "news_items",
                "newsfeeds": "newsfeeds"}
ATTRIBUTE_STREAMS = {"contact": "contact_attributes", "company": "company_attributes",
                     "conversation": "conversation_attributes"}


def version_key(version: str) -> tuple[int, ...]:
    """Versions in release order: "2.9" < "2.10" < "2.16" < "Preview"."""
    if version == "Preview":
        return (1 << 30,)
    return tuple(int(n) for n in version.split("."))


def resources_of(path: str, query: dict | None = None) -> tuple[str, ...]:
    """Permission resources a request belongs to (the keys of ``denied``): the first path segment,
    and the alias of the stream it serves."""
    parts = [p for p in path.split("/") if p]
    if not parts:
        return ()
    head = parts[0]
    if head == "admins" and len(parts) > 1 and parts[1] == "activity_logs":
        return ("activity_logs",)
    if head == "companies" and len(parts) == 3 and parts[2] == "segments":
        return ("companies", "company_segments")
    if head == "contacts" and len(parts) == 3 and parts[2] in CONTACT_LISTS:
        return ("contacts", CONTACT_LISTS[parts[2]])
    if head in ("ticket_types", "ticket_states"):
        return ("tickets", head)
    if head in ("help_center", "news") and len(parts) == 2 and parts[1] in LIST_STREAMS:
        return (head, LIST_STREAMS[parts[1]])
    if head == "data_attributes":
        model = ((query or {}).get("model") or [None])[0]
        if model in ATTRIBUTE_STREAMS:
            return ("data_attributes", ATTRIBUTE_STREAMS[model])
        return ("data_attributes", *ATTRIBUTE_STREAMS.values())
    if head == "tickets" and len(parts) == 2 and parts[1] != "search":
        return ("tickets", "ticket_parts")
    if head == "conversations" and parts[1:] == ["deleted"]:
        return ("conversations", "deleted_conversations")
    if head == "conversations":
        return ("conversations", "conversation_parts")
    if head in ("export", "download") and parts[1:2] == ["reporting_data"]:
        return ("export_reporting_data",)
    return (head,)


class Refused(Exception):
    def __init__(self, reply: Reply):
        super().__init__(reply.status)
        self.reply = reply


class RateLimiter:
    """Fixed windows aligned to multiples of 10 unix seconds; only admitted requests count."""

    def __init__(self, limit_per_window: int | None):
        self.limit = limit_per_window
        self._window_start = 0
        self._count = 0

    def admit(self, now: float) -> tuple[bool, dict]:
        """(allowed, X-RateLimit-* headers). Not thread-safe: the Gate serialises calls."""
        window = int(now // WINDOW_SECONDS) * WINDOW_SECONDS
        if window != self._window_start:
            self._window_start, self._count = window, 0
        reported = self.limit if self.limit is not None else UNLIMITED_RATE_LIMIT
        if self.limit is not None and self._count >= self.limit:
            return False, {"X-RateLimit-Limit": reported, "X-RateLimit-Remaining": 0,
                           "X-RateLimit-Reset": window + WINDOW_SECONDS}
        self._count += 1
        return True, {"X-RateLimit-Limit": reported, "X-RateLimit-Remaining": max(0, reported - self._count),
                      "X-RateLimit-Reset": window + WINDOW_SECONDS}


class Gate:
    def __init__(self, *, token: str, other_region_tokens=(), rate_limit_per_10s: int | None = None,
                 supported_versions=SUPPORTED_VERSIONS, plan_restricted: bool = False, denied: dict | None = None,
                 faults: FaultPlan | None = None, plan_lacks=(), clock: Callable[[], float] = time.time):
        self.token = token
        self.clock = clock              # unix seconds: the rate-limit windows
        self.other_region_tokens = set(other_region_tokens)
        self.rate_limiter = RateLimiter(rate_limit_per_10s)
        self.supported_versions = set(supported_versions)
        self.plan_restricted = plan_restricted      # the plan has no API access: every request is refused
        self.plan_lacks = frozenset(plan_lacks)     # resources (keys as `denied`) of products the plan lacks
        self.denied = dict(denied or {})
        self.faults = faults if faults is not None else FaultPlan()
        self._lock = threading.Lock()
        self.rate_limited = 0           # 429 answers, real or injected
        self.faults_injected = 0

    @property
    def rate_limit_per_10s(self) -> int | None:
        return self.rate_limiter.limit

    def reset_counts(self) -> None:
        with self._lock:
            self.rate_limited = 0
            self.faults_injected = 0

    def admit(self, path: str, headers: dict, query: dict | None = None) -> dict:
        """The request's X-RateLimit-* headers; raises Refused with the answer to send instead."""
        self._check_token(headers)
        rate_headers = self._check_rate(self.clock())
        self._check_version(headers, rate_headers)
        self._check_plan_and_permissions(resources_of(path, query), rate_headers)
        return rate_headers

    def draw_fault(self, ctx: FaultContext) -> str | None:
        """The fault an admitted request gets, or None."""
        fault = self.faults.draw(ctx)
        if fault is not None:
            with self._lock:
                self.faults_injected += 1
                self.rate_limited += fault == "429"
        return fault

    def _check_token(self, headers: dict) -> None:
        auth = headers.get("authorization", "")
        token = auth[7:].strip() if auth[:7].lower() == "bearer " else None
        if token is None or token != self.token or token in self.other_region_tokens:
            raise Refused(error_reply(401, "unauthorized", "Access Token Invalid"))

    def _check_rate(self, now: float) -> dict:
        with self._lock:
            allowed, rate_headers = self.rate_limiter.admit(now)
            if not allowed:
                self.rate_limited += 1
        if not allowed:
            raise Refused(error_reply(429, "rate_limit_exceeded",
                                      f"Exceeded rate limit of {self.rate_limit_per_10s} in 10_seconds", rate_headers))
        return rate_headers

    def _check_version(self, headers: dict, rate_headers: dict) -> None:
        version = headers.get("intercom-version")
        if version is not None and version not in self.supported_versions:
            raise Refused(error_reply(400, "intercom_version_invalid",
                                      f"The requested version '{version}' is not valid", rate_headers))

    def _check_plan_and_permissions(self, resources: tuple[str, ...], rate_headers: dict) -> None:
        if self.plan_restricted or self.plan_lacks.intersection(resources):
            raise Refused(error_reply(403, "api_plan_restricted", "Active subscription needed.", rate_headers))
        for resource in resources:
            status = self.denied.get(resource)
            if status:
                code = "unauthorized" if int(status) == 401 else "forbidden"
                raise Refused(error_reply(int(status), code, "The access token does not have the permission "
                                                             f"required to access {resource}", rate_headers))
