"""Once a command is done, the CLI leaves its heap out of the garbage collector's last walks
(source_intercom/run.py, leave_the_heap_to_the_exit); `spec`, which holds next to nothing, does not.
A read starts with what it holds throughout already out of the collector's walks
(settle_the_heap_before_reading)."""

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


FREEZE_COUNT_WHEN_THE_READ_STARTS = (
    "import gc, sys\n"
    "import airbyte_cdk.entrypoint\n"
    "from source_intercom import run\n"
    "airbyte_cdk.entrypoint.launch = lambda source, args: print('FROZEN', gc.get_freeze_count(), file=sys.stderr)\n"
    "run.run(sys.argv[1:])\n"
)


def test_a_read_starts_with_the_source_and_the_cdk_frozen(tmp_path) -> None:
    config = tmp_path / "config.json"
    config.write_text('{"access_token": "t", "start_date": "2024-01-01T00:00:00Z"}')
    catalog = tmp_path / "catalog.json"
    catalog.write_text('{"streams": []}')
    done = subprocess.run([sys.executable, "-c", FREEZE_COUNT_WHEN_THE_READ_STARTS, "read", "--config", str(config), "--catalog", str(catalog)],
                          capture_output=True, text=True, timeout=300)
    frozen = [line for line in done.stderr.splitlines() if line.startswith("FROZEN")]
    assert frozen, done.stderr[-2000:]
    assert int(frozen[0].split()[1]) > 50_000
