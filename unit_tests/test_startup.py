"""The CLI's start-up: `spec` without airbyte_cdk, and the CDK imported without packages it does
not use (source_intercom/run.py, source_intercom/startup.py)."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from typing import List

from airbyte_cdk.models import AirbyteMessage, AirbyteMessageSerializer, Type

from source_intercom.manifest_file import spec_message
from source_intercom.source import SourceIntercom


def _python(code: str) -> List[str]:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=300).stdout.splitlines()


def test_the_spec_printed_without_the_cdk_is_the_spec_the_cdk_builds_from_the_manifest() -> None:
    built = SourceIntercom().spec(logging.getLogger("airbyte"))
    assert spec_message() == AirbyteMessageSerializer.dump(AirbyteMessage(type=Type.SPEC, spec=built))


def test_spec_imports_nothing_of_airbyte_cdk() -> None:
    printed = _python(
        "import sys; from source_intercom.run import run; run(['spec']); "
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'airbyte_cdk'))"
    )
    assert json.loads(printed[0])["type"] == "SPEC" and printed[1] == "[]"


def test_the_aws_sdk_stays_unimported_while_the_cdk_imports_and_imports_afterwards() -> None:
    printed = _python(
        "import sys; from source_intercom.startup import import_the_cdk; import_the_cdk(); "
        "print('airbyte_cdk.entrypoint' in sys.modules, 'boto3' in sys.modules); "
        "import importlib.util; print(importlib.util.find_spec('boto3') is not None)"
    )
    assert printed[0] == "True False"
    if printed[1] == "True":  # installed (the development extras): it imports as usual afterwards
        assert _python("from source_intercom.startup import import_the_cdk; import_the_cdk(); import boto3; print(boto3.__name__)") == ["boto3"]
