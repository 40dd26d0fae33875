"""Intercom's Reporting Data Export (API 2.15+; shapes from the 2.16 OpenAPI description): the
datasets, their rows (the ground truth), and the export jobs with their server-side state.

Rows are computed from their index, never stored: row ``i`` of a dataset of ``n`` rows has its
time attribute at ``start + i * span / n``, so a window's rows are an index range and an export
of a million rows costs no memory until it is downloaded. Rows changed after the fact (a
conversation closed later changes its time to close) and rows added later are kept apart.
"""
from __future__ import annotations

import csv
import gzip
import io
import random
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Callable, Iterator

from .replies import ApiError

DAY = 86_400
RETENTION_DAYS = 730                # Intercom keeps reporting data 2 years by default
MAX_PENDING_JOBS = 5                # "Exceeded rate limit of 5 pending reporting dataset export jobs"
SCOPE = "export_reporting_data"


@dataclass(frozen=True)
class Attribute:
    id: str
    name: str
    prefix: str

    @property
    def qualified_id(self) -> str:
        return f"{self.prefix}.{self.id}"

    def render(self) -> dict:
        return {"id": self.id, "qualified_id": self.qualified_id, "name": self.name}


@dataclass(frozen=True)
class Dataset:
    id: str
    name: str
    description: str
    default_time_attribute_id: str
    attributes: tuple[Attribute, ...]
    make_row: Callable[[random.Random, int], dict]    # (generator seeded for the row, time) -> the other values

    def render(self) -> dict:
        return {"id": self.id, "name": self.name, "description": self.description,
                "default_time_attribute_id": self.default_time_attribute_id,
                "attributes": [a.render() for a in self.attributes]}


def _attributes(prefix: str, *pairs: tuple[str, str]) -> tuple[Attribute, ...]:
    return tuple(Attribute(attribute_id, name, prefix) for attribute_id, name in pairs)


CHANNELS = ("chat", "email", "whatsapp", "phone", "messenger")
TEAMMATES = tuple(str(991_000 + k) for k in range(8))
TEAMS = tuple(str(5_000 + k) for k in range(3))


def _conversation_row(rng: random.Random, started: int) -> dict:
    closed = rng.random() < 0.8
    responded = closed or rng.random() < 0.5
    first_response = rng.randint(20, 6 * 3600) if responded else None
    time_to_close = rng.randint(first_response or 60, 3 * DAY) if closed else None
    return {"conversation_state": "closed" if closed else rng.choice(("open", "snoozed")),
            "channel": rng.choice(CHANNELS), "team_assignee_id": rng.choice(TEAMS),
            "teammate_assignee_id": rng.choice(TEAMMATES),
            "time_to_first_response": first_response, "time_to_close": time_to_close,
            "conversation_closed_at": started + time_to_close if closed else None,
            "number_of_teammate_replies": rng.randint(1, 12) if responded else 0,
            "conversation_rating": rng.randint(1, 5) if closed and rng.random() < 0.3 else None}


def _ticket_row(rng: random.Random, created: int) -> dict:
    resolved = rng.random() < 0.7
    return {"ticket_type": rng.choice(("Bug report", "Refund", "Access request")),
            "ticket_state": "resolved" if resolved else rng.choice(("submitted", "in_progress", "waiting_on_customer")),
            "teammate_assignee_id": rng.choice(TEAMMATES),
            "time_to_resolve": rng.randint(600, 10 * DAY) if resolved else None}


def _status_change_row(rng: random.Random, changed: int) -> dict:
    away = rng.random() < 0.5
    return {"teammate_id": rng.choice(TEAMMATES), "status": "away" if away else "active",
            "away_reason": rng.choice(("Lunch", "Meeting", "Off shift")) if away else None,
            "reassign_conversations": ("true" if rng.random() < 0.5 else "false") if away else None}


DATASETS: tuple[Dataset, ...] = (
    Dataset("conversation", "Conversation",
            "Conversation-level details and metrics: status, channel, assignee, response and close times.",
            "conversation_started_at",
            _attributes("conversation", ("conversation_id", "Conversation ID"),
                        ("conversation_started_at", "Conversation started at"),
                        ("conversation_state", "Conversation state"), ("channel", "Channel"),
                        ("team_assignee_id", "Team assigned"), ("teammate_assignee_id", "Teammate assigned"),
                        ("time_to_first_response", "Time to first response (seconds)"),
                        ("time_to_close", "Time to close (seconds)"),
                        ("conversation_closed_at", "Conversation closed at"),
                        ("number_of_teammate_replies", "Number of teammate replies"),
                        ("conversation_rating", "Conversation rating")),
            _conversation_row),
    Dataset("ticket", "Ticket", "Ticket-level details: type, state, assignee and time to resolve.",
            "ticket_created_at",
            _attributes("ticket", ("ticket_id", "Ticket ID"), ("ticket_created_at", "Ticket created at"),
                        ("ticket_type", "Ticket type"), ("ticket_state", "Ticket state"),
                        ("teammate_assignee_id", "Teammate assigned"), ("time_to_resolve", "Time to resolve (seconds)")),
            _ticket_row),
    Dataset("admin_status_change", "Teammate status changes",
            "Each change of a teammate's away/active status, with the away reason.", "status_changed_at",
            _attributes("admin_status_change", ("teammate_id", "Teammate ID"),
                        ("status_changed_at", "Status changed at"), ("status", "Status"),
                        ("away_reason", "Away reason"), ("reassign_conversations", "Reassign conversations")),
            _status_change_row),
)
DATASET_BY_ID = {d.id: d for d in DATASETS}
# Rows per dataset in a workspace of the default sizes; ``rows`` overrides any of them.
DEFAULT_ROWS = {"conversation": 240, "ticket": 60, "admin_status_change": 150}


def iso(ts: int) -> str:
    """Times in the CSV: ISO 8601 in UTC (Intercom does not document the file's time format)."""
    return datetime.fromtimestamp(ts, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class ReportingRows:
    """The rows of every dataset: ``n`` generated ones spread evenly over [anchor - span, anchor),
    plus those added later; a generated row changed later keeps its time, and its other values
    are replaced."""

    def __init__(self, seed: int, anchor: int, span_days: int, rows: dict[str, int] | None = None):
        self.seed, self.anchor, self.span = seed, anchor, span_days * DAY
        self.counts = {**DEFAULT_ROWS, **(rows or {})}
        self._changed: dict[tuple[str, int], dict] = {}
        self._added: dict[str, list[dict]] = {d.id: [] for d in DATASETS}

    def _time_of(self, dataset: str, index: int) -> int:
        return self.anchor - self.span + index * self.span // self.counts[dataset]

    def _generated(self, dataset: Dataset, index: int, version: int = 0) -> dict:
        at = self._time_of(dataset.id, index)
        rng = random.Random(f"{self.seed}/{dataset.id}/{index}/{version}")
        row = {dataset.default_time_attribute_id: at, **dataset.make_row(rng, at)}
        key = f"{dataset.id}_id"
        if any(a.id == key for a in dataset.attributes):
            row[key] = str((1_000_000 if dataset.id == "ticket" else 2_000_000) + index)
        return row

    def _index_range(self, dataset: str, start: int, end: int) -> range:
        """The generated rows whose time t is in [start, end)."""
        n, base = self.counts[dataset], self.anchor - self.span
        first = max(0, -(-(start - base) * n // self.span))
        last = min(n, -(-(end - base) * n // self.span))
        return range(first, max(first, last))

    def rows(self, dataset_id: str, start: int, end: int) -> Iterator[dict]:
        """The dataset's rows whose time attribute is in [start, end), oldest first, as typed values
        (times as unix seconds, None where the CSV cell is empty)."""
        dataset = DATASET_BY_ID[dataset_id]
        for index in self._index_range(dataset_id, start, end):
            yield self._changed.get((dataset_id, index)) or self._generated(dataset, index)
        time_id = dataset.default_time_attribute_id
        yield from (r for r in self._added[dataset_id] if start <= r[time_id] < end)

    def change_recent(self, dataset_id: str, count: int, within_days: float, seed: int = 0) -> list[dict]:
        """Changes the metrics of ``count`` generated rows from the last ``within_days`` days (their
        time stays): what a late close does to a conversation's row. Returns the changed rows."""
        dataset = DATASET_BY_ID[dataset_id]
        candidates = list(self._index_range(dataset_id, self.anchor - int(within_days * DAY), self.anchor))
        chosen = random.Random(seed).sample(candidates, min(count, len(candidates)))
        for index in chosen:
            self._changed[(dataset_id, index)] = self._generated(dataset, index, version=1 + seed)
        return [self._changed[(dataset_id, i)] for i in chosen]

    def add(self, dataset_id: str, times: list[int], seed: int = 0) -> list[dict]:
        """Adds rows at the given times (after the anchor: new activity)."""
        dataset = DATASET_BY_ID[dataset_id]
        added = []
        for k, at in enumerate(times):
            rng = random.Random(f"{self.seed}/{dataset_id}/added/{seed}/{k}")
            row = {dataset.default_time_attribute_id: at, **dataset.make_row(rng, at)}
            key = f"{dataset_id}_id"
            if any(a.id == key for a in dataset.attributes):
                row[key] = str(3_000_000 + len(self._added[dataset_id]))
            self._added[dataset_id].append(row)
            added.append(row)
        return added


def csv_cell(value: object, attribute: Attribute, dataset: Dataset) -> str:
    if value is None:
        return ""
    if attribute.id.endswith("_at"):
        return iso(int(value))
    return str(value)


def gzip_csv(dataset: Dataset, attribute_ids: list[str], rows: Iterator[dict]) -> bytes:
    """The export file: a header of attribute ids, one line per row, gzip-compressed."""
    attributes = [next(a for a in dataset.attributes if a.id == i) for i in attribute_ids]
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb", compresslevel=1, mtime=0) as compressed:
        text = io.TextIOWrapper(compressed, encoding="utf-8", newline="")
        writer = csv.writer(text)
        writer.writerow(attribute_ids)
        for row in rows:
            writer.writerow([csv_cell(row.get(a.id), a, dataset) for a in attributes])
        text.flush()
        text.detach()
    return out.getvalue()


@dataclass
class ExportJob:
    identifier: str
    dataset_id: str
    attribute_ids: list[str]
    start_time: int
    end_time: int
    ready_at: float                 # pending until then
    fails: bool
    expires_after: float            # seconds a download stays available once the job is complete
    downloads: int = 0

    def status(self, now: float) -> str:
        if now < self.ready_at:
            return "pending"
        return "failed" if self.fails else "complete"

    def expired(self, now: float) -> bool:
        return self.status(now) == "complete" and now >= self.ready_at + self.expires_after


@dataclass
class ReportingExports:
    """The export jobs of one workspace (owned by the server, like the companies scroll).

    ``pending_seconds``: how long a job stays pending; ``failure_rate``: the share of jobs that end
    ``failed`` (drawn from ``seed``); ``download_ttl``: seconds a complete job's file can be
    downloaded; ``retention_days``: how far back ``start_time`` may reach."""

    pending_seconds: float = 1.0
    failure_rate: float = 0.0
    download_ttl: float = 900.0
    retention_days: int = RETENTION_DAYS
    seed: int = 0
    clock: Callable[[], float] = time.time
    jobs: dict[str, ExportJob] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)
        self._lock = threading.Lock()
        self._fail_next = 0
        self._expire_next = 0
        self.reset_counts()

    def reset_counts(self) -> None:
        self.counts = {"enqueued": 0, "refused_pending": 0, "max_pending": 0, "failed": 0,
                       "downloads": 0, "expired_downloads": 0, "polls": 0}

    def fail_next_jobs(self, count: int) -> None:
        """The next ``count`` jobs enqueued end ``failed``."""
        self._fail_next += count

    def expire_next_downloads(self, count: int) -> None:
        """The next ``count`` jobs enqueued complete with a download that has already expired."""
        self._expire_next += count

    def pending(self, now: float) -> int:
        return sum(job.status(now) == "pending" for job in self.jobs.values())

    def enqueue(self, body: object, host: str) -> dict:
        dataset, attribute_ids, start, end = self._validated(body)
        with self._lock:
            now = self.clock()
            pending = self.pending(now)
            if pending >= MAX_PENDING_JOBS:
                self.counts["refused_pending"] += 1
                raise ApiError(429, "rate_limit_exceeded",
                               f"Exceeded rate limit of {MAX_PENDING_JOBS} pending reporting dataset export jobs")
            fails = self._fail_next > 0 or self._rng.random() < self.failure_rate
            self._fail_next -= self._fail_next > 0
            expires_after = 0.0 if self._expire_next > 0 else self.download_ttl
            self._expire_next -= self._expire_next > 0
            job = ExportJob(uuid.uuid4().hex[:20], dataset.id, attribute_ids, start, end,
                            now + self.pending_seconds, fails, expires_after)
            self.jobs[job.identifier] = job
            self.counts["enqueued"] += 1
            self.counts["failed"] += fails
            self.counts["max_pending"] = max(self.counts["max_pending"], pending + (self.pending_seconds > 0))
            return self._render(job, host, now)

    def status(self, identifier: str, host: str) -> dict:
        with self._lock:
            self.counts["polls"] += 1
            return self._render(self._job(identifier), host, self.clock())

    def download(self, identifier: str, rows: ReportingRows) -> bytes:
        with self._lock:
            job, now = self._job(identifier), self.clock()
            if job.status(now) != "complete" or job.expired(now):
                self.counts["expired_downloads"] += job.expired(now)
                raise ApiError(404, "not_found", f"Export job not found for identifier: {identifier}")
            self.counts["downloads"] += 1
        dataset = DATASET_BY_ID[job.dataset_id]
        return gzip_csv(dataset, [q.split(".", 1)[1] for q in job.attribute_ids],
                        rows.rows(job.dataset_id, job.start_time, job.end_time))

    def _job(self, identifier: str) -> ExportJob:
        job = self.jobs.get(identifier)
        if job is None:
            raise ApiError(404, "not_found", f"Export job not found for identifier: {identifier}")
        return job

    def _render(self, job: ExportJob, host: str, now: float) -> dict:
        complete = job.status(now) == "complete"
        return {"job_identifier": job.identifier, "status": job.status(now),
                "download_url": f"http://{host}/download/reporting_data/{job.identifier}" if complete else "",
                "download_expires_at": iso(int(job.ready_at + job.expires_after)) if complete else ""}

    def _validated(self, body: object) -> tuple[Dataset, list[str], int, int]:
        """The enqueue body's fields, or the 400 the 2.16 description gives for each mistake."""
        body = body if isinstance(body, dict) else {}
        for name in ("dataset_id", "attribute_ids", "start_time", "end_time"):
            if body.get(name) is None:
                raise ApiError(400, "bad_request", f"'{name}' is a required parameter")
        dataset = DATASET_BY_ID.get(body["dataset_id"])
        if dataset is None:
            raise ApiError(400, "bad_request", f"{body['dataset_id']} is not a valid dataset_id")
        attribute_ids = body["attribute_ids"]
        if not isinstance(attribute_ids, list):
            raise ApiError(400, "bad_request", "'attribute_ids' not an array must be of type Array")
        if not attribute_ids:
            raise ApiError(400, "bad_request", "attribute_ids must contain at least one attribute_id")
        known = {a.qualified_id for a in dataset.attributes}
        unknown = [a for a in attribute_ids if a not in known]
        if unknown:
            raise ApiError(400, "bad_request", f"attribute_ids invalid for {dataset.id} dataset: {', '.join(map(str, unknown))}")
        start, end = body["start_time"], body["end_time"]
        if not isinstance(start, int) or not isinstance(end, int) or start >= end:
            raise ApiError(400, "bad_request", "start_time and end_time must be unix timestamps, start_time before end_time")
        if start < self.clock() - self.retention_days * DAY:
            raise ApiError(400, "bad_request", f"start_time must be within the data retention period ({self.retention_days} days)")
        return dataset, list(attribute_ids), start, end
