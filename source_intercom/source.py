"""The Python-package form of the connector: the manifest beside this file, loaded by the CDK."""

import sys
from pathlib import Path
from typing import Any, List, Mapping, Optional

from airbyte_cdk.models import ConfiguredAirbyteCatalog
from airbyte_cdk.sources.declarative.yaml_declarative_source import YamlDeclarativeSource
from airbyte_cdk.sources.source import TState

from source_intercom import components

MANIFEST_PATH = Path(__file__).with_name("manifest.yaml")

# The manifest names its custom classes the way the Airbyte platform loads them in manifest-only
# mode (`source_declarative_manifest.components.X`); the package serves the same module there.
sys.modules.setdefault("source_declarative_manifest.components", components)


class SourceIntercom(YamlDeclarativeSource):
    def __init__(
        self,
        catalog: Optional[ConfiguredAirbyteCatalog] = None,
        config: Optional[Mapping[str, Any]] = None,
        state: Optional[List[TState]] = None,
        config_path: Optional[str] = None,
    ) -> None:
        super().__init__(
            path_to_yaml=str(MANIFEST_PATH),
            catalog=catalog,
            config=config,
            state=state,
            config_path=config_path,
        )
