"""The OpenAI Agents SDK on swarmstore: ``SwarmstoreSession``, a ``Session`` on our session events.

Needs the extra: ``pip install swarmstore[openai-agents]``.
"""

from .session import SwarmstoreSession

__all__ = ["SwarmstoreSession"]
