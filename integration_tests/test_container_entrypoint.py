"""The container image, without a Docker engine: the Dockerfile is parsed, its build context is
staged from its COPY instructions, and its ENTRYPOINT is run exactly as

    docker run --rm -v $PWD/secrets:/secrets IMAGE read --config /secrets/config.json --catalog /secrets/catalog.json

would run it, with a temporary directory standing in for /secrets, against the Intercom emulator.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path, PurePosixPath
from typing import Any, Dict, List, Optional, Tuple

import pytest

from integration_tests.harness import CLI_TIMEOUT, catalog_for, config_for, discovered_streams, parse_messages
from tools.bootstrap import RUNTIME_LOCK

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = ROOT / "Dockerfile"
DOCKER_RUN_ARGS = ["read", "--config", "/secrets/config.json", "--catalog", "/secrets/catalog.json"]
MOUNT = "/secrets"  # -v $PWD/secrets:/secrets
EXEC_FORM_ONLY = "must use the exec (JSON array) form, so that `docker run IMAGE <args>` passes <args> to the connector"


@dataclass
class Dockerfile:
    instructions: List[Tuple[str, str]]
    env: Dict[str, str] = field(default_factory=dict)

    @classmethod
    def parse(cls, text: str) -> "Dockerfile":
        instructions: List[Tuple[str, str]] = []
        pending = ""
        for raw in text.splitlines():
            line = raw.strip()
            if not pending and (not line or line.startswith("#")):
                continue
            if line.startswith("#"):  # a comment inside a continued instruction
                continue
            if line.endswith("\\"):
                pending += line[:-1] + " "
                continue
            whole = (pending + line).strip()
            pending = ""
            if whole:
                keyword, _, args = whole.partition(" ")
                instructions.append((keyword.upper(), args.strip()))
        assert not pending, "the Dockerfile ends inside a continued line"
        parsed = cls(instructions)
        for args in parsed.all("ENV"):
            for item in shlex.split(args):
                key, _, value = item.partition("=")
                parsed.env[key] = value
        return parsed

    def all(self, keyword: str) -> List[str]:
        return [args for key, args in self.instructions if key == keyword]

    def last(self, keyword: str) -> Optional[str]:
        found = self.all(keyword)
        return found[-1] if found else None

    def exec_form(self, keyword: str) -> Optional[List[str]]:
        args = self.last(keyword)
        if args is None:
            return None
        assert args.startswith("["), f"{keyword} {EXEC_FORM_ONLY}"
        value = json.loads(args)
        assert isinstance(value, list) and value and all(isinstance(v, str) for v in value), f"{keyword} {EXEC_FORM_ONLY}"
        return value

    def command(self, run_args: List[str]) -> List[str]:
        """What the container runs for `docker run IMAGE *run_args`: arguments replace CMD."""
        entrypoint = self.exec_form("ENTRYPOINT")
        assert entrypoint, "the Dockerfile needs an ENTRYPOINT"
        return [*entrypoint, *(run_args or self.exec_form("CMD") or [])]

    def workdir(self) -> PurePosixPath:
        current = PurePosixPath("/")
        for args in self.all("WORKDIR"):
            current = current / args
        return current

    def stage_context(self, context: Path, into: Path) -> PurePosixPath:
        """Copies what the COPY instructions take from the build context into `into` (the image's
        root); returns the WORKDIR in force at the (only) `pip install`."""
        workdir = PurePosixPath("/")
        install_dir: Optional[PurePosixPath] = None
        for keyword, args in self.instructions:
            if keyword == "WORKDIR":
                workdir = workdir / args
            elif keyword in ("COPY", "ADD"):
                parts = [p for p in shlex.split(args) if not p.startswith("--")]
                *sources, dest = parts
                target = workdir / dest
                for source in sources:
                    origin = context / source
                    assert origin.exists(), f"{keyword} {source}: not in the build context"
                    landing = into / str(target).lstrip("/")
                    if origin.is_dir():
                        shutil.copytree(origin, landing, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__"))
                    else:
                        if dest.endswith("/") or len(sources) > 1:
                            landing = landing / origin.name
                        landing.parent.mkdir(parents=True, exist_ok=True)
                        shutil.copyfile(origin, landing)
            elif keyword == "RUN" and "pip install" in args:
                install_dir = workdir
        assert install_dir is not None, "no RUN pip install"
        return install_dir


@pytest.fixture(scope="module")
def dockerfile() -> Dockerfile:
    assert DOCKERFILE.is_file(), "the repository needs a Dockerfile"
    return Dockerfile.parse(DOCKERFILE.read_text())


def console_script(name: str) -> metadata.EntryPoint:
    """The console script as installed from pyproject.toml's [project.scripts] (by CI's pip install)."""
    found = [ep for ep in metadata.entry_points(group="console_scripts") if ep.name == name]
    assert found, f"no console script named {name!r} is installed"
    return found[0]


def test_image_is_python_311_slim_with_the_console_script_as_exec_form_entrypoint(dockerfile: Dockerfile) -> None:
    assert dockerfile.all("FROM") == ["python:3.11-slim"]
    entrypoint = dockerfile.exec_form("ENTRYPOINT")
    assert entrypoint == ["source-intercom"]
    assert console_script(entrypoint[0]).value == "source_intercom.run:run"
    # The Airbyte platform calls the connector through AIRBYTE_ENTRYPOINT; it must match.
    assert dockerfile.env.get("AIRBYTE_ENTRYPOINT") == " ".join(entrypoint)
    # docker run's arguments must reach the connector: no CMD that a shell would swallow.
    assert dockerfile.command(DOCKER_RUN_ARGS) == [*entrypoint, *DOCKER_RUN_ARGS]


def pip_install_words(command: str) -> List[str]:
    """The words after `install` of a `pip install ...` command (any of pip's usual spellings)."""
    words = shlex.split(command)
    assert "install" in words, command
    assert words[: words.index("install")] in (["pip"], ["pip3"], ["python", "-m", "pip"], ["python3", "-m", "pip"]), words
    return words[words.index("install") + 1 :]


def test_dockerfile_installs_the_runtime_lock_then_the_project_resolving_nothing(dockerfile: Dockerfile, tmp_path: Path) -> None:
    # As CI does (tools/bootstrap.py): exact versions with hashes from a lock, then the project with
    # --no-deps; but from the runtime lock (no dev extras) and not editable.
    bootstrap = (ROOT / "tools" / "bootstrap.py").read_text()
    assert '"--require-hashes", "-r", str(LOCK)' in bootstrap and '"--no-deps", "--no-build-isolation", "-e"' in bootstrap, "CI's install changed: review the Dockerfile"
    installs = [args for args in dockerfile.all("RUN") if "pip install" in args]
    assert len(installs) == 1, installs
    commands = [command.strip() for command in installs[0].split("&&") if "pip install" in command]
    assert [pip_install_words(command) for command in commands] == [
        ["--require-hashes", "-r", str(RUNTIME_LOCK.relative_to(ROOT))],
        ["--no-deps", "--no-build-isolation", "."],
    ], commands

    # The COPY instructions bring everything that install needs into the WORKDIR.
    image = tmp_path / "image"
    install_dir = dockerfile.stage_context(ROOT, image)
    assert install_dir == dockerfile.workdir()
    project = image / str(install_dir).lstrip("/")
    assert (project / "pyproject.toml").read_bytes() == (ROOT / "pyproject.toml").read_bytes()
    assert (project / RUNTIME_LOCK.relative_to(ROOT)).read_bytes() == RUNTIME_LOCK.read_bytes()
    assert (project / "README.md").is_file(), "pyproject.toml names README.md as the readme: the build needs it"
    package_files = sorted(
        str(p.relative_to(ROOT)) for p in (ROOT / "source_intercom").rglob("*") if p.is_file() and "__pycache__" not in p.parts
    )
    staged_files = sorted(
        str(p.relative_to(project)) for p in (project / "source_intercom").rglob("*") if p.is_file() and "__pycache__" not in p.parts
    )
    assert staged_files == package_files
    for needed in ("source_intercom/manifest.yaml", "source_intercom/components.py", "source_intercom/run.py"):
        assert needed in staged_files
    assert any(name.startswith("source_intercom/schemas/") for name in staged_files)
    # Nothing private is baked into the image.
    assert not (project / "secrets").exists() and not (project / "output").exists()


def test_staged_context_builds_the_package_with_its_script_and_data(dockerfile: Dockerfile, tmp_path: Path) -> None:
    """`pip install .` in the image builds a wheel from the staged files: build it here (offline,
    with this interpreter's setuptools) and look inside."""
    try:
        import setuptools
    except ImportError:
        pytest.skip("setuptools is not installed in this interpreter: cannot build offline")
    if int(setuptools.__version__.split(".")[0]) < 77:
        pytest.skip(f"pyproject.toml needs setuptools>=77, this interpreter has {setuptools.__version__}")
    image = tmp_path / "image"
    project = image / str(dockerfile.stage_context(ROOT, image)).lstrip("/")
    wheels = tmp_path / "wheels"
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-q", "-w", str(wheels), str(project)],
        capture_output=True, text=True, timeout=CLI_TIMEOUT,
    )
    assert build.returncode == 0, build.stdout[-2000:] + build.stderr[-2000:]
    (wheel,) = wheels.glob("source_intercom-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        entry_points = next(archive.read(n).decode() for n in names if n.endswith(".dist-info/entry_points.txt"))
    schemas = sorted(p.name for p in (ROOT / "source_intercom" / "schemas").glob("*.json"))
    assert {"source_intercom/manifest.yaml", "source_intercom/components.py", "source_intercom/run.py"} <= set(names)
    assert sorted(n.split("/")[-1] for n in names if n.startswith("source_intercom/schemas/")) == schemas
    assert "source-intercom = source_intercom.run:run" in entry_points


def test_the_entrypoint_reads_records_from_the_mounted_files(dockerfile: Dockerfile, workspace: Any, emulator: Any, tmp_path: Path) -> None:
    secrets = tmp_path / "secrets"  # stands in for $PWD/secrets, mounted at /secrets
    secrets.mkdir()
    config = config_for(emulator)
    streams = discovered_streams(config)
    names = ["admins", "tags", "companies", "contacts", "conversations"]
    (secrets / "config.json").write_text(json.dumps(config))
    (secrets / "catalog.json").write_text(json.dumps(catalog_for(streams, names=names, incremental=False)))

    command = dockerfile.command(DOCKER_RUN_ARGS)
    command = [str(secrets) + arg[len(MOUNT):] if arg.startswith(MOUNT + "/") else arg for arg in command]
    # In the image, pip puts the console script on PATH (/usr/local/bin); here CI's venv holds it.
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    executable = shutil.which(command[0], path=path)
    assert executable, f"{command[0]} is not on PATH"
    workdir = tmp_path / "workdir"  # an empty WORKDIR: nothing is imported from the checkout by accident
    workdir.mkdir()
    done = subprocess.run([executable, *command[1:]], capture_output=True, text=True, timeout=CLI_TIMEOUT, cwd=workdir, env={**os.environ, "PATH": path})

    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    messages = parse_messages(done.stdout)
    counts: Dict[str, int] = {}
    for message in messages:
        if message["type"] == "RECORD":
            counts[message["record"]["stream"]] = counts.get(message["record"]["stream"], 0) + 1
    assert sorted(counts) == sorted(names), counts
    sizes = workspace.sizes
    assert (counts["admins"], counts["companies"], counts["contacts"]) == (sizes.admins, sizes.companies, sizes.contacts)
    assert not [m for m in messages if m["type"] == "TRACE" and m["trace"]["type"] == "ERROR"]
    assert emulator.token not in done.stdout + done.stderr
