"""LangGraph on swarmstore: ``SwarmstoreSaver`` (checkpoints) and ``SwarmstoreStore`` (long-term memory)."""

from .checkpoint import SwarmstoreSaver
from .embeddings import LangChainEmbedder
from .keys import decode_label, encode_label
from .store import SwarmstoreStore

__all__ = ["LangChainEmbedder", "SwarmstoreSaver", "SwarmstoreStore", "decode_label", "encode_label"]
