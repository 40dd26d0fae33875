"""Kept for code that imports ``intercom_emulator.data``: the names it used to define."""
from .records import PART_CAP, id_sort_key
from .sizes import PRESETS, WorkspaceSizes
from .workspace import ALL_STREAMS, FULL_STREAMS, INCREMENTAL_STREAMS, Workspace

__all__ = ["ALL_STREAMS", "FULL_STREAMS", "INCREMENTAL_STREAMS", "PART_CAP", "PRESETS", "Workspace", "WorkspaceSizes",
           "id_sort_key"]
