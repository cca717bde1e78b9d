"""Copying a whole store between engines (``swarmstore copy``): table by table, verified."""

from __future__ import annotations

from .copy import CopyReport, Progress, TableReport, copy_store, store_checksums

__all__ = ["CopyReport", "Progress", "TableReport", "copy_store", "store_checksums"]
