#!/usr/bin/env python3
"""The main job: lands an Intercom workspace in a local DuckDB database through PyAirbyte.
Sets up .venv on first use.

    python3 tools/sync.py                              # the bundled emulator's demo workspace
    python3 tools/sync.py --config secrets/config.json # your Intercom workspace
    python3 tools/sync.py --output /some/dir           # put the database and logs elsewhere

PyAirbyte (PyPI package `airbyte`) runs the `source-intercom` executable of .venv and writes
every stream into a DuckDB file, one table per stream, deduplicated on the stream's primary key;
the sync state lives in the same file. Nothing is fetched from a registry (AIRBYTE_OFFLINE_MODE=1)
and PyAirbyte's logs go to <output>/logs.

Against the emulator (no --config) it starts the emulator, runs a full sync into
<output>/intercom-demo.duckdb (recreated on every run), lets the emulator change some records,
runs an incremental sync from the state kept in the database, and compares the tables with the
emulator's ground truth, and the current relationships (the docs' query on each relationship
table: company_tags, conversation_contacts, ...) with the workspace's lists. With --config it syncs <output>/intercom.duckdb: a full sync the first
time, incremental afterwards (delete the file to start over).

The demo workspace's token has the export_reporting_data scope, so the demo also lands Intercom's
reporting datasets (reporting_conversation, reporting_ticket, reporting_admin_status_change) and
ends with an example query on them: the median first response time per week.

Exit code 0 when the sync succeeded (and, for the emulator, every table matches the ground truth),
1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import threading
import time
import warnings
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, List, Optional, Set, Tuple

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bootstrap import ROOT, reexec_in_venv  # noqa: E402

CONNECTOR = "source-intercom"
# The connector's console script beside the interpreter running this (.venv's, after the re-exec).
EXECUTABLE = Path(sys.executable).with_name(CONNECTOR + (".exe" if os.name == "nt" else ""))
DEMO_DB, WORKSPACE_DB = "intercom-demo.duckdb", "intercom.duckdb"
DEMO_TOKEN, DEMO_START_DATE, DEMO_START_TS = "demo-token", "2025-10-25T00:00:00Z", 1761350400


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def table(rows: List[Tuple[Any, ...]], header: Tuple[str, ...]) -> str:
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows)]
    line = lambda cells: "  ".join(str(c).ljust(w) if i == 0 else str(c).rjust(w) for i, (c, w) in enumerate(zip(cells, widths)))  # noqa: E731
    return "\n".join([line(header), line(tuple("-" * w for w in widths)), *(line(r) for r in rows)])


# ------------------------------------------------------------------------------ PyAirbyte ----


def set_up_pyairbyte(output: Path) -> None:
    """Environment PyAirbyte reads when it is imported: offline, logs and scratch files in output/."""
    os.environ["AIRBYTE_OFFLINE_MODE"] = "1"  # no registry look-ups, no telemetry
    os.environ["DO_NOT_TRACK"] = "1"
    os.environ["AIRBYTE_LOGGING_ROOT"] = str(output / "logs")
    os.environ["AIRBYTE_PROJECT_DIR"] = str(output)
    os.environ["AIRBYTE_CACHE_ROOT"] = str(output / ".cache")
    # google-cloud libraries that PyAirbyte imports warn about Python versions on every start.
    warnings.filterwarnings("ignore", message=".*Google will stop supporting.*", category=FutureWarning)


class Progress:
    """Shows that a read is alive: PyAirbyte's own live view when it draws one (a terminal),
    otherwise a line on stderr every few seconds with the records read so far."""

    def __init__(self, extra: Callable[[], str] = lambda: "") -> None:
        from airbyte import progress

        self._progress = progress
        self._trackers: List[Any] = []
        self._extra = extra
        original_init = progress.ProgressTracker.__init__
        trackers = self._trackers

        def init(tracker: Any, *args: Any, **kwargs: Any) -> None:
            original_init(tracker, *args, **kwargs)
            trackers.append(tracker)

        progress.ProgressTracker.__init__ = init  # type: ignore[method-assign]

    def tracker(self) -> Optional[Any]:
        return self._trackers[-1] if self._trackers else None

    def records_read(self) -> Dict[str, int]:
        tracker = self.tracker()
        return dict(getattr(tracker, "stream_read_counts", {}) or {}) if tracker else {}

    def run(self, what: str, action: Callable[[], Any]) -> Any:
        say(f"==> {what}")
        done = threading.Event()
        started = time.monotonic()

        def beat() -> None:
            while not done.wait(3.0):
                tracker = self.tracker()
                if tracker is not None and getattr(tracker, "style", None) == self._progress.ProgressStyle.RICH:
                    continue  # PyAirbyte draws its own live view
                records = sum(self.records_read().values())
                say(f"    ... {time.monotonic() - started:5.1f} s, {records:,} records read{self._extra()}")

        thread = threading.Thread(target=beat, daemon=True)
        thread.start()
        try:
            return action()
        finally:
            done.set()
            thread.join()
            say(f"    {what}: {time.monotonic() - started:.1f} s")


def open_source(config: Dict[str, Any], progress: Progress) -> Any:
    import airbyte as ab

    source = ab.get_source(CONNECTOR, config=config, local_executable=EXECUTABLE)
    progress.run("Checking the connection (source-intercom check)", source.check)
    source.select_all_streams()
    return source


def duckdb_cache(path: Path) -> Any:
    from airbyte.caches import DuckDBCache

    return DuckDBCache(db_path=path, schema_name="main", cache_dir=path.parent / ".cache")


REPORTING_PREFIX = "reporting_"
# The example query of the demo (docs/intercom.md shows it too): Intercom's own metric, per week.
MEDIAN_FIRST_RESPONSE_PER_WEEK = """
SELECT date_trunc('week', CAST(conversation_started_at AS TIMESTAMP)) AS week,
       count(*) AS conversations,
       round(median(time_to_first_response) / 60, 1) AS median_first_response_minutes
FROM main.reporting_conversation
WHERE time_to_first_response IS NOT NULL
GROUP BY week ORDER BY week DESC LIMIT 8
"""


def median_first_response_per_week(cache: Any) -> str:
    """The example query's answer, as a table."""
    from sqlalchemy import text

    with cache.get_sql_engine().connect() as connection:
        rows = [tuple(row) for row in connection.execute(text(MEDIAN_FIRST_RESPONSE_PER_WEEK))]
    return table([(str(week)[:10], count, minutes) for week, count, minutes in rows],
                 ("week", "conversations", "median first response (min)"))


def reporting_rows_in(cache: Any, stream: str) -> List[Tuple[Any, ...]]:
    """A reporting table's rows, each as a tuple of its dataset's columns (PyAirbyte's own left out)."""
    from sqlalchemy import inspect, text

    engine = cache.get_sql_engine()
    if stream not in set(inspect(engine).get_table_names(schema="main")):
        return []
    columns = [c["name"] for c in inspect(engine).get_columns(stream, schema="main") if not c["name"].startswith("_airbyte")]
    with engine.connect() as connection:
        result = connection.execute(text(f'SELECT {", ".join(chr(34) + c + chr(34) for c in columns)} FROM main."{stream}"'))
        return [tuple(row) for row in result]


def compare_reporting(server: Any, cache: Any, stream: str, start: int) -> Tuple[int, int, str]:
    """(distinct rows in DuckDB, rows of the dataset in the emulator, "ok" or what is wrong): a
    dataset with a key is deduplicated on it; one without (teammate status changes) on the whole row."""
    dataset = stream[len(REPORTING_PREFIX):]
    truth = list(server.reporting_rows.rows(dataset, start, int(time.time()) + 1))
    key = f"{dataset}_id"
    rows = reporting_rows_in(cache, stream)
    distinct = len(set(rows))
    if truth and key in truth[0]:
        expected = {str(row[key]) for row in truth}
        status = "ok" if distinct == len(rows) and len(rows) == len(expected) else f"MISMATCH: {len(rows)} rows, {len(expected)} expected"
    else:
        status = "ok" if distinct == len(truth) else f"MISMATCH: {distinct} distinct rows, {len(truth)} expected"
    return distinct, len(truth), status


def tables(cache: Any, streams: Iterable[str]) -> Dict[str, List[Dict[str, Any]]]:
    """Each stream's rows in DuckDB: its primary key and (where the stream has one) updated_at."""
    from sqlalchemy import inspect, text

    engine = cache.get_sql_engine()
    present = set(inspect(engine).get_table_names(schema="main"))
    out: Dict[str, List[Dict[str, Any]]] = {}
    with engine.connect() as connection:
        for stream in streams:
            if stream not in present:
                out[stream] = []
                continue
            columns = {c["name"] for c in inspect(engine).get_columns(stream, schema="main")}
            wanted = list(primary_key(stream)) + (["updated_at"] if "updated_at" in columns else [])
            result = connection.execute(text(f'SELECT {", ".join(chr(34) + c + chr(34) for c in wanted)} FROM main."{stream}"'))
            out[stream] = [dict(row._mapping) for row in result]
    return out


def primary_key(stream: str) -> Tuple[str, ...]:
    """The stream's primary key as the connector's manifest declares it (PyAirbyte keeps these
    names as DuckDB columns)."""
    from source_intercom.stream_facts import stream_facts

    return stream_facts()[stream].primary_key


def key_of(stream: str, row: Dict[str, Any]) -> Any:
    keys = primary_key(stream)
    return tuple(str(row[k]) for k in keys) if len(keys) > 1 else str(row[keys[0]])


def connector_errors(log_file: Optional[Path]) -> List[str]:
    """The error messages the connector reported (its TRACE errors), from PyAirbyte's log of it."""
    messages: List[str] = []
    try:
        lines = Path(log_file).read_text(errors="replace").splitlines() if log_file else []
    except OSError:
        return messages
    for line in lines:
        if '"type":"TRACE"' not in line or "{" not in line:
            continue
        try:
            error = json.loads(line[line.index("{"):]).get("trace", {}).get("error") or {}
        except ValueError:
            continue
        message = error.get("message")
        if message and message not in messages:
            messages.append(message)
    # The CDK's closing summary repeats the raw HTTP errors: keep it only when it is all there is.
    specific = [m for m in messages if not m.startswith("During the sync, the following streams did not sync successfully")]
    return specific or messages


def connector_failed(error: BaseException) -> int:
    """Prints what the connector (or PyAirbyte) said went wrong, shortly; the exit code for it."""
    from airbyte import exceptions

    reasons: List[str] = []
    current: Optional[BaseException] = error
    for _ in range(5):  # the check's reason is in the context; a read's is in the connector's log
        if not isinstance(current, exceptions.PyAirbyteError):
            if current is not None:
                reasons.append(f"{type(current).__name__}: {current}")
            break
        reason = (current.context or {}).get("failure_reason") or current.message
        if reason and str(reason) not in reasons:
            reasons.append(str(reason))
        current = current.original_exception or current.__cause__
    log_file = getattr(error, "log_file", None)
    reasons = connector_errors(log_file) or reasons or [f"{type(error).__name__}: {error.get_message() if isinstance(error, exceptions.PyAirbyteError) else error}"]
    print()
    for reason in reasons[:5]:
        print(f"FAILED: {reason[:1000]}")
    if len(reasons) > 5:
        print(f"... and {len(reasons) - 5} more errors")
    say(f"{type(error).__name__}; logs: {log_file or os.environ.get('AIRBYTE_LOGGING_ROOT')}")
    return 1


# ------------------------------------------------------------------------ real workspace ----


def sync_real_workspace(config_path: Path, output: Path) -> int:
    from airbyte import exceptions

    try:
        config = json.loads(config_path.read_text())
    except (OSError, ValueError) as error:
        print(f"FAILED: cannot read the config file {config_path}: {error}")
        return 1
    database = output / WORKSPACE_DB
    mode = "incremental from the state in" if database.exists() else "full, into"
    progress = Progress()
    try:
        source = open_source(config, progress)
        cache = duckdb_cache(database)
        progress.run(f"Syncing ({mode} {database})", lambda: source.read(cache=cache))
        read = progress.records_read()
        streams = source.get_selected_streams()
        rows = tables(cache, streams)
    except exceptions.PyAirbyteError as error:
        return connector_failed(error)
    print()
    print(table([(s, read.get(s, 0), len(rows[s])) for s in streams], ("stream", "read this sync", "rows in DuckDB")))
    print(f"\nDatabase: {database} (one table per stream; state in _airbyte_state)")
    return 0


# ------------------------------------------------------------------------------ emulator ----


def relationship_streams() -> Dict[str, Tuple[str, str, str]]:
    """{stream: (parent stream, parent id column, parent updated_at column)} of the streams whose
    rows are a parent's list (key ``<parent>_id``, ``id``; cursor the parent's updated_at), from
    the manifest's readings."""
    from source_intercom.stream_facts import reading_families, stream_facts

    facts = stream_facts()
    return {stream: (family[0], facts[stream].primary_key[0], str(facts[stream].cursor_field))
            for family in reading_families().values() for stream in family[1:]
            if len(facts[stream].primary_key) == 2 and facts[stream].cursor_field}


def current_relationships(cache: Any, stream: str, parent: str, parent_id: str, parent_updated_at: str) -> Set[Tuple[str, str]]:
    """The docs' "current relationships" query (docs/intercom.md, "Applying deletions and changed
    lists"): the rows of each parent's latest read, deleted conversations left out."""
    from sqlalchemy import inspect, text

    engine = cache.get_sql_engine()
    deleted = "deleted_conversations" in set(inspect(engine).get_table_names(schema="main")) and parent == "conversations"
    query = (f'SELECT r."{parent_id}", r.id FROM main."{stream}" r JOIN main."{parent}" p '
             f'ON p.id = r."{parent_id}" AND r."{parent_updated_at}" = p.updated_at'
             + (" WHERE p.id NOT IN (SELECT id FROM main.deleted_conversations)" if deleted else ""))
    with engine.connect() as connection:
        return {(str(owner), str(item)) for owner, item in connection.execute(text(query))}


def latest_updated_at(workspace: Any, stream: str) -> Dict[str, int]:
    """The workspace's current updated_at by id, for the streams whose records change."""
    records = {"contacts": workspace.contacts, "companies": workspace.companies, "conversations": workspace.conversations,
               "tickets": workspace.tickets, "segments": workspace.segments, "calls": workspace.calls}.get(stream, [])
    return {r.id: r.updated_at for r in records if not r.deleted}


def compare(stream: str, rows: List[Dict[str, Any]], expected: Set[Any], latest: Dict[str, int]) -> Tuple[int, str]:
    """(distinct keys in the table, "ok" or what is wrong) against the expected keys."""
    keys = [key_of(stream, row) for row in rows]
    distinct = set(keys)
    problems = []
    if len(keys) != len(distinct):
        problems.append(f"{len(keys) - len(distinct)} duplicate rows")
    if distinct - expected:
        problems.append(f"{len(distinct - expected)} unexpected")
    if expected - distinct:
        problems.append(f"{len(expected - distinct)} missing")
    stale = sum(1 for row in rows if latest.get(key_of(stream, row), row.get("updated_at")) != row.get("updated_at"))
    if stale:
        problems.append(f"{stale} stale")
    return len(distinct), "ok" if not problems else "MISMATCH: " + ", ".join(problems)


def sync_emulator(output: Path) -> int:
    sys.path.insert(0, str(ROOT))
    from airbyte import exceptions
    from intercom_emulator import EmulatorServer, Workspace
    from intercom_emulator.data import ALL_STREAMS, PRESETS
    from intercom_emulator.reporting import ReportingExports

    database = output / DEMO_DB
    for leftover in (database, database.with_name(database.name + ".wal")):
        leftover.unlink(missing_ok=True)  # a new demo workspace every run: start from nothing

    workspace = Workspace(seed=2024, sizes=PRESETS["demo"], span_days=365)
    server = EmulatorServer(workspace, token=DEMO_TOKEN, latency=0.01, reporting_scope=True,
                            reporting=ReportingExports(pending_seconds=1.0))
    server.start()
    say(f"Intercom emulator (demo workspace) listening on {server.url}")
    progress = Progress(extra=lambda: f", {server.stats()['total']:,} requests served")
    config = {"access_token": DEMO_TOKEN, "start_date": DEMO_START_DATE, "base_url": server.url}
    try:
        source = open_source(config, progress)
        reporting = [s for s in source.get_selected_streams() if s.startswith(REPORTING_PREFIX)]
        streams = [s for s in source.get_selected_streams() if s not in reporting]
        unknown = sorted(set(streams) - set(ALL_STREAMS))
        if unknown:
            print(f"FAILED: the emulator has no ground truth for {', '.join(unknown)}")
            return 1
        cache = duckdb_cache(database)

        progress.run(f"Full sync into {database}", lambda: source.read(cache=cache))
        before = {s: workspace.expected_ids(s, DEMO_START_TS) for s in streams}
        full_latest = {s: latest_updated_at(workspace, s) for s in streams}
        full_rows = tables(cache, streams)

        version = workspace.version
        changes = workspace.mutate_random(random.Random(7), fraction=0.1)
        # New conversations and tickets in the reporting data, and recent conversations closed late.
        now = int(time.time())
        for dataset in ("conversation", "ticket", "admin_status_change"):
            server.reporting_rows.add(dataset, [now - 120, now - 60], seed=7)
        server.reporting_rows.change_recent("conversation", 5, within_days=7, seed=7)
        say(f"The emulator changed records: {changes}, and added or changed reporting rows")
        progress.run("Incremental sync (state from the database)", lambda: source.read(cache=cache))
        read = progress.records_read()
        after = {s: workspace.expected_ids(s, DEMO_START_TS) for s in streams}
        changed = {s: workspace.changed_ids(s, version) for s in streams}
        latest = {s: latest_updated_at(workspace, s) for s in streams}
        rows = tables(cache, streams)
        retention_start = now - 729 * 86_400   # the connector clips start_date to the reporting retention
        reporting_report = [(s, *compare_reporting(server, cache, s, max(DEMO_START_TS, retention_start))) for s in reporting]
        example = median_first_response_per_week(cache) if "reporting_conversation" in reporting else ""
        relationships = [(s, *relationship) for s, relationship in relationship_streams().items() if s in streams]
        current = {s: current_relationships(cache, s, *relationship) for s, *relationship in relationships}
    except exceptions.PyAirbyteError as error:
        return connector_failed(error)
    finally:
        server.stop()

    # A deduplicated table keeps every key it ever received: after the incremental sync it must
    # hold the workspace's keys now, plus any the workspace had at the full sync and dropped since
    # (a company leaving a segment, parts pushed out of a conversation's 500 most recent).
    report, notes, failed = [], [], False
    for s in streams:
        full_count, full_status = compare(s, full_rows[s], before[s], full_latest[s])
        expected = before[s] | after[s]
        count, status = compare(s, rows[s], expected, latest[s])
        failed |= full_status != "ok" or status != "ok"
        report.append((s, full_count, len(before[s]), full_status, read.get(s, 0), len(changed[s]), count, len(after[s]), status))
        if len(expected) != len(after[s]):
            notes.append(f"{s}: the table also keeps {len(expected - after[s])} keys the workspace no longer has (a sync never deletes).")
    print()
    print(table(report, ("stream", "full sync", "workspace", "check", "incremental read", "changed", "in DuckDB", "workspace now", "check")))
    for note in notes:
        print(f"  {note}")
    # The relationship tables keep every row they ever received; the docs' query gives the current
    # lists, which must be the workspace's now.
    current_report = []
    for s, *_ in relationships:
        missing, extra = len(after[s] - current[s]), len(current[s] - after[s])
        current_report.append((s, len(current[s]), len(after[s]), "ok" if not missing and not extra else f"MISMATCH: {missing} missing, {extra} not current"))
    failed |= any(status != "ok" for *_, status in current_report)
    if current_report:
        print()
        print(table(current_report, ("relationship stream", "current rows (docs' query)", "workspace now", "check")))
    if reporting_report:
        print()
        print(table(reporting_report, ("reporting stream", "distinct rows in DuckDB", "dataset rows", "check")))
        failed |= any(status != "ok" for *_, status in reporting_report)
    if example:
        print("\nExample query (docs/intercom.md), median first response time per week from reporting_conversation:")
        print(example)
    print(f"\nrequests served: {server.stats()['total']:,}; database: {database}")
    if failed:
        print("Some tables differ from the emulator's ground truth (MISMATCH above).")
        return 1
    print("All tables match the emulator's ground truth.")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", type=Path, help="config file of a real Intercom workspace (see docs/intercom.md)")
    parser.add_argument("--output", type=Path, default=ROOT / "output", help="where the DuckDB file and logs go (default: output/)")
    args = parser.parse_args()
    output = args.output.resolve()
    output.mkdir(parents=True, exist_ok=True)
    if not EXECUTABLE.exists():
        print(f"FAILED: {EXECUTABLE} is missing; install the package first (pip install -e '.[dev]').")
        return 1
    set_up_pyairbyte(output)
    return sync_real_workspace(args.config.resolve(), output) if args.config else sync_emulator(output)


if __name__ == "__main__":
    reexec_in_venv(__file__)
    sys.exit(main())
