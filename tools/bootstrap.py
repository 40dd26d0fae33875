"""Creates (or refreshes) the project's virtual environment in .venv, with nothing but python3.

The venv gets exactly the packages pinned, with their hashes, in requirements/lock.txt, installed
by plain pip, then the project itself (editable) without resolving anything. Refresh the lock
(and requirements/runtime-lock.txt, the container image's) with `python3 tools/bootstrap.py lock`
(keeps current pins where still allowed) or `python3 tools/bootstrap.py lock --upgrade` (newest
allowed versions); both run .venv's uv.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import subprocess
import sys
import tempfile
import venv
from pathlib import Path
from typing import Any, Dict, Sequence

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")
STAMP = VENV / ".installed-from"
PYPROJECT = ROOT / "pyproject.toml"
LOCK = ROOT / "requirements" / "lock.txt"
# The container image's packages: the project's own dependencies (no [dev] extra) and the build
# backend, at the versions of LOCK (resolved with LOCK as constraints), so the image runs what CI tested.
RUNTIME_LOCK = ROOT / "requirements" / "runtime-lock.txt"
LOCK_COMMAND = "python3 tools/bootstrap.py lock"
LOCK_HEADER = f"""\
# Exact versions, with hashes, of every package in .venv: the project's dependencies and its
# [dev] extra, plus pip and setuptools (the project installs without build isolation).
# Resolved by uv for every Python from 3.10 and every platform (markers pick per interpreter);
# installed by tools/bootstrap.py with plain pip (`pip install --require-hashes -r`).
# Do not edit by hand. Refresh after changing pyproject.toml's dependencies:
#    {LOCK_COMMAND}              (keeps current pins where pyproject.toml still allows them)
#    {LOCK_COMMAND} --upgrade    (newest versions pyproject.toml allows)
"""
RUNTIME_LOCK_HEADER = f"""\
# Exact versions, with hashes, of the packages the container image installs (Dockerfile): the
# project's dependencies without its [dev] extra, plus setuptools (the image builds the project
# without build isolation). The same versions as requirements/lock.txt, which CI tests: resolved
# by uv with that lock as constraints (unit_tests/test_locks.py checks it).
# Do not edit by hand: `{LOCK_COMMAND}` writes both files.
"""


def _fingerprint() -> str:
    digest = hashlib.sha256()
    for path in (PYPROJECT, LOCK):
        digest.update(path.read_bytes())
    return digest.hexdigest()


def ensure_venv() -> Path:
    """The venv's python, with the locked packages and the package (editable) installed and current."""
    if STAMP.exists() and STAMP.read_text() == _fingerprint() and PYTHON.exists():
        return PYTHON
    print(f"Setting up {VENV} (first run only; about a minute)...", file=sys.stderr, flush=True)
    if not PYTHON.exists():
        venv.EnvBuilder(with_pip=True).create(VENV)
    install_locked(PYTHON)
    STAMP.write_text(_fingerprint())
    return PYTHON


def install_locked(python: Path) -> None:
    """Installs the lock's packages into `python`'s environment, then the project, resolving nothing."""
    pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    with tempfile.TemporaryDirectory() as scratch:
        # pip first, on its own, so that the rest is installed by the locked pip.
        pip_only = Path(scratch) / "pip.txt"
        pip_only.write_text(locked_requirement(LOCK.read_text(), "pip"))
        subprocess.run([*pip, "--require-hashes", "-r", str(pip_only)], check=True)
    subprocess.run([*pip, "--require-hashes", "-r", str(LOCK)], check=True)
    subprocess.run([*pip, "--no-deps", "--no-build-isolation", "-e", str(ROOT)], check=True)


def locked_requirement(lock_text: str, name: str) -> str:
    """The lock's entries (requirement line and its hash lines) for the package `name`."""
    entries = re.findall(rf"^{re.escape(name)}==(?:[^\n]*\\\n)*[^\n]*", lock_text, re.MULTILINE)
    if not entries:
        raise SystemExit(f"{LOCK.relative_to(ROOT)} pins no {name!r}; refresh it with `{LOCK_COMMAND}`.")
    return "\n".join(entries) + "\n"


def refresh_lock(upgrade: bool) -> None:
    """Re-resolves both locks with .venv's uv (PyAirbyte brings uv; installs use pip only)."""
    uv = BIN / ("uv.exe" if os.name == "nt" else "uv")
    if not uv.exists():
        raise SystemExit(f"{uv} is missing: run `python3 tools/test.py` once to set up .venv, then retry.")
    project = _read_pyproject()
    lowest_python = re.search(r">=\s*(\d+\.\d+)", project["project"]["requires-python"])
    assert lowest_python, "pyproject.toml's requires-python names no lower bound"
    build_backend = project["build-system"]["requires"]
    LOCK.parent.mkdir(exist_ok=True)
    _compile(uv, lowest_python.group(1), LOCK, LOCK_HEADER, ["--extra", "dev", *(["--upgrade"] if upgrade else [])], ["pip", *build_backend])
    _compile(uv, lowest_python.group(1), RUNTIME_LOCK, RUNTIME_LOCK_HEADER, ["--constraint", str(LOCK.relative_to(ROOT))], build_backend)
    print(f"Wrote {LOCK.relative_to(ROOT)} and {RUNTIME_LOCK.relative_to(ROOT)}; the next tools/test.py or tools/sync.py reinstalls .venv.")


def _compile(uv: Path, python_version: str, output: Path, header: str, options: Sequence[str], also: Sequence[str]) -> None:
    """`uv pip compile` of pyproject.toml and the requirements `also`, for every Python from
    `python_version` and every platform, with hashes, into `output` under `header`."""
    command = [str(uv), "pip", "compile", PYPROJECT.name, "-", *options, "--universal"]
    command += ["--python-version", python_version, "--generate-hashes", "--quiet"]
    # Keep extras on the pins (google-api-core[grpc]==...): in --require-hashes mode, pip 23.2 (as
    # Python 3.11 brings it) fails on a requirement with extras whose pin has none.
    command += ["--no-strip-extras"]
    command += ["--custom-compile-command", LOCK_COMMAND, "--output-file", str(output.relative_to(ROOT))]
    subprocess.run(command, input="\n".join(also) + "\n", text=True, check=True, cwd=ROOT)
    output.write_text(header + output.read_text().removeprefix(header))


def _read_pyproject() -> Dict[str, Any]:
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        raise SystemExit("Refreshing the lock reads pyproject.toml with tomllib: run it with Python 3.11 or later.")
    return tomllib.loads(PYPROJECT.read_text())


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


def main(argv: Sequence[str]) -> None:
    parser = argparse.ArgumentParser(prog="python3 tools/bootstrap.py", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("venv", help="create or update .venv from the lock (what tools/test.py does first)")
    lock = commands.add_parser("lock", help=f"re-resolve {LOCK.relative_to(ROOT)} and {RUNTIME_LOCK.relative_to(ROOT)} with .venv's uv")
    lock.add_argument("--upgrade", action="store_true", help="take the newest versions pyproject.toml allows")
    args = parser.parse_args(argv)
    if args.command == "lock":
        refresh_lock(upgrade=args.upgrade)
    else:
        print(ensure_venv())


if __name__ == "__main__":
    main(sys.argv[1:])
