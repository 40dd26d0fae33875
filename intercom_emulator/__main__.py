"""CLI: python3 -m intercom_emulator --port 0 --token demo-token --preset demo"""
from __future__ import annotations

import argparse
import json
import signal
import sys
import threading

from .sizes import PRESETS
from .workspace import Workspace
from .server import EmulatorServer


def main(argv=None):
    p = argparse.ArgumentParser(prog="intercom_emulator", description="Local Intercom REST API emulator")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--token", default="demo-token")
    p.add_argument("--preset", choices=sorted(PRESETS), default="demo")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--span-days", type=int, default=120)
    p.add_argument("--contacts-index-delay", type=float, default=0.0)
    p.add_argument("--timezone-offset-hours", type=float, default=0)
    p.add_argument("--latency", type=float, default=0.0)
    p.add_argument("--rate-limit-per-10s", type=int, default=None)
    p.add_argument("--fault-rate", type=float, default=0.0)
    p.add_argument("--fault-seed", type=int, default=0)
    p.add_argument("--scroll-page-size", type=int, default=50)
    p.add_argument("--scroll-ttl", type=float, default=60.0)
    args = p.parse_args(argv)

    ws = Workspace(seed=args.seed, sizes=PRESETS[args.preset], span_days=args.span_days,
                   contacts_index_delay=args.contacts_index_delay,
                   timezone_offset_hours=args.timezone_offset_hours)
    server = EmulatorServer(ws, token=args.token, host=args.host, port=args.port, latency=args.latency,
                            rate_limit_per_10s=args.rate_limit_per_10s, fault_rate=args.fault_rate,
                            fault_seed=args.fault_seed, scroll_page_size=args.scroll_page_size,
                            scroll_ttl=args.scroll_ttl)
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
