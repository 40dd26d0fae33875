"""The Python-package form of the connector: the manifest beside this file, loaded by the CDK."""

import contextlib
import copy
import json
import logging
import os
import pickle
import pkgutil
import sys
from typing import Any, Callable, Dict, Iterator, List, Mapping, Optional, Tuple

from airbyte_cdk.models import AirbyteCatalog, AirbyteMessage, AirbyteStateMessage, AirbyteStateMessageSerializer, ConfiguredAirbyteCatalog
from airbyte_cdk.sources.declarative.concurrent_declarative_source import ConcurrentDeclarativeSource
from airbyte_cdk.sources.streams.concurrent.abstract_stream import AbstractStream
from airbyte_cdk.sources.source import TState

from source_intercom import components
from source_intercom.catalog import airbyte_stream
from source_intercom.dynamic_streams import mapped_fields_set_directly
from source_intercom.manifest_file import derived, load_manifest

RECORDS_WAITING_FOR_STDOUT = 1_000

# The manifest names its custom classes the way the Airbyte platform loads them in manifest-only
# mode (`source_declarative_manifest.components.X`); the package serves the same module there.
sys.modules.setdefault("source_declarative_manifest.components", components)


def _resolution_inputs(manifest: Mapping[str, Any]) -> List[bytes]:
    """What the CDK's resolution of a manifest depends on: the manifest (pickled: equal bytes
    are an equal manifest) and the CDK (its version, and its modules that resolve, for a CDK
    changed in place)."""
    import airbyte_cdk
    from airbyte_cdk.sources.declarative.parsers import manifest_component_transformer, manifest_reference_resolver

    modules = (sys.modules[ConcurrentDeclarativeSource.__module__], manifest_component_transformer, manifest_reference_resolver)
    stats = [os.stat(str(module.__file__)) for module in modules]
    return [
        pickle.dumps(manifest, protocol=pickle.HIGHEST_PROTOCOL),
        str(airbyte_cdk.__version__).encode(),
        repr([(stat.st_size, stat.st_mtime_ns) for stat in stats]).encode(),
    ]


COMPONENT_SCHEMA = ("airbyte_cdk", "sources/declarative/declarative_component_schema.yaml")


@contextlib.contextmanager
def _component_schema_kept_parsed() -> Iterator[None]:
    """While the CDK builds the source, the component schema it parses at every start (about
    0.05 CPU-s; only the validation, which the package skips, and the Builder's normalization read
    it) is read back as manifest_file keeps the manifest, made by the CDK's own function."""
    module = sys.modules[ConcurrentDeclarativeSource.__module__]
    found = components.cdk_reliance(
        "the CDK's component schema kept parsed",
        lambda: (module.get_declarative_component_schema, pkgutil.get_data(*COMPONENT_SCHEMA) or b""),
    )
    if found is None:
        yield
        return
    parse, text = found
    module.get_declarative_component_schema = lambda: derived("component-schema", [text], parse)
    try:
        yield
    finally:
        module.get_declarative_component_schema = parse


class SourceIntercom(ConcurrentDeclarativeSource):
    def __init__(
        self,
        catalog: Optional[ConfiguredAirbyteCatalog] = None,
        config: Optional[Mapping[str, Any]] = None,
        state: Optional[List[TState]] = None,
        config_path: Optional[str] = None,
    ) -> None:
        with _component_schema_kept_parsed():
            super().__init__(
                catalog=catalog or ConfiguredAirbyteCatalog(streams=[]),
                config=config or {},
                state=state or [],
                source_config=copy.deepcopy(dict(load_manifest())),  # the CDK resolves it in place
                config_path=config_path,
            )
        # The CDK's queue from its workers to the main thread, which writes each record to stdout,
        # holds up to 10,000 items. When the main thread is the slower side (a fast network), it
        # fills with records: 10,000 contacts hold tens of megabytes. A shorter queue keeps the main
        # thread as busy and the workers wait sooner (the CDK's main thread never blocks on it).
        components.cdk_reliance("a shorter queue of records waiting for stdout (the concurrent source's _queue)", self._shorten_the_record_queue)

    def _pre_process_manifest(self, manifest: Dict[str, Any]) -> Dict[str, Any]:
        """The CDK's resolution of the manifest ($refs, types and $parameters spread to every
        component: about 0.1 CPU-s), made once per manifest and CDK and read back after
        (source_intercom/manifest_file.py). Manifest-only runs resolve as usual."""
        inputs = components.cdk_reliance("the resolved manifest kept beside it", lambda: _resolution_inputs(manifest))
        if inputs is None:
            return super()._pre_process_manifest(manifest)
        return derived("resolved-manifest", inputs, lambda: super(SourceIntercom, self)._pre_process_manifest(manifest))

    def _validate_source(self) -> None:
        """Not on every start: the package's manifest is the one the tests validate against the
        CDK's component schema (unit_tests/test_manifest_structure.py), and the validation (the
        schema's YAML and a walk of the whole manifest) costs about a tenth of `check`'s CPU.
        Manifest-only runs, and a CDK that no longer calls this method, validate as usual."""

    def discover(self, logger: logging.Logger, config: Mapping[str, Any]) -> AirbyteCatalog:
        """The CDK's catalog, written from the stream definitions the CDK resolves (the manifest's
        streams, and the reporting datasets' from their list) without building each stream
        (source_intercom/catalog.py). The same steps as the CDK's `streams()` up to the building:
        the config's validations, then the definitions; errors surface as they do there."""
        steps = components.cdk_reliance("the catalog written from the resolved stream definitions", self._stream_definition_steps)
        if steps is None:
            return super().discover(logger, config)
        prepare, static_definitions, build = steps
        prepare()
        definitions = static_definitions(self._source_config) + self.dynamic_streams
        described = [airbyte_stream(definition, self._config) for definition in definitions]
        if any(stream is None for stream in described):  # a definition catalog.py does not read
            return AirbyteCatalog(streams=[stream.as_airbyte_stream() for stream in build(definitions, definitions)])
        return AirbyteCatalog(streams=described)  # type: ignore[arg-type]  # none is None

    def read(
        self,
        logger: logging.Logger,
        config: Mapping[str, Any],
        catalog: ConfiguredAirbyteCatalog,
        state: Optional[List[AirbyteStateMessage]] = None,
    ) -> Iterator[AirbyteMessage]:
        """The CDK's read of the catalog's streams, building only those (the CDK builds all 33
        and the reporting datasets', about 0.3 CPU-s, and lists the datasets although the catalog
        holds none of them). A catalog stream the source does not have is reported INCOMPLETE as
        the CDK does."""
        steps = components.cdk_reliance("only the catalog's streams built for a read", self._stream_definition_steps)
        if steps is None:
            yield from super().read(logger, config, catalog, state)
            return
        selected = self._select_streams(streams=self._catalog_streams(catalog, *steps), configured_catalog=catalog)
        if selected:  # none: as the CDK, which would otherwise wait forever
            yield from self._concurrent_source.read(selected)

    def _catalog_streams(self, catalog: ConfiguredAirbyteCatalog, prepare: Callable[[], None], static_definitions: Callable[..., List[Dict[str, Any]]],
                         build: Callable[..., List[Any]]) -> List[AbstractStream]:
        """The streams the catalog names, built with the CDK's steps of `streams()` (see
        _stream_definition_steps): the config's validations first (their errors surface as
        there), the reporting datasets' definitions only when the catalog names a stream that is
        not in the manifest."""
        names = {configured.stream.name for configured in catalog.streams}
        prepare()
        definitions = static_definitions(self._source_config)
        if not names <= {definition.get("name") for definition in definitions}:
            definitions = definitions + self.dynamic_streams
        return build([definition for definition in definitions if definition.get("name") in names], definitions)  # type: ignore[no-any-return]

    @property
    def dynamic_streams(self) -> List[Dict[str, Any]]:
        """The CDK's resolution of the reporting datasets' streams, with their mapped fields set
        directly (source_intercom/dynamic_streams.py)."""
        with mapped_fields_set_directly():
            return super().dynamic_streams  # type: ignore[no-any-return]

    def _stream_definition_steps(self) -> Tuple[Callable[[], None], Callable[..., List[Dict[str, Any]]], Callable[..., List[Any]]]:
        """The CDK's steps of `streams()`: validate the config (and set the API budget), list the
        static definitions, build streams from definitions."""
        assert type(self).streams is ConcurrentDeclarativeSource.streams, "streams() overridden"
        return self._prepare_for_stream_build, self._stream_configs, self._create_streams

    def _shorten_the_record_queue(self) -> None:
        record_queue = self._concurrent_source._queue
        assert isinstance(record_queue.maxsize, int)
        record_queue.maxsize = RECORDS_WAITING_FOR_STDOUT

    @classmethod
    def read_state(cls, state_path: str) -> List[AirbyteStateMessage]:
        """Per-stream state messages. The older whole-file form ``{stream: state}`` and LEGACY
        messages (``{"type": "LEGACY", "data": {stream: state}}``) become per-stream messages."""
        if not state_path:
            return []
        with open(state_path) as file:
            content = json.load(file)
        legacy: Dict[str, Any] = dict(content) if isinstance(content, dict) else {}
        messages = content if isinstance(content, list) else []
        for message in messages:
            if isinstance(message, dict) and message.get("type") == "LEGACY":
                legacy.update(message.get("data") or {})
        messages = [m for m in messages if not (isinstance(m, dict) and m.get("type") == "LEGACY")]
        messages += [{"type": "STREAM", "stream": {"stream_descriptor": {"name": name}, "stream_state": state}} for name, state in legacy.items()]
        return [AirbyteStateMessageSerializer.load(message) for message in messages]
