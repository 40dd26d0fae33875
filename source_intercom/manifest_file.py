"""The manifest beside this file, parsed once per process, without importing airbyte_cdk (the
CLI's `spec` needs nothing more).

What start-up makes from files alone (the parsed manifest, the CDK's resolution of it, the CDK's
parsed component schema) is kept in ``__pycache__`` beside the manifest, the way Python keeps
compiled modules: each file (a pickle) is named after a hash of everything it was made from (the
manifest's bytes, the CDK's version and modules), so an edited manifest or another CDK makes it
anew, and a directory that cannot be written only costs the time to make it again. Parsing the
YAML takes about 0.1 CPU-s, the CDK's resolution 0.1 and its schema 0.05; reading each back takes
a few milliseconds.
"""

from __future__ import annotations

import contextlib
import hashlib
import pickle
import os
import sys
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, Mapping, TypeVar

import yaml

MANIFEST_PATH = Path(__file__).with_name("manifest.yaml")
DERIVED_DIRECTORY = MANIFEST_PATH.parent / "__pycache__"

T = TypeVar("T")


def derived_file(kind: str, inputs: Iterable[bytes]) -> Path:
    """Where what `kind` made from `inputs` is kept."""
    digest = hashlib.sha256()
    for part in inputs:
        digest.update(len(part).to_bytes(8, "big") + part)
    return DERIVED_DIRECTORY / f"{kind}.{sys.implementation.cache_tag}.{digest.hexdigest()[:32]}.pickle"


def derived(kind: str, inputs: Iterable[bytes], make: Callable[[], T]) -> T:
    """`make()`, read back from `derived_file(kind, inputs)` when it was made before (what pickle
    cannot write is made each time)."""
    path = derived_file(kind, inputs)
    with contextlib.suppress(Exception):  # none there yet, or damaged: made anew
        return pickle.loads(path.read_bytes())  # type: ignore[no-any-return]
    made = make()
    with contextlib.suppress(OSError, pickle.PicklingError, TypeError, AttributeError):
        _keep(path, pickle.dumps(made, protocol=pickle.HIGHEST_PROTOCOL))
    return made


def _keep(path: Path, content: bytes) -> None:
    """Writes the file whole or not at all (processes may start together), and removes what the
    same kind made from other inputs."""
    path.parent.mkdir(exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(content)
        os.chmod(temporary, 0o644)  # readable by all, as compiled modules are
        os.replace(temporary, path)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    kind = path.name.rsplit(".", 2)[0]
    for other in path.parent.glob(f"{kind}.*.pickle"):
        if other != path:
            with contextlib.suppress(OSError):
                other.unlink()


@lru_cache(maxsize=1)
def load_manifest() -> Mapping[str, Any]:
    """The parsed manifest (libyaml's safe loader when PyYAML has it, as airbyte_cdk parses YAML)."""
    text = MANIFEST_PATH.read_bytes()
    return derived("manifest", [text], lambda: yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)))


def spec_message() -> Dict[str, Any]:
    """The SPEC message the CDK builds from the manifest's `spec` block: the connection
    specification, the documentation URL and the OAuth flow, as the manifest writes them (the
    manifest spells out every value the CDK would otherwise fill in; a unit test compares the two)."""
    spec = load_manifest()["spec"]
    body: Dict[str, Any] = {"connectionSpecification": spec["connection_specification"]}
    if spec.get("documentation_url"):
        body["documentationUrl"] = spec["documentation_url"]
    body.update(supportsNormalization=False, supportsDBT=False)
    if spec.get("advanced_auth"):
        body["advanced_auth"] = spec["advanced_auth"]
    return {"type": "SPEC", "spec": body}
