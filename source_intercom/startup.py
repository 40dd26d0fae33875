"""What the CLI does before it imports airbyte_cdk, to start in less CPU time.

Importing airbyte_cdk builds serpyco-rs serializers of the Airbyte protocol's models, and for each
model serpyco-rs asks `attributes_doc` for its fields' docstrings, which reads and parses the
models' source code: about a second of CPU, half of what `spec`, `check` or `discover` cost.
serpyco-rs only writes those docstrings into descriptions of the JSON schema it can produce for a
model, which neither the CDK nor the connector asks for; the serializers encode and decode the
same without them. So the CLI process gives serpyco-rs no docstrings. Only the package's CLI does
this (the manifest-only runtime starts its own process); if `attributes_doc` is not there, or
airbyte_cdk is already imported, nothing changes.
"""

from __future__ import annotations

import sys
from typing import Dict


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
