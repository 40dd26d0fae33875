"""Airbyte source for Intercom, built on the airbyte-cdk declarative (low-code) framework."""

from typing import Any

__all__ = ["SourceIntercom"]


def __getattr__(name: str) -> Any:
    # Imported on first use, so that `source-intercom` (source_intercom.run) can prepare the
    # CDK's import before anything imports airbyte_cdk (see source_intercom/startup.py).
    if name == "SourceIntercom":
        from source_intercom.source import SourceIntercom

        return SourceIntercom
    raise AttributeError(f"module 'source_intercom' has no attribute {name!r}")
