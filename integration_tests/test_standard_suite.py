"""Airbyte's standard tests (``airbyte_cdk.test.standard_tests``) against the Intercom emulator.

The suite reads ``acceptance-test-config.yml`` (sections spec, connection, discovery, basic_read,
full_refresh) and runs, per listed config: ``spec`` (+ the spec lint), the config matching the
spec, ``check`` succeeding and failing as declared, ``discover`` (+ the catalog checks), a
full-refresh ``read`` of every discovered stream (each must return records matching its schema,
strictness ``high``) and ``read`` with a bad catalog. Each runs in-process, twice:

- ``TestPythonPackage``: the connector as the ``source_intercom`` package builds it
  (``SourceIntercom``, the class behind the ``source-intercom`` console script);
- ``TestManifestOnly``: the CDK's ``DeclarativeSourceTestSuite``, which injects
  ``manifest.yaml`` and ``components.py`` the way the Airbyte platform runs a manifest-only
  connector (``__injected_components_py`` + its md5).

The configs listed in ``acceptance-test-config.yml`` are templates (``${emulator_url}``,
``${emulator_token}``): the emulator listens on a random port, so a fixture starts it and writes
the rendered configs to a temporary directory, and ``get_scenarios`` points each scenario there
(same file name, so the scenario ids stay ``config``, ``invalid_token_config``, ...).

Docker image tests are skipped (not run) here: see ``_without_docker_image_tests``.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path
from string import Template
from typing import Any, Iterator, List, Optional

import pytest
from boltons.typeutils import classproperty

from airbyte_cdk.test.models import ConnectorTestScenario
from airbyte_cdk.test.standard_tests import DeclarativeSourceTestSuite, SourceTestSuiteBase
from airbyte_cdk.test.standard_tests._job_runner import IConnector
from airbyte_cdk.test.standard_tests.docker_base import DockerConnectorTestSuite

# The suite's parametrization hook (one test per scenario of acceptance-test-config.yml), used as a
# module-level hook so it applies to this module only (no global `pytest_plugins`).
from airbyte_cdk.test.standard_tests.pytest_hooks import pytest_generate_tests  # noqa: F401
from integration_tests.harness import SCROLL_EXPIRY
from integration_tests.workspaces import small_workspace
from intercom_emulator import running_emulator
from source_intercom.source import SourceIntercom

ROOT = Path(__file__).resolve().parent.parent
PACKAGE_DIR = ROOT / "source_intercom"
TEMPLATES_DIR = ROOT / "integration_tests" / "acceptance"
# Where the rendered configs go: one directory per test process (pytest-xdist workers each start
# their own emulator), created by the fixture below and removed after the module.
GENERATED_DIR = Path(tempfile.gettempdir()) / f"source-intercom-acceptance-{os.getpid()}"
TOKEN = "acceptance-token-0123456789"

DOCKER_SKIP_REASON = (
    "Docker image test: needs a Docker engine (there is only a docker CLI here), builds its own "
    "image from the CDK's templates rather than ./Dockerfile, and a container cannot reach the "
    "emulator on the host's 127.0.0.1. The image's entrypoint is exercised by "
    "integration_tests/test_container_entrypoint.py instead."
)


@pytest.fixture(scope="module")
def acceptance_configs() -> Iterator[Path]:
    """Starts the emulator and renders every config template of integration_tests/acceptance/.

    The suite reads in this process, where the connector cannot see the catalog's streams and
    reads companies and company_segments each from a scroll of its own: the second waits for the
    first to expire. The emulator's scroll expires after 2 s here (Intercom: about a minute),
    and the connector waits that long (SOURCE_INTERCOM_SCROLL_EXPIRY_SECONDS)."""
    with pytest.MonkeyPatch.context() as patch, running_emulator(small_workspace(), token=TOKEN, scroll_ttl=SCROLL_EXPIRY) as server:
        patch.setenv("SOURCE_INTERCOM_SCROLL_EXPIRY_SECONDS", str(SCROLL_EXPIRY))
        GENERATED_DIR.mkdir(parents=True, exist_ok=True)
        try:
            for template in TEMPLATES_DIR.glob("*.json"):
                rendered = Template(template.read_text()).substitute(emulator_url=server.url, emulator_token=server.token)
                (GENERATED_DIR / template.name).write_text(rendered)
            yield GENERATED_DIR
        finally:
            shutil.rmtree(GENERATED_DIR, ignore_errors=True)


def _without_docker_image_tests(cls: type) -> type:
    """Replaces each Docker image test of the suite by one skipped test that says why.

    These are the CDK's `test_docker_image_*` tests (build and spec, spec backward compatibility,
    build and check / config-matches-spec / discover / read). They are skipped, deliberately,
    because: no Docker engine runs in CI (a docker CLI exists, so the CDK's own `skipif` does not
    fire and they would fail), they build an image from the CDK's Dockerfile templates and
    metadata.yaml's base image (not this repository's Dockerfile), the backward-compatibility test
    fetches the published spec from the Airbyte registry over the network, and inside a container
    127.0.0.1 is not the host running the emulator.
    """
    for name in dir(DockerConnectorTestSuite):
        if name.startswith("test_docker_image"):

            @pytest.mark.skip(reason=DOCKER_SKIP_REASON)
            def skipped(self: Any) -> None:
                """Docker image test, skipped here (see `_without_docker_image_tests`)."""

            skipped.__name__ = skipped.__qualname__ = name
            setattr(cls, name, skipped)
    return cls


class _EmulatorScenarios:
    """Points every acceptance-test-config.yml scenario at its config rendered for the emulator."""

    @classmethod
    def get_connector_root_dir(cls) -> Path:
        return ROOT

    @classproperty
    def connector_name(cls) -> str:
        return "source-intercom"

    @classmethod
    def get_scenarios(cls) -> List[ConnectorTestScenario]:
        scenarios = super().get_scenarios()  # type: ignore[misc]  # parses and validates the file
        names = [s.config_path.name for s in scenarios if s.config_path]
        assert len(names) == len(set(names)), f"config file names must be unique: {names}"
        for scenario in scenarios:
            assert scenario.config_path and (ROOT / scenario.config_path).is_file(), scenario.config_path
        return [s.model_copy(update={"config_path": GENERATED_DIR / s.config_path.name}) for s in scenarios]

    @pytest.fixture(autouse=True)
    def _emulator(self, acceptance_configs: Path) -> None:
        """Every test of the suite runs while the emulator is up and the configs are rendered."""


@_without_docker_image_tests
class TestPythonPackage(_EmulatorScenarios, SourceTestSuiteBase):
    """The standard tests on the Python package's source class."""

    @classmethod
    def create_connector(cls, scenario: Optional[ConnectorTestScenario]) -> IConnector:
        config = scenario.get_config_dict(connector_root=ROOT, empty_if_missing=True) if scenario else {}
        return SourceIntercom(config=config)


@_without_docker_image_tests
class TestManifestOnly(_EmulatorScenarios, DeclarativeSourceTestSuite):
    """The standard tests on the same manifest.yaml and components.py, injected as the platform does."""

    @classproperty
    def manifest_yaml_path(cls) -> Path:
        return PACKAGE_DIR / "manifest.yaml"

    @classproperty
    def components_py_path(cls) -> Path:
        return PACKAGE_DIR / "components.py"

    @pytest.fixture(autouse=True)
    def _restore_process_state(self) -> Iterator[None]:
        """`DeclarativeSourceTestSuite.create_connector` sets AIRBYTE_ENABLE_UNSAFE_CODE in this
        process and the injected components replace `source_declarative_manifest.components` in
        sys.modules: both are put back afterwards, so other tests see the package's module."""
        saved_env = os.environ.get("AIRBYTE_ENABLE_UNSAFE_CODE")
        saved_modules = {name: sys.modules.get(name) for name in ("components", "source_declarative_manifest.components")}
        try:
            yield
        finally:
            if saved_env is None:
                os.environ.pop("AIRBYTE_ENABLE_UNSAFE_CODE", None)
            else:
                os.environ["AIRBYTE_ENABLE_UNSAFE_CODE"] = saved_env
            for name, module in saved_modules.items():
                if module is None:
                    sys.modules.pop(name, None)
                else:
                    sys.modules[name] = module
