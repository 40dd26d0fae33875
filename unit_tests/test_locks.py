"""The two locks agree: the container image (requirements/runtime-lock.txt) gets the versions that
CI installs and tests (requirements/lock.txt), and every package the connector needs at run time."""

from __future__ import annotations

import re
from importlib import metadata
from typing import Dict, Iterator, Set, Tuple

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tools.bootstrap import LOCK, RUNTIME_LOCK

PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^\s;\\]+)", re.MULTILINE)


def pinned_versions(lock_text: str) -> Dict[str, Set[str]]:
    """Each package's pinned versions (several where markers pick one per Python)."""
    pins: Dict[str, Set[str]] = {}
    for name, version in PIN.findall(lock_text):
        pins.setdefault(canonicalize_name(name), set()).add(version)
    return pins


def runtime_requirements(distribution: str, extras: Tuple[str, ...] = ()) -> Iterator[Tuple[str, Tuple[str, ...]]]:
    """The distributions ``distribution`` (with ``extras``) needs on this interpreter, directly."""
    for text in metadata.requires(distribution) or []:
        requirement = Requirement(text)
        wanted = requirement.marker is None or any(requirement.marker.evaluate({"extra": extra}) for extra in ("", *extras))
        if wanted:
            yield canonicalize_name(requirement.name), tuple(sorted(requirement.extras))


def test_the_images_lock_pins_the_versions_ci_installs() -> None:
    ci, image = pinned_versions(LOCK.read_text()), pinned_versions(RUNTIME_LOCK.read_text())
    differing = {name: (versions, ci.get(name)) for name, versions in image.items() if not versions <= ci.get(name, set())}
    assert not differing, f"the image would run other versions than CI tests: {differing}; refresh both with `python3 tools/bootstrap.py lock`"


def test_the_images_lock_pins_every_package_the_connector_needs_and_its_build_backend() -> None:
    pinned = pinned_versions(RUNTIME_LOCK.read_text())
    seen: Set[Tuple[str, Tuple[str, ...]]] = set()
    queue = [("source-intercom", ())]
    while queue:
        name, extras = queue.pop()
        if (name, extras) in seen:
            continue
        seen.add((name, extras))
        queue.extend(runtime_requirements(name, extras))
    needed = {name for name, _ in seen} - {"source-intercom"}
    assert "airbyte-cdk" in needed
    missing = sorted(needed - set(pinned))
    assert not missing, f"the image's lock pins no {missing}; refresh it with `python3 tools/bootstrap.py lock`"
    assert "setuptools" in pinned, "the image builds the project without build isolation: the lock must pin setuptools"
    dev_only = {"pytest", "airbyte", "duckdb", "hypothesis"} & set(pinned)
    assert not dev_only, f"the image's lock holds dev packages: {sorted(dev_only)}"
