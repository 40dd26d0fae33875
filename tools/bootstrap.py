"""Creates (or refreshes) the project's virtual environment in .venv, with nothing but python3."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")
STAMP = VENV / ".installed-from"


def _fingerprint() -> str:
    return hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()


def ensure_venv() -> Path:
    """The venv's python, with the package (editable) and its dev extras installed and current."""
    if STAMP.exists() and STAMP.read_text() == _fingerprint() and PYTHON.exists():
        return PYTHON
    print(f"Setting up {VENV} (first run only; about a minute)...", file=sys.stderr, flush=True)
    if not PYTHON.exists():
        venv.EnvBuilder(with_pip=True).create(VENV)
    pip = [str(PYTHON), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run([*pip, "--upgrade", "pip"], check=True)
    subprocess.run([*pip, "-e", f"{ROOT}[dev]"], check=True)
    STAMP.write_text(_fingerprint())
    return PYTHON


def reexec_in_venv(script: str) -> None:
    """Run `script` again inside the venv unless this already is the venv's interpreter.

    With SOURCE_INTERCOM_CURRENT_PYTHON=1 the script runs in the current interpreter instead, which
    must then have the package and its dev extras installed (the tests run tools/sync.py so).
    """
    if os.environ.get("SOURCE_INTERCOM_CURRENT_PYTHON") == "1":
        return
    python = ensure_venv()
    if Path(sys.prefix).resolve() != VENV.resolve():
        os.execv(str(python), [str(python), script, *sys.argv[1:]])
