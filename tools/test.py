#!/usr/bin/env python3
"""Runs every test: `python3 tools/test.py [pytest arguments]`. Sets up .venv on first use.

The tests run in parallel (pytest-xdist): four worker processes per CPU, because many end-to-end
tests spend their time waiting (for a retry, a rate-limit window, an expiring scroll, a reporting
export job), and an idle worker takes tests queued for a busy one (`--dist worksteal`): a few tests
take a minute each. On a quiet 2-core machine (2026-12-03, 0.4.1): 6 workers took 360 s, 8 took
319 s, 10 took 369 s (the CPUs were then busy all the time, and every test took longer).
`-n`/`--dist` given here override that (`-n 0`: every test in this process, one after another);
`SOURCE_INTERCOM_TEST_WORKERS=N` sets the number of workers.

The count stays the same on a busy machine: no test depends on the machine's speed (timeouts are
hang detectors, the emulator's delays robust or on the test's clock), so fewer workers would only
make the run longer (eight workers get about four fifths of two CPUs that two other busy
processes share with them; two would get half).
"""

import os
import sys
from pathlib import Path
from typing import List, Sequence

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bootstrap import ROOT, reexec_in_venv  # noqa: E402

WORKERS_PER_CPU = 4


def chooses_its_own(args: Sequence[str]) -> bool:
    """Whether the arguments set xdist's workers or distribution, or turn xdist off."""
    for index, arg in enumerate(args):
        if arg in ("-n", "--numprocesses", "--dist") or arg.startswith(("--numprocesses=", "--dist=")):
            return True
        value = arg[2:].lstrip("=")
        if arg.startswith("-n") and (value in ("auto", "logical") or value.isdigit()):
            return True
        if arg == "-pno:xdist" or (arg == "-p" and args[index + 1:index + 2] == ["no:xdist"]):
            return True
    return False


def parallel_args(args: Sequence[str]) -> List[str]:
    """xdist's options, unless the arguments choose their own."""
    if chooses_its_own(args):
        return []
    workers = os.environ.get("SOURCE_INTERCOM_TEST_WORKERS") or str(WORKERS_PER_CPU * (os.cpu_count() or 1))
    return ["-n", workers, "--dist", "worksteal"]


if __name__ == "__main__":
    reexec_in_venv(__file__)
    import pytest

    # The test processes keep what Python compiles (`__pycache__/`, ignored by git), also where
    # PYTHONDONTWRITEBYTECODE says otherwise: each of the suite's processes imports the package,
    # the emulator and the test modules (rewritten by pytest for its asserts), and the suite
    # starts hundreds of them.
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    os.chdir(ROOT)
    arguments = sys.argv[1:]
    sys.exit(pytest.main(["-p", "no:cacheprovider", *parallel_args(arguments), *arguments]))
