"""What the CLI does before it imports airbyte_cdk, to start in less CPU time.

- **No field docstrings.** Importing airbyte_cdk builds serpyco-rs serializers of the Airbyte
  protocol's models, and for each model serpyco-rs asks `attributes_doc` for its fields'
  docstrings, which reads and parses the models' source code: about a second of CPU, half of what
  `spec`, `check` or `discover` cost. serpyco-rs only writes those docstrings into descriptions of
  the JSON schema it can produce for a model, which neither the CDK nor the connector asks for; the
  serializers encode and decode the same without them. So the CLI process gives serpyco-rs no
  docstrings.
- **No optional cache back-ends.** airbyte_cdk imports requests-cache, which imports the AWS SDK
  (boto3, about 0.25 CPU-s) for its DynamoDB back-end whenever the SDK is installed (development
  extras bring it; the container image has none). The connector caches nothing in DynamoDB, so
  while airbyte_cdk is imported `import boto3` fails as if it were not installed (requests-cache
  then keeps a placeholder for that back-end); afterwards boto3 imports normally again.

Only the package's CLI does this (the manifest-only runtime starts its own process). If
`attributes_doc` is not there, or airbyte_cdk is already imported, nothing changes.
"""

from __future__ import annotations

import contextlib
import sys
from typing import Dict, Iterator

UNUSED_WHILE_THE_CDK_IMPORTS = ("boto3",)


def _no_docstrings(cls: type) -> Dict[str, str]:
    return {}


def skip_field_docstrings() -> bool:
    """Whether serpyco-rs will be built without the models' field docstrings."""
    if "serpyco_rs" in sys.modules:  # too late: its serializers keep the function they imported
        return False
    try:
        import attributes_doc
    except ImportError:
        return False
    attributes_doc.get_attributes_doc = _no_docstrings  # type: ignore[assignment]
    return True


@contextlib.contextmanager
def without_unused_packages() -> Iterator[None]:
    """While the block runs, the packages in UNUSED_WHILE_THE_CDK_IMPORTS fail to import (unless
    they are imported already); afterwards they import as usual."""
    hidden = [name for name in UNUSED_WHILE_THE_CDK_IMPORTS if name not in sys.modules]
    for name in hidden:
        sys.modules[name] = None  # type: ignore[assignment]  # `import name` raises ImportError
    try:
        yield
    finally:
        for name in hidden:
            if sys.modules.get(name, "") is None:
                del sys.modules[name]


def import_the_cdk() -> None:
    """Imports what the CLI needs from airbyte_cdk, prepared as above."""
    skip_field_docstrings()
    with without_unused_packages():
        import airbyte_cdk.entrypoint  # noqa: F401
        import airbyte_cdk.sources.declarative.concurrent_declarative_source  # noqa: F401
