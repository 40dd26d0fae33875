"""The README's main job, end to end: `python tools/sync.py` lands the emulator's demo workspace in
DuckDB through PyAirbyte (full sync, then incremental), prints a per-stream table and exits 0."""

from __future__ import annotations

import importlib.util
import os
import random
import re
import signal
import subprocess
import sys
from pathlib import Path
from typing import Dict, List

import pytest

from integration_tests.harness import once_per_session
from intercom_emulator import Workspace
from intercom_emulator.data import PRESETS
from source_intercom.stream_facts import stream_facts

# Asked without importing them: PyAirbyte's import costs every test process about 3 CPU-s at
# collection, and only the process that runs the main job needs it (in its own process).
pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("airbyte") is None or importlib.util.find_spec("duckdb") is None,
    reason="PyAirbyte and DuckDB are in the dev extras: pip install -e '.[dev]'",
)

ROOT = Path(__file__).resolve().parent.parent
STREAMS = list(stream_facts())
START_TS = 1761350400  # tools/sync.py's DEMO_START_TS
ROW = re.compile(r"^(\w+)\s+(\d+)\s+(\d+)\s+(ok|MISMATCH.*?)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(ok|MISMATCH.*)$")


# A hang detector, not a speed limit: the main job (two syncs of the demo workspace with the
# reporting datasets, whose export jobs the CDK polls every 5 s, and the DuckDB load) takes about
# 2 minutes on a quiet 2-core machine (1 minute of CPU); it took 7 min 45 s on one with a load
# average of 25 (2026-12-03), and a test run adds its own load.
MAIN_JOB_TIMEOUT = 1200


def last_step(stderr: str) -> str:
    """The step the main job had reached: the last ``==> ...`` line it printed, with what followed."""
    lines = stderr.splitlines()
    starts = [index for index, line in enumerate(lines) if line.startswith("==> ")]
    return "\n".join(lines[starts[-1]:][-8:]) if starts else "(no step started)"


def run_the_main_job(folder: Path) -> Dict:
    output = folder / "output"
    output.mkdir()
    env = {**os.environ, "SOURCE_INTERCOM_CURRENT_PYTHON": "1", "CI": "true"}
    stdout_path, stderr_path = folder / "stdout.txt", folder / "stderr.txt"
    with open(stdout_path, "w") as stdout, open(stderr_path, "w") as stderr:
        process = subprocess.Popen([sys.executable, str(ROOT / "tools" / "sync.py"), "--output", str(output)],
                                   stdout=stdout, stderr=stderr, stdin=subprocess.DEVNULL, env=env, cwd=output, start_new_session=True)
        try:
            returncode = process.wait(MAIN_JOB_TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)  # and the connector it runs
            process.wait()
            raise TimeoutError(f"tools/sync.py hung: still running after {MAIN_JOB_TIMEOUT} s, in this step:\n"
                               f"{last_step(stderr_path.read_text())}") from None
    return {"returncode": returncode, "stdout": stdout_path.read_text(), "stderr": stderr_path.read_text(), "output": str(output)}


@pytest.fixture(scope="module")
def main_job(tmp_path_factory: pytest.TempPathFactory) -> Dict:
    """One run of the main job for the session, whichever test process asks first."""
    done = once_per_session(tmp_path_factory, "main-job", run_the_main_job)
    process = subprocess.CompletedProcess(["tools/sync.py"], done["returncode"], done["stdout"], done["stderr"])
    rows = {m.group(1): m.groups()[1:] for m in map(ROW.match, process.stdout.splitlines()) if m}
    return {"process": process, "output": Path(done["output"]), "rows": rows}


def expected_counts() -> Dict[str, List[int]]:
    """The demo workspace's ground truth, computed here: [at the full sync, now, ever (kept by dedup)]."""
    workspace = Workspace(seed=2024, sizes=PRESETS["demo"], span_days=365)
    before = {s: workspace.expected_ids(s, START_TS) for s in STREAMS}
    workspace.mutate_random(random.Random(7), fraction=0.1)
    after = {s: workspace.expected_ids(s, START_TS) for s in STREAMS}
    return {s: [len(before[s]), len(after[s]), len(before[s] | after[s])] for s in STREAMS}


@pytest.mark.long(120)
def test_exits_0_and_reports_every_stream_ok(main_job: Dict) -> None:
    process = main_job["process"]
    assert process.returncode == 0, process.stdout[-3000:] + process.stderr[-3000:]
    assert "All tables match the emulator's ground truth." in process.stdout
    assert sorted(main_job["rows"]) == sorted(STREAMS), process.stdout
    expected = expected_counts()
    for stream, (full, workspace, full_check, read, changed, in_db, now, check) in main_job["rows"].items():
        assert (full_check, check) == ("ok", "ok"), stream
        assert int(full) == int(workspace) == expected[stream][0], stream
        assert int(now) == expected[stream][1], stream
        assert int(in_db) == expected[stream][2], stream
        assert int(read) >= int(changed), stream  # the incremental sync read every changed record
    # Something visible happens while it runs (PyAirbyte's view or our heartbeat), on stderr.
    assert "==> Full sync" in process.stderr and "==> Incremental sync" in process.stderr


def test_duckdb_holds_the_table_counts(main_job: Dict) -> None:
    import duckdb

    assert main_job["process"].returncode == 0
    database = main_job["output"] / "intercom-demo.duckdb"
    assert database.exists()
    assert (main_job["output"] / "logs").is_dir()  # AIRBYTE_LOGGING_ROOT
    connection = duckdb.connect(str(database), read_only=True)
    try:
        tables = {name for (name,) in connection.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'").fetchall()}
        assert set(STREAMS) <= tables
        for stream in STREAMS:
            key = ", ".join(stream_facts()[stream].primary_key)
            rows, keys = connection.execute(f"SELECT count(*), count(DISTINCT ({key})) FROM main.{stream}").fetchone()
            assert rows == keys, f"{stream}: duplicate primary keys"
            assert rows == int(main_job["rows"][stream][5]), stream  # the table's "in DuckDB"
        # PyAirbyte keeps the state in the database: that is what made the second sync incremental.
        assert "_airbyte_state" in tables
        assert connection.execute("SELECT count(*) FROM main._airbyte_state").fetchone()[0] > 0
    finally:
        connection.close()
