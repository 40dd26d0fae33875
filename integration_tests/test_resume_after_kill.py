"""End to end: a sync killed (SIGKILL) at random points and resumed from its last states loses nothing.

Like a platform would: the messages a killed run printed before it died are kept (records go to
the destination, the last STATE of each stream is persisted); the next attempt starts from those
states. A run that exits non-zero by itself is retried the same way. The union of the records
of every attempt must cover the ground truth (``Workspace.expected_ids``) of every stream.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import tempfile
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from conftest import SMALL
from intercom_emulator import Workspace, running_emulator
from integration_tests.harness import CLI, START_TS, catalog_for, config_for, discovered_streams, record_key

KILLS = 3
MAX_ATTEMPTS = 10
RUN_TIMEOUT = 180


def run_until(config: Dict[str, Any], catalog: Dict[str, Any], state: Optional[List[Dict[str, Any]]],
              kill_after: Optional[int]) -> Tuple[Optional[int], List[Dict[str, Any]], bool, str]:
    """Run ``read``; SIGKILL it once ``kill_after`` messages were read from its stdout.

    Returns (exit code, messages read before the end or the kill, killed?, stderr tail).
    """
    with tempfile.TemporaryDirectory() as folder:
        args = [CLI, "read"]
        for flag, content in (("--config", config), ("--catalog", catalog), ("--state", state)):
            if content is not None:
                path = Path(folder) / f"{flag[2:]}.json"
                path.write_text(json.dumps(content))
                args += [flag, str(path)]
        stderr_path = Path(folder) / "stderr.txt"
        with open(stderr_path, "w") as stderr:
            proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=stderr, text=True, bufsize=1)
            watchdog = threading.Timer(RUN_TIMEOUT, proc.kill)
            watchdog.start()
            messages: List[Dict[str, Any]] = []
            killed = False
            try:
                assert proc.stdout is not None
                for line in proc.stdout:
                    line = line.strip()
                    if not line.startswith("{"):
                        continue
                    messages.append(json.loads(line))
                    if kill_after is not None and len(messages) >= kill_after:
                        os.kill(proc.pid, signal.SIGKILL)
                        killed = True
                        break
                proc.stdout.close()
                code = proc.wait(timeout=30)
            finally:
                watchdog.cancel()
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
        return code, messages, killed, stderr_path.read_text()[-3000:]


def test_killed_syncs_resume_without_losing_records() -> None:
    ws = Workspace(seed=7, sizes=SMALL, span_days=400)
    # latency slows the sync so that kills land mid-stream; a killed run leaves its companies
    # scroll open: a short scroll_ttl lets it expire within the test (Intercom: about a minute).
    with running_emulator(ws, token="test-token-0123456789", latency=0.02, scroll_ttl=3.0) as server:
        config = config_for(server)
        catalog = catalog_for(discovered_streams(config))
        streams = [s["stream"]["name"] for s in catalog["streams"]]
        expected_messages = sum(len(ws.expected_ids(s, START_TS)) for s in streams)

        rng = random.Random(424242)
        records: Dict[str, List[Any]] = defaultdict(list)
        state_by_stream: Dict[str, Dict[str, Any]] = {}
        log: List[str] = []
        kills = 0
        finished = False
        started = time.monotonic()
        for attempt in range(1, MAX_ATTEMPTS + 1):
            kill_after = rng.randint(20, int(expected_messages * 0.9)) if kills < KILLS else None
            state = list(state_by_stream.values()) or None
            code, messages, killed, stderr = run_until(config, catalog, state, kill_after)
            n_records = 0
            for message in messages:
                if message["type"] == "RECORD":
                    stream = message["record"]["stream"]
                    records[stream].append(record_key(stream, message["record"]["data"]))
                    n_records += 1
                elif message["type"] == "STATE":
                    name = message["state"]["stream"]["stream_descriptor"]["name"]
                    state_by_stream[name] = {"type": "STREAM", "stream": message["state"]["stream"]}
            errors = [m["trace"]["error"].get("internal_message") or m["trace"]["error"].get("message")
                      for m in messages if m["type"] == "TRACE" and m["trace"]["type"] == "ERROR"]
            log.append(f"attempt {attempt}: kill_after={kill_after} killed={killed} exit={code} "
                       f"messages={len(messages)} records={n_records} errors={errors[:2]}")
            if killed:
                kills += 1
                continue
            if code == 0:
                finished = True
                break
            assert errors or stderr, f"attempt {attempt} failed silently: exit {code}"
        elapsed = time.monotonic() - started
        print("\n" + "\n".join(log))

        assert finished, "no attempt completed:\n" + "\n".join(log)
        assert kills >= 1, "no run was killed mid-sync: the test did not exercise a resume\n" + "\n".join(log)

        lines = []
        total_duplicates = 0
        for stream in streams:
            expected = ws.expected_ids(stream, START_TS)
            got = set(records[stream])
            missing = expected - got
            assert not missing, (
                f"{stream}: {len(missing)} of {len(expected)} records were never emitted across the killed and "
                f"resumed runs, e.g. {sorted(missing, key=str)[:5]}\n" + "\n".join(log)
            )
            assert got <= expected, f"{stream}: unknown keys {sorted(got - expected, key=str)[:5]}"
            dup = sum(n - 1 for n in Counter(records[stream]).values() if n > 1)
            total_duplicates += dup
            lines.append(f"{stream:<18} expected={len(expected):5d} emitted={len(records[stream]):5d} duplicates={dup}")
        print("\n".join(lines))
        print(f"{kills} kills, {len(log)} attempts, {total_duplicates} duplicate records in total, {elapsed:.1f} s")
