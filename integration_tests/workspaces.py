"""The emulator workspaces the tests share: their sizes, seeds and tokens.

Importable from any test module (``from integration_tests.workspaces import SMALL``); the root
``conftest.py`` only turns them into fixtures.
"""

from __future__ import annotations

from typing import Any

from intercom_emulator import Workspace, WorkspaceSizes

# The shared small workspace: every stream has records, the companies scroll has three pages of 50
# and the empty one that ends it, and one conversation and one ticket go past Intercom's 500-part
# cap (the emulator's defaults for the rest).
SMALL = WorkspaceSizes(
    admins=5, teams=3, tags=12, segments=6, companies=120, company_segments_per_company=2, contacts=400,
    conversations=150, parts_per_conversation=8, activity_logs=300, tickets=60,
)
SMALL_SEED = 7
SMALL_SPAN_DAYS = 400
TOKEN = "test-token-0123456789"


def small_workspace(**overrides: Any) -> Workspace:
    """A fresh copy of the shared small workspace (``overrides``: other Workspace arguments)."""
    arguments = {"seed": SMALL_SEED, "sizes": SMALL, "span_days": SMALL_SPAN_DAYS, **overrides}
    return Workspace(**arguments)
