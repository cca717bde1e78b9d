"""LangGraph on swarmstore: ``SwarmstoreSaver`` (checkpoints) and ``SwarmstoreStore`` (long-term memory)."""

from .checkpoint import SwarmstoreSaver

__all__ = ["SwarmstoreSaver"]
