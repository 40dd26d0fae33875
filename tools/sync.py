#!/usr/bin/env python3
"""Runs a real sync with the `source-intercom` CLI. Sets up .venv on first use.

    python3 tools/sync.py                              # the bundled emulator's demo workspace
    python3 tools/sync.py --config secrets/config.json # your Intercom workspace

Records go to output/records.jsonl, the state to output/state.json. Against the emulator it
runs a full sync, lets the emulator change some records, runs an incremental sync from the saved
state and checks both against the emulator's ground truth. With --config it runs one sync,
incremental from output/state.json when that exists, and saves the new state there.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bootstrap import BIN, ROOT, reexec_in_venv  # noqa: E402

CLI = str(BIN / "source-intercom")


def airbyte(command: str, config: Path, output: Path, *extra: str) -> Tuple[int, List[Dict[str, Any]]]:
    """Runs one CLI command; returns its exit code and every non-record message."""
    process = subprocess.Popen([CLI, command, "--config", str(config), *extra], stdout=subprocess.PIPE, text=True)
    messages: List[Dict[str, Any]] = []
    for line in process.stdout:  # type: ignore[union-attr]
        if line.startswith("{"):
            message = json.loads(line)
            if message["type"] != "LOG" or message["log"]["level"] in ("WARN", "ERROR", "FATAL"):
                messages.append(message)
    return process.wait(), messages


def read(config: Path, catalog: Path, state: Optional[Path], records_file: Path) -> Tuple[int, Counter, List[Dict[str, Any]], List[Dict[str, Any]]]:
    """`source-intercom read`, writing records to records_file and showing progress on stderr."""
    args = [CLI, "read", "--config", str(config), "--catalog", str(catalog)] + (["--state", str(state)] if state else [])
    counts: Counter = Counter()
    states: Dict[str, Dict[str, Any]] = {}
    problems: List[Dict[str, Any]] = []
    started, shown = time.monotonic(), 0.0
    process = subprocess.Popen(args, stdout=subprocess.PIPE, text=True)
    with records_file.open("a") as sink:
        for line in process.stdout:  # type: ignore[union-attr]
            if not line.startswith("{"):
                continue
            message = json.loads(line)
            kind = message["type"]
            if kind == "RECORD":
                counts[message["record"]["stream"]] += 1
                sink.write(line)
            elif kind == "STATE":
                states[message["state"]["stream"]["stream_descriptor"]["name"]] = {"type": "STREAM", "stream": message["state"]["stream"]}
            elif kind == "TRACE" and message["trace"]["type"] == "ERROR":
                problems.append(message["trace"]["error"])
            elif kind == "LOG" and message["log"]["level"] in ("WARN", "ERROR", "FATAL"):
                print(f"  {message['log']['level']}: {message['log']['message'][:300]}", file=sys.stderr)
            if time.monotonic() - shown > 1.0:
                shown = time.monotonic()
                print(f"\r  {sum(counts.values()):>8,} records, {shown - started:5.1f} s ...", end="", file=sys.stderr, flush=True)
    code = process.wait()
    print(f"\r  {sum(counts.values()):>8,} records in {time.monotonic() - started:.1f} s (exit {code})", file=sys.stderr)
    return code, counts, list(states.values()), problems


def table(rows: List[Tuple[Any, ...]], header: Tuple[str, ...]) -> str:
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows)]
    line = lambda cells: "  ".join(str(c).ljust(w) if i == 0 else str(c).rjust(w) for i, (c, w) in enumerate(zip(cells, widths)))  # noqa: E731
    return "\n".join([line(header), line(tuple("-" * w for w in widths)), *(line(r) for r in rows)])


def discover_catalog(config: Path, catalog: Path, output: Path) -> List[str]:
    code, messages = airbyte("discover", config, output)
    catalogs = [m["catalog"] for m in messages if m["type"] == "CATALOG"]
    if code != 0 or not catalogs:
        errors = [m["trace"]["error"]["message"] for m in messages if m["type"] == "TRACE"]
        sys.exit("discover failed: " + "; ".join(errors or ["see the output above"]))
    streams = catalogs[0]["streams"]
    configured = [
        {
            "stream": s,
            "sync_mode": "incremental" if "incremental" in s["supported_sync_modes"] else "full_refresh",
            "destination_sync_mode": "append_dedup" if "incremental" in s["supported_sync_modes"] else "overwrite",
            "cursor_field": s.get("default_cursor_field") or [],
            "primary_key": s.get("source_defined_primary_key") or [],
        }
        for s in streams
    ]
    catalog.write_text(json.dumps({"streams": configured}, indent=1))
    return [s["name"] for s in streams]


def check(config: Path, output: Path) -> None:
    code, messages = airbyte("check", config, output)
    statuses = [m["connectionStatus"] for m in messages if m["type"] == "CONNECTION_STATUS"]
    if code != 0 or not statuses or statuses[-1]["status"] != "SUCCEEDED":
        message = statuses[-1].get("message") if statuses else "no answer; see the output above"
        sys.exit(f"check failed: {message}")
    print("check: SUCCEEDED", file=sys.stderr)


def sync_real_workspace(config: Path, output: Path) -> int:
    catalog, state = output / "catalog.json", output / "state.json"
    check(config, output)
    discover_catalog(config, catalog, output)
    mode = "incremental from output/state.json" if state.exists() else "full"
    print(f"Syncing ({mode}) ...", file=sys.stderr)
    code, counts, states, problems = read(config, catalog, state if state.exists() else None, output / "records.jsonl")
    if states:
        previous = json.loads(state.read_text()) if state.exists() else []
        merged = {s["stream"]["stream_descriptor"]["name"]: s for s in previous + states}
        state.write_text(json.dumps(list(merged.values()), indent=1))
    print(table(sorted(counts.items()), ("stream", "records")))
    for problem in problems:
        print(f"ERROR: {problem['message']}")
    return code


def sync_emulator(output: Path) -> int:
    sys.path.insert(0, str(ROOT))
    from intercom_emulator import EmulatorServer, Workspace
    from intercom_emulator.data import PRESETS

    workspace = Workspace(seed=2024, sizes=PRESETS["demo"], span_days=365)
    server = EmulatorServer(workspace, token="demo-token", latency=0.01)
    server.start()
    print(f"Intercom emulator (demo workspace) listening on {server.url}", file=sys.stderr)
    try:
        config, catalog, state = output / "config.json", output / "catalog.json", output / "state.json"
        start_date = "2020-01-01T00:00:00Z"
        config.write_text(json.dumps({"access_token": "demo-token", "start_date": start_date, "base_url": server.url}, indent=1))
        check(config, output)
        streams = discover_catalog(config, catalog, output)
        (output / "records.jsonl").write_text("")

        print("Full sync ...", file=sys.stderr)
        code, full, states, problems = read(config, catalog, None, output / "records.jsonl")
        state.write_text(json.dumps(states, indent=1))
        start_ts = 1577836800
        expected = {s: len(workspace.expected_ids(s, start_ts)) for s in streams}

        version = workspace.version
        changes = workspace.mutate_random(random.Random(7), fraction=0.1)
        print(f"The emulator changed records: {dict(changes)}", file=sys.stderr)
        print("Incremental sync from output/state.json ...", file=sys.stderr)
        code2, incremental, states2, problems2 = read(config, catalog, state, output / "records.jsonl")
        merged = {s["stream"]["stream_descriptor"]["name"]: s for s in states + states2}
        state.write_text(json.dumps(list(merged.values()), indent=1))
        changed = {s: len(workspace.changed_ids(s, version)) for s in streams}
    finally:
        server.stop()

    rows = [(s, full[s], expected[s], "ok" if full[s] == expected[s] else "MISMATCH", incremental[s], changed[s]) for s in streams]
    print()
    print(table(rows, ("stream", "full sync", "in workspace", "", "incremental", "changed")))
    print(f"\nrequests served: {server.stats()['total']:,}; records and state in {output}/")
    for problem in problems + problems2:
        print(f"ERROR: {problem['message']}")
    mismatched = [row[0] for row in rows if row[3] != "ok"]
    if mismatched:
        print(f"Streams whose full sync differs from the workspace: {', '.join(mismatched)}")
    return code or code2 or (1 if mismatched else 0)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", type=Path, help="config file of a real Intercom workspace (see README)")
    parser.add_argument("--output", type=Path, default=ROOT / "output", help="where records and state go (default: output/)")
    args = parser.parse_args()
    args.output.mkdir(parents=True, exist_ok=True)
    return sync_real_workspace(args.config.resolve(), args.output) if args.config else sync_emulator(args.output)


if __name__ == "__main__":
    reexec_in_venv(__file__)
    sys.exit(main())
