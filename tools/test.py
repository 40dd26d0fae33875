#!/usr/bin/env python3
"""Runs every test: `python3 tools/test.py [pytest arguments]`. Sets up .venv on first use."""

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bootstrap import ROOT, reexec_in_venv  # noqa: E402

if __name__ == "__main__":
    reexec_in_venv(__file__)
    import pytest

    os.chdir(ROOT)
    sys.exit(pytest.main(["-p", "no:cacheprovider", *sys.argv[1:]]))
