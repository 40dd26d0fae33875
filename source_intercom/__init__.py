"""Airbyte source for Intercom, built on the airbyte-cdk declarative (low-code) framework."""

from source_intercom.source import SourceIntercom

__all__ = ["SourceIntercom"]
