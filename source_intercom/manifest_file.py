"""The manifest beside this file, parsed once per process, without importing airbyte_cdk (the
CLI's `spec` needs nothing more)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, Mapping

import yaml

MANIFEST_PATH = Path(__file__).with_name("manifest.yaml")


@lru_cache(maxsize=1)
def load_manifest() -> Mapping[str, Any]:
    """The parsed manifest (libyaml's safe loader when PyYAML has it, as airbyte_cdk parses YAML)."""
    return yaml.load(MANIFEST_PATH.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # type: ignore[no-any-return]


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
