#!/usr/bin/env python3
"""Kill and resume: what a sync killed part-way keeps, as the Airbyte platform resumes it.

    .venv/bin/python benchmarks/kill_resume.py            # the benchmark workspace, 100 ms latency, Intercom's limit
    .venv/bin/python benchmarks/kill_resume.py --at 0.7 --scale 0.5

1. A full sync of every stream runs to its end: its wall time T.
2. A full sync from scratch is SIGKILLed once it has emitted ``--at`` of the whole sync's records
   (by record count, not by time: a busy machine changes the pace, not the point of the kill); its
   records and the last STATE of each stream are kept.
3. A sync resumes from those states and runs to its end.

Per stream: records emitted before the kill, how many of them their stream's last STATE covers
(cursor value below the state: the resume does not read them again), requests made before the
kill and how many of them the resume made again (same method, path, query and body). Markdown on
stdout, JSON in benchmarks/results/.
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Counter, Dict, List, Optional, Tuple

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.run import RATE_LIMIT_PER_10S, SCALED_SIZES, TOKEN, stream_of  # noqa: E402
from integration_tests.harness import catalog_for, file_args, parse_messages  # noqa: E402
from intercom_emulator import EmulatorServer, RequestRecord, Workspace  # noqa: E402
from intercom_emulator.data import PRESETS  # noqa: E402
from source_intercom.stream_facts import stream_facts  # noqa: E402

CLI = str(Path(sys.executable).with_name("source-intercom"))
SCROLL_EXPIRY_S = 3  # a killed sync leaves the companies scroll open: short, so that the resume does not wait a minute


def request_key(request: RequestRecord) -> Tuple[str, str, str, str]:
    return request.method, request.path, json.dumps(request.query, sort_keys=True), json.dumps(request.body, sort_keys=True)


def run(args: List[str], kill_after_records: Optional[int] = None) -> Tuple[List[Dict[str, Any]], float]:
    """The messages of ``source-intercom ARGS``, SIGKILLed once it has printed ``kill_after_records``
    records if given, and its wall time."""
    env = {**os.environ, "SOURCE_INTERCOM_SCROLL_EXPIRY_SECONDS": str(SCROLL_EXPIRY_S)}
    started = time.monotonic()
    proc = subprocess.Popen([CLI, *args], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, text=True)
    assert proc.stdout is not None
    lines, records = [], 0
    for line in proc.stdout:
        lines.append(line)
        if kill_after_records is not None and '"RECORD"' in line[:30]:
            records += 1
            if records >= kill_after_records:
                os.kill(proc.pid, signal.SIGKILL)
                break
    proc.wait()
    wall = time.monotonic() - started
    return parse_messages("".join(lines)), wall


def cursor_of(stream: str, record: Dict[str, Any]) -> Optional[int]:
    field = stream_facts()[stream].cursor_field
    value = record.get(field) if field else None
    return int(value) if value is not None else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--at", type=float, default=0.7, help="kill once this fraction of a whole sync's records is emitted (default 0.7)")
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--latency", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--span-days", type=int, default=120)
    args = parser.parse_args()

    base = PRESETS["benchmark"]
    sizes = dataclasses.replace(base, **{name: int(round(getattr(base, name) * args.scale)) for name in SCALED_SIZES})
    workspace = Workspace(seed=args.seed, sizes=sizes, span_days=args.span_days)
    server = EmulatorServer(workspace, token=TOKEN, latency=args.latency, rate_limit_per_10s=RATE_LIMIT_PER_10S, scroll_ttl=SCROLL_EXPIRY_S).start()
    start = workspace.anchor - (args.span_days + 1) * 86400
    config = {"access_token": TOKEN, "start_date": datetime.fromtimestamp(start, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"), "base_url": server.url}
    with tempfile.TemporaryDirectory() as folder:
        discovered, _ = run(["discover", *file_args(folder, config=config)])
        catalog = catalog_for(next(m for m in discovered if m["type"] == "CATALOG")["catalog"]["streams"])
        files = file_args(folder, config=config, catalog=catalog)

        whole, whole_wall = run(["read", *files])
        whole_records = sum(1 for m in whole if m["type"] == "RECORD")
        print(f"whole sync: {whole_wall:.1f} s, {whole_records} records", file=sys.stderr)
        time.sleep(SCROLL_EXPIRY_S + 1)
        server.reset_stats()
        killed, killed_wall = run(["read", *files], kill_after_records=int(args.at * whole_records))
        server.wait_idle()
        before = list(server.requests)
        time.sleep(SCROLL_EXPIRY_S + 1)

        states: Dict[str, Dict[str, Any]] = {}
        emitted: Dict[str, List[Optional[int]]] = collections.defaultdict(list)
        for message in killed:
            if message["type"] == "RECORD":
                stream = message["record"]["stream"]
                emitted[stream].append(cursor_of(stream, message["record"]["data"]))
            elif message["type"] == "STATE":
                states[message["state"]["stream"]["stream_descriptor"]["name"]] = message["state"]["stream"]
        server.reset_stats()
        state_file = [{"type": "STREAM", "stream": state} for state in states.values()]
        resumed, resumed_wall = run(["read", *files, *file_args(folder, state=state_file)])
        server.wait_idle()
        after = list(server.requests)
    server.stop()

    made: Dict[str, Counter] = collections.defaultdict(collections.Counter)
    for request in before:
        made[stream_of(request)][request_key(request)] += 1
    again: Counter = collections.Counter()
    for request in after:
        stream = stream_of(request)
        key = request_key(request)
        if made[stream][key] > again[(stream, key)]:
            again[(stream, key)] += 1
    redone = collections.Counter({stream: sum(n for (s, _), n in again.items() if s == stream) for stream in made})

    rows = []
    for stream in stream_facts():
        cursor = stream_facts()[stream].cursor_field
        saved = (states.get(stream) or {}).get("stream_state", {})
        state_value = (saved.get("state") or {}).get(cursor) if "use_global_cursor" in saved else saved.get(cursor) if cursor else None  # a sub-stream's: its global cursor
        covered = sum(1 for value in emitted[stream] if value is not None and state_value is not None and value < int(state_value))
        requests_before = sum(made[stream].values())
        rows.append({"stream": stream, "records_before_kill": len(emitted[stream]), "checkpointed": covered,
                     "requests_before_kill": requests_before, "requests_redone": redone[stream]})
    total = {key: sum(row[key] for row in rows) for key in ("records_before_kill", "checkpointed", "requests_before_kill", "requests_redone")}
    report = {"whole_wall_s": whole_wall, "killed_at_s": killed_wall, "resumed_wall_s": resumed_wall, "at": args.at, "scale": args.scale,
              "latency_s": args.latency, "streams": rows, "total": total, "resumed_records": sum(1 for m in resumed if m["type"] == "RECORD")}
    out = ROOT / "benchmarks" / "results" / f"{datetime.now(timezone.utc).strftime('%Y-%m-%dT%H-%M-%SZ')}-kill-resume-scale{args.scale:g}.json"
    out.write_text(json.dumps(report, indent=2) + "\n")

    print(f"Whole sync {whole_wall:.1f} s; killed at {killed_wall:.1f} s; resume {resumed_wall:.1f} s ({report['resumed_records']} records)\n")
    print("| stream | records before the kill | covered by its last STATE | requests before the kill | redone by the resume |")
    print("|---|---:|---:|---:|---:|")
    for row in rows + [{"stream": "**all**", **total}]:
        if row["records_before_kill"] or row["requests_before_kill"]:
            print(f"| {row['stream']} | {row['records_before_kill']:,} | {row['checkpointed']:,} | {row['requests_before_kill']:,} | {row['requests_redone']:,} |")
    share = total["checkpointed"] / max(1, total["records_before_kill"])
    redone_share = total["requests_redone"] / max(1, total["requests_before_kill"])
    print(f"\ncheckpointed {share:.0%} of the records emitted before the kill; the resume redid {redone_share:.0%} of the requests made before it")


if __name__ == "__main__":
    main()
