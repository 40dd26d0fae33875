"""The reporting datasets' streams (the manifest's `dynamic_streams`), resolved by the CDK with a
direct setter for their mapped fields.

The CDK's HttpComponentsResolver writes each ComponentMappingDefinition's value into a copy of the
stream template with `dpath.set(template, field_path, value)`. dpath sets by glob: for each value it
walks every node of the template and checks each against typing's abstract classes. The reporting
template has about 430 nodes and 6 mappings, so each dataset costs some 2,600 node visits: 80% of
resolving the dynamic streams (about 35 ms of CPU per dataset, at every `check`, `discover` and
`read` of a token with the reporting scope). A field path without glob characters names one node,
which `DirectPaths.set` sets directly, as dpath would (only where the path exists); anything else
goes to dpath. Only the package's CLI does this, and only while the CDK resolves those streams.
"""

from __future__ import annotations

import contextlib
import sys
from types import ModuleType
from typing import Any, Iterator, Optional

import dpath

from source_intercom import components

GLOB_CHARACTERS = frozenset("*?[]")
RESOLVER_MODULE = "airbyte_cdk.sources.declarative.resolvers.http_components_resolver"


class DirectPaths:
    """Stands for the dpath module: `set` of a path of plain keys that exists sets that one node;
    everything else is dpath's own."""

    def __getattr__(self, name: str) -> Any:
        return getattr(dpath, name)

    def set(self, obj: Any, glob: Any, value: Any, separator: str = "/", afilter: Optional[Any] = None) -> int:
        parent = obj if afilter is None and _plain_keys(glob) else None
        for key in glob[:-1] if parent is not None else ():
            parent = parent.get(key) if isinstance(parent, dict) else None
        if isinstance(parent, dict) and glob[-1] in parent:
            parent[glob[-1]] = value
            return 1
        return dpath.set(obj, glob, value, separator, afilter)  # a glob, or a path that is not there


def _plain_keys(path: Any) -> bool:
    return isinstance(path, (list, tuple)) and bool(path) and all(isinstance(key, str) and key and not GLOB_CHARACTERS & set(key) for key in path)


def _resolver_module() -> ModuleType:
    module = sys.modules.get(RESOLVER_MODULE) or __import__(RESOLVER_MODULE, fromlist=["_"])
    assert getattr(module, "dpath", None) is dpath, "the resolver no longer sets fields with dpath"
    return module


@contextlib.contextmanager
def mapped_fields_set_directly() -> Iterator[None]:
    """While the block runs, the CDK's HttpComponentsResolver sets mapped fields with DirectPaths."""
    module = components.cdk_reliance("the dynamic streams' mapped fields set directly (not by dpath's glob walk)", _resolver_module)
    if module is None:
        yield
        return
    module.dpath = DirectPaths()  # type: ignore[attr-defined]
    try:
        yield
    finally:
        module.dpath = dpath  # type: ignore[attr-defined]
