"""Faults: which request gets one (the ``FaultPlan``), and what the client then receives.

Kinds that serve first (the endpoint runs: a scroll page is served, the scroll's position
advances or a scroll opens) and then lose the answer:
- ``truncated``: the served answer, same status, with its body cut in half;
- ``reset``: the connection is reset, no answer;
- ``timeout``: no answer for ``fault_timeout_seconds``, then the connection closes;
- ``502``, ``504``: a gateway's small HTML page instead of the answer.
Kinds that do not serve (the endpoint does not run):
- ``503``: a gateway's small HTML page; ``500``: JSON server_error; ``429``: JSON rate_limit_exceeded;
- ``scroll_restart_500``: JSON 500 "... Please restart the scroll operation."; closes the scroll;
- ``scroll_expired``: JSON 404 "scroll parameter not found"; closes the scroll.
"""
from __future__ import annotations

import random
import re
import threading
from dataclasses import dataclass, replace

from .replies import Reply, error_reply, html_reply

FAULT_KINDS = frozenset({"500", "502", "503", "504", "reset", "timeout", "truncated", "429",
                         "scroll_restart_500", "scroll_expired"})
DEFAULT_RANDOM_KINDS = ("500", "502", "503", "504", "reset", "timeout", "truncated")
SERVES = frozenset({"truncated", "reset", "timeout", "502", "504"})
CLOSES_SCROLL = frozenset({"scroll_restart_500", "scroll_expired"})
GATEWAY_TEXT = {"502": "Bad Gateway", "503": "Service Unavailable", "504": "Gateway Time-out"}


def check_kind(kind: str) -> str:
    if kind not in FAULT_KINDS:
        raise ValueError(f"unknown fault kind {kind!r}")
    return kind


@dataclass
class FaultRule:
    path: re.Pattern
    kind: str
    times: int              # how many more matching requests get the fault


class FaultPlan:
    """Injected rules first (oldest first, each for its next ``times`` matching requests), then a
    random draw: ``rate`` of the requests get a fault, of a kind chosen evenly from ``kinds``."""

    def __init__(self, rate: float = 0.0, kinds=DEFAULT_RANDOM_KINDS, seed: int = 0):
        self.rate = rate
        self.kinds = tuple(check_kind(k) for k in kinds)
        self._rng = random.Random(seed)
        self._rules: list[FaultRule] = []
        self._lock = threading.Lock()

    def inject(self, path_regex: str, kind: str, times: int = 1) -> None:
        rule = FaultRule(re.compile(path_regex), check_kind(kind), int(times))
        with self._lock:
            self._rules.append(rule)

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def draw(self, path: str) -> str | None:
        with self._lock:
            for rule in self._rules:
                if rule.times > 0 and rule.path.search(path):
                    rule.times -= 1
                    if rule.times <= 0:
                        self._rules.remove(rule)
                    return rule.kind
            if self.rate > 0 and self.kinds and self._rng.random() < self.rate:
                return self._rng.choice(self.kinds)
        return None


def fault_reply(kind: str, rate_headers: dict, served: Reply | None, rate_limit: int | None) -> Reply:
    """What the client receives for a fault; ``served`` is the endpoint's answer (kinds in SERVES)."""
    match kind:
        case "500":
            return error_reply(500, "server_error", "An unexpected server error occurred", rate_headers)
        case "scroll_restart_500":
            return error_reply(500, "server_error", "Request failed due to an internal network error. "
                                                    "Please restart the scroll operation.", rate_headers)
        case "502" | "503" | "504":
            text = GATEWAY_TEXT[kind]
            html = f"<html><head><title>{kind} {text}</title></head><body><h1>{text}</h1></body></html>"
            return html_reply(int(kind), html, rate_headers)
        case "429":
            return error_reply(429, "rate_limit_exceeded",
                               f"Exceeded rate limit of {rate_limit or 1666} in 10_seconds",
                               {**rate_headers, "X-RateLimit-Remaining": 0})
        case "scroll_expired":
            return error_reply(404, "not_found", "scroll parameter not found", rate_headers)
        case "reset":
            return Reply(0, lost="reset")
        case "timeout":
            return Reply(0, lost="hang")
        case "truncated":
            assert served is not None
            return replace(served, body=served.body[: max(1, len(served.body) // 2)])
    raise AssertionError(kind)
