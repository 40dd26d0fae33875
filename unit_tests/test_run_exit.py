"""Once a command is done, the CLI leaves its heap out of the garbage collector's last walks
(source_intercom/run.py, leave_the_heap_to_the_exit); `spec`, which holds next to nothing, does not."""

from __future__ import annotations

import subprocess
import sys

import pytest

FREEZE_COUNT_AFTER = (
    "import gc, sys\n"
    "from source_intercom.run import run\n"
    "try:\n"
    "    run(sys.argv[1:])\n"
    "except SystemExit:\n"
    "    pass\n"
    "print('FROZEN', gc.get_freeze_count(), file=sys.stderr)\n"
)


def _frozen_after(*args: str) -> int:
    done = subprocess.run([sys.executable, "-c", FREEZE_COUNT_AFTER, *args], capture_output=True, text=True, timeout=300)
    return int(next(line for line in done.stderr.splitlines() if line.startswith("FROZEN")).split()[1])


@pytest.mark.parametrize("args", [["check", "--config", "/nonexistent/config.json"], ["check"]], ids=["a failed check", "a usage error"])
def test_after_a_command_the_heap_is_frozen_even_when_it_fails(args: list) -> None:
    assert _frozen_after(*args) > 50_000  # the CDK's modules and models


def test_spec_freezes_nothing() -> None:
    assert _frozen_after("spec") == 0
