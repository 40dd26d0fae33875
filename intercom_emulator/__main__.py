"""CLI: python3 -m intercom_emulator --port 0 --token demo-token --preset demo"""
from __future__ import annotations

import argparse
import dataclasses
import json
import signal
import sys
import threading

from .faults import DEFAULT_RANDOM_KINDS
from .reporting import ReportingExports
from .routes import TICKET_PARTS_IN_SEARCH
from .server import EmulatorServer
from .sizes import PRESETS
from .workspace import Workspace


def parse_fault_rates(text: str) -> dict[str, float]:
    """``truncated=0.1,scroll_expired=0.05`` -> {"truncated": 0.1, "scroll_expired": 0.05}."""
    rates = {}
    for item in text.split(","):
        kind, _, rate = item.partition("=")
        rates[kind.strip()] = float(rate)      # a missing "=RATE" is float(""): ValueError
    return rates


def main(argv=None):
    p = argparse.ArgumentParser(prog="intercom_emulator", description="Local Intercom REST API emulator")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--token", default="demo-token")
    p.add_argument("--preset", choices=sorted(PRESETS), default="demo")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--short-lists", action="store_true",
                   help="no contact has more tags, companies or notes than the 10 it embeds (no cut lists)")
    p.add_argument("--span-days", type=int, default=120)
    p.add_argument("--contacts-index-delay", type=float, default=0.0)
    p.add_argument("--timezone-offset-hours", type=float, default=0)
    p.add_argument("--latency", type=float, default=0.0)
    p.add_argument("--rate-limit-per-10s", type=int, default=None)
    p.add_argument("--fault-rate", type=float, default=0.0, help="share of requests that get a random fault")
    p.add_argument("--fault-kinds", default=",".join(DEFAULT_RANDOM_KINDS),
                   help="comma-separated kinds that share --fault-rate equally")
    p.add_argument("--fault-rates", type=parse_fault_rates, default=None, metavar="KIND=RATE,...",
                   help="random faults per kind, e.g. truncated=0.1,scroll_expired=0.05 (instead of --fault-rate)")
    p.add_argument("--fault-paths", default=None, metavar="REGEX", help="random faults only on matching paths")
    p.add_argument("--max-faults-in-a-row", type=int, default=None,
                   help="no random fault for a request that already got this many in a row")
    p.add_argument("--fault-seed", type=int, default=0)
    p.add_argument("--scroll-page-size", type=int, default=50)
    p.add_argument("--scroll-ttl", type=float, default=60.0)
    p.add_argument("--ticket-parts-in-search", type=int, default=TICKET_PARTS_IN_SEARCH,
                   help="most recent parts a ticket carries in search results")
    p.add_argument("--reporting-scope", action="store_true",
                   help="the token has the export_reporting_data scope (else the reporting endpoints answer 403)")
    p.add_argument("--reporting-rows", type=lambda t: {k: int(v) for k, v in parse_fault_rates(t).items()},
                   default=None, metavar="DATASET=ROWS,...", help="rows per reporting dataset, e.g. conversation=1000000")
    p.add_argument("--reporting-pending-seconds", type=float, default=1.0, help="how long an export job stays pending")
    p.add_argument("--reporting-failure-rate", type=float, default=0.0, help="share of export jobs that end failed")
    p.add_argument("--reporting-download-ttl", type=float, default=900.0, help="seconds a complete export can be downloaded")
    args = p.parse_args(argv)

    sizes = dataclasses.replace(PRESETS[args.preset], contacts_with_long_lists=not args.short_lists)
    ws = Workspace(seed=args.seed, sizes=sizes, span_days=args.span_days,
                   contacts_index_delay=args.contacts_index_delay,
                   timezone_offset_hours=args.timezone_offset_hours)
    server = EmulatorServer(ws, token=args.token, host=args.host, port=args.port, latency=args.latency,
                            rate_limit_per_10s=args.rate_limit_per_10s, fault_rate=args.fault_rate,
                            fault_kinds=[k.strip() for k in args.fault_kinds.split(",") if k.strip()],
                            fault_rates=args.fault_rates, fault_paths=args.fault_paths,
                            max_faults_in_a_row=args.max_faults_in_a_row, fault_seed=args.fault_seed,
                            scroll_page_size=args.scroll_page_size, scroll_ttl=args.scroll_ttl,
                            ticket_parts_in_search=args.ticket_parts_in_search, reporting_scope=args.reporting_scope,
                            reporting=ReportingExports(args.reporting_pending_seconds, args.reporting_failure_rate,
                                                       args.reporting_download_ttl, seed=args.fault_seed),
                            reporting_rows=args.reporting_rows)
    server.start()
    done = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: done.set())
    sys.stdout.write(json.dumps({"url": server.url, "token": args.token}) + "\n")
    sys.stdout.flush()
    try:
        while not done.wait(0.5):
            pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
