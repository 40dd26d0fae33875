"""Memory of a reporting export: the real `source-intercom read` of `reporting_conversation` against
the emulator, whose one export job (one 90-day window) holds ROWS rows, once per size given; the
connector's peak RSS (VmHWM) for each. Flat memory: the peak does not grow with the rows.

    .venv/bin/python benchmarks/reporting_export.py                      # 10,000, 100,000 and 1,000,000 rows
    .venv/bin/python benchmarks/reporting_export.py --rows 1000000

Prints a table and writes the figures as JSON to benchmarks/results/.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Dict, List

from run import ROOT, RssPoller, code_version, machine  # noqa: E402  (run.py puts the project on sys.path)

from integration_tests.harness import catalog_for, file_args  # noqa: E402
from intercom_emulator import EmulatorServer, Workspace, WorkspaceSizes  # noqa: E402
from intercom_emulator.reporting import ReportingExports, iso  # noqa: E402

TOKEN = "benchmark-token"
SPAN_DAYS = 80          # the dataset's rows lie in the last 80 days: one 90-day window, one export
STREAM = "reporting_conversation"
CONNECTOR = Path(sys.executable).with_name("source-intercom")


def measure(rows: int, folder: Path) -> Dict[str, Any]:
    workspace = Workspace(seed=1, sizes=WorkspaceSizes(), span_days=SPAN_DAYS)
    server = EmulatorServer(workspace, token=TOKEN, reporting_scope=True, reporting=ReportingExports(pending_seconds=0.5),
                            reporting_rows={"conversation": rows}).start()
    try:
        config = {"access_token": TOKEN, "base_url": server.url, "start_date": iso(workspace.anchor - SPAN_DAYS * 86_400)}
        discover = subprocess.run([str(CONNECTOR), "discover", *file_args(str(folder), config=config)], capture_output=True, text=True, check=True)
        streams = [json.loads(line)["catalog"]["streams"] for line in discover.stdout.splitlines() if '"type":"CATALOG"' in line][0]
        args = file_args(str(folder), config=config, catalog=catalog_for(streams, [STREAM]))
        started = time.monotonic()
        records = 0
        with subprocess.Popen([str(CONNECTOR), "read", *args], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL) as proc:
            poller = RssPoller(proc.pid)
            assert proc.stdout is not None
            for line in proc.stdout:
                records += line.startswith(b'{"type":"RECORD"')
            code = proc.wait()
            poller.stop()
        wall = time.monotonic() - started
        stats = server.stats()["reporting"]
    finally:
        server.stop()
    return {"rows": rows, "records": records, "exit_code": code, "exports": stats["enqueued"], "downloads": stats["downloads"],
            "wall_s": round(wall, 1), "peak_rss_mib": round(poller.vmhwm_kib / 1024, 1)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    args = parser.parse_args()
    results: List[Dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as scratch:
        for rows in args.rows:
            folder = Path(scratch) / str(rows)
            folder.mkdir()
            result = measure(rows, folder)
            results.append(result)
            print(json.dumps(result), flush=True)
    print("\n| rows in the export | records | exports | wall | peak RSS |\n|---:|---:|---:|---:|---:|")
    for r in results:
        print(f"| {r['rows']:,} | {r['records']:,} | {r['exports']} | {r['wall_s']} s | {r['peak_rss_mib']} MiB |")
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H-%M-%SZ")
    out = ROOT / "benchmarks" / "results" / f"{stamp}-reporting-export.json"
    out.write_text(json.dumps({"benchmark": "reporting_export", "machine": machine(), "code": code_version(), "results": results}, indent=2) + "\n")
    print(f"\nwrote {out.relative_to(ROOT)}")
    return 0 if all(r["exit_code"] == 0 and r["records"] == r["rows"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
