"""The ``source-intercom`` console script: ``spec``, ``check``, ``discover`` and ``read``.

airbyte-cdk 7.x declarative sources must be given config, catalog and state when they are built
(``launch(Source(), args)`` alone silently ignores ``--state``), so they are read here first.
The config is checked before the source is built, with messages that name the field to fix.

``spec`` is the manifest's spec block, printed without importing airbyte_cdk (a unit test keeps
it equal to the CDK's). The other commands import airbyte_cdk the way source_intercom/startup.py
prepares it, and only then the modules that build on it; once done, they leave their heap to the
exit without a last walk of the garbage collector (leave_the_heap_to_the_exit). A read moves what
it holds throughout out of the collector's walks before it starts (settle_the_heap_before_reading).
"""

from __future__ import annotations

import gc
import sys
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, List, Mapping, Optional

import orjson

from source_intercom.manifest_file import load_manifest, spec_message
from source_intercom.startup import import_the_cdk

if TYPE_CHECKING:
    from airbyte_cdk.models import AirbyteMessage, FailureType

    from source_intercom.source import SourceIntercom


def connection_specification() -> Mapping[str, Any]:
    return load_manifest()["spec"]["connection_specification"]  # type: ignore[no-any-return]


def _emit(message: AirbyteMessage) -> None:
    from airbyte_cdk.models import AirbyteMessageSerializer

    print(orjson.dumps(AirbyteMessageSerializer.dump(message)).decode(), flush=True)


def _fail(command: str, message: str, failure_type: Optional[FailureType] = None) -> None:
    """Report a problem found before the source could be built, the way the protocol expects it
    (a config error unless said otherwise)."""
    from airbyte_cdk.models import (
        AirbyteConnectionStatus,
        AirbyteErrorTraceMessage,
        AirbyteMessage,
        AirbyteTraceMessage,
        FailureType,
        Status,
        TraceType,
        Type,
    )

    failure_type = failure_type or FailureType.config_error
    if command == "check" and failure_type == FailureType.config_error:
        _emit(AirbyteMessage(type=Type.CONNECTION_STATUS, connectionStatus=AirbyteConnectionStatus(status=Status.FAILED, message=message)))
        sys.exit(0)
    trace = AirbyteTraceMessage(
        type=TraceType.ERROR,
        emitted_at=datetime.now(timezone.utc).timestamp() * 1000,
        error=AirbyteErrorTraceMessage(message=message, internal_message=message, failure_type=failure_type),
    )
    _emit(AirbyteMessage(type=Type.TRACE, trace=trace))
    sys.exit(1)


def _load(what: str, path: Optional[str], reader: Any, command: str) -> Any:
    if not path:
        return None
    try:
        return reader(path)
    except Exception as error:  # noqa: BLE001 - any unreadable input is the user's to fix
        _fail(command, f"Could not read the {what} file '{path}' ({type(error).__name__}): check that it exists and holds a valid Airbyte {what} in JSON.")


def build_source(args: List[str]) -> SourceIntercom:
    from airbyte_cdk.entrypoint import AirbyteEntrypoint

    from source_intercom.components import describe_config_problems
    from source_intercom.source import SourceIntercom

    command = args[0] if args else ""
    config_path = AirbyteEntrypoint.extract_config(args)
    config = _load("config", config_path, SourceIntercom.read_config, command)
    if config is not None:
        problems = describe_config_problems(config, connection_specification())
        if problems:
            _fail(command, " ".join(problems))
    catalog = _load("catalog", AirbyteEntrypoint.extract_catalog(args), SourceIntercom.read_catalog, command)
    state = _load("state", AirbyteEntrypoint.extract_state(args), SourceIntercom.read_state, command)
    return SourceIntercom(catalog=catalog, config=config, state=state, config_path=config_path)


def run(args: Optional[List[str]] = None) -> None:
    args = sys.argv[1:] if args is None else args
    if args == ["spec"]:
        print(orjson.dumps(spec_message()).decode(), flush=True)
        return
    import_the_cdk()
    from airbyte_cdk.entrypoint import launch

    from source_intercom.heap import keep_heap_compact

    reading = args[:1] == ["read"]
    if reading:
        keep_heap_compact()
    try:
        source = build_source(args)
        if reading:
            settle_the_heap_before_reading()
        launch(source, args)
    finally:
        leave_the_heap_to_the_exit()


def settle_the_heap_before_reading() -> None:
    """What a read holds from its start to its end (the CDK's modules, classes and models, the
    manifest, the source: about 300,000 objects the garbage collector tracks) is moved out of its
    reach (`gc.freeze`). A read makes container objects by the million (each page's records), so
    the collector runs its full collections many times, and each walked all of those for nothing:
    about 0.3 CPU-s of 20,000 contacts. Objects made after this point are collected as usual."""
    gc.freeze()


def leave_the_heap_to_the_exit() -> None:
    """Once the command is done, the objects the process holds (the CDK's modules, classes and
    models: about 100,000 that the garbage collector tracks) are moved out of its reach
    (`gc.freeze`), so that the interpreter's exit does not walk them in its last collections:
    about 0.3 CPU-s, a fifth of `check`. The exit still runs atexit handlers, flushes the streams
    and clears the modules; only cycles left unreachable by then are not collected, as the process
    ends anyway."""
    gc.freeze()


if __name__ == "__main__":
    run()
