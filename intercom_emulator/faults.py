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

import json
import random
import re
import threading
from dataclasses import dataclass, replace
from typing import Callable

from .replies import Reply, error_reply, html_reply

FAULT_KINDS = frozenset({"500", "502", "503", "504", "reset", "timeout", "truncated", "429",
                         "scroll_restart_500", "scroll_expired"})
SERVES = frozenset({"truncated", "reset", "timeout", "502", "504"})
CLOSES_SCROLL = frozenset({"scroll_restart_500", "scroll_expired"})
DEFAULT_RANDOM_KINDS = ("500", "502", "503", "504", "reset", "timeout", "truncated")
GATEWAY_TEXT = {"502": "Bad Gateway", "503": "Service Unavailable", "504": "Gateway Time-out"}


def check_kind(kind: str) -> str:
    if kind not in FAULT_KINDS:
        raise ValueError(f"unknown fault kind {kind!r}")
    return kind


@dataclass(frozen=True)
class FaultContext:
    """What a fault rule's predicate sees of a request. For ``GET /companies/scroll``,
    ``scroll_page`` is the 0-based page the request would serve within its scroll and
    ``scroll_pages`` the scroll's number of pages, the final empty one included (both None when
    the request would be refused: scroll_exists, an unknown param, no companies)."""
    method: str
    path: str
    query: dict[str, list[str]]
    body: object = None
    opens_scroll: bool = False          # a scroll request without scroll_param
    scroll_page: int | None = None
    scroll_pages: int | None = None

    def identity(self) -> tuple:
        """Same method, path, query and body: the same request (a retry)."""
        query = tuple(sorted((k, tuple(v)) for k, v in self.query.items()))
        return self.method, self.path, query, json.dumps(self.body, sort_keys=True)


Predicate = Callable[[FaultContext], bool]


@dataclass
class FaultRule:
    path: re.Pattern
    kind: str
    times: int                          # how many more matching requests get the fault
    when: Predicate | None = None

    def matches(self, ctx: FaultContext) -> bool:
        return self.times > 0 and bool(self.path.search(ctx.path)) and (self.when is None or bool(self.when(ctx)))


def even_rates(rate: float, kinds) -> dict[str, float]:
    """``rate`` of the requests get a fault, in equal shares of ``kinds``."""
    kinds = tuple(check_kind(k) for k in kinds)
    return {k: rate / len(kinds) for k in kinds} if rate > 0 and kinds else {}


class RandomFaults:
    """Each request on a path matching ``paths`` (every path if None) gets kind ``k`` with
    probability ``rates[k]``: one draw from a generator seeded with ``seed`` per such request."""

    def __init__(self, rates: dict[str, float], paths: str | None = None, seed: int = 0):
        total = 0.0
        self._cumulative: list[tuple[str, float]] = []
        for kind, rate in rates.items():
            if rate < 0:
                raise ValueError(f"fault rate of {kind!r} is negative")
            total += rate
            self._cumulative.append((check_kind(kind), total))
        if total > 1 + 1e-9:
            raise ValueError(f"fault rates add up to {total:g}, more than 1")
        self.rates = dict(rates)
        self.paths = re.compile(paths) if paths else None
        self._rng = random.Random(seed)

    def draw(self, path: str) -> str | None:
        if not self._cumulative or (self.paths is not None and not self.paths.search(path)):
            return None
        u = self._rng.random()
        return next((kind for kind, upper in self._cumulative if u < upper), None)


class FaultPlan:
    """Injected rules first (oldest first, each for its next ``times`` matching requests), then
    the random draw. A random fault is withheld from a request that already got
    ``max_in_a_row`` faults in a row (injected or random), so a client that retries gets through."""

    def __init__(self, random_faults: RandomFaults | None = None, max_in_a_row: int | None = None):
        self.random = random_faults if random_faults is not None else RandomFaults({})
        self.max_in_a_row = max_in_a_row
        self._rules: list[FaultRule] = []
        self._in_a_row: dict[tuple, int] = {}      # faults in a row per request identity
        self._lock = threading.RLock()              # a predicate may inject a rule

    def inject(self, path_regex: str, kind: str, times: int = 1, when: Predicate | None = None) -> None:
        rule = FaultRule(re.compile(path_regex), check_kind(kind), int(times), when)
        with self._lock:
            self._rules.append(rule)

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def draw(self, ctx: FaultContext) -> str | None:
        with self._lock:
            identity = ctx.identity() if self.max_in_a_row is not None else None
            kind = self._injected(ctx)
            if kind is None:
                kind = self._random(ctx.path, identity)
            if identity is not None:
                self._count_in_a_row(identity, kind)
            return kind

    def _injected(self, ctx: FaultContext) -> str | None:
        for rule in self._rules:
            if rule.matches(ctx):
                rule.times -= 1
                if rule.times <= 0:
                    self._rules.remove(rule)
                return rule.kind
        return None

    def _random(self, path: str, identity: tuple | None) -> str | None:
        kind = self.random.draw(path)
        if kind is not None and identity is not None and self._in_a_row.get(identity, 0) >= self.max_in_a_row:
            return None
        return kind

    def _count_in_a_row(self, identity: tuple, kind: str | None) -> None:
        if kind is None:
            self._in_a_row.pop(identity, None)
        else:
            self._in_a_row[identity] = self._in_a_row.get(identity, 0) + 1


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
