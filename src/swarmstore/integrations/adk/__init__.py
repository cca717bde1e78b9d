"""Google ADK on swarmstore: ``SwarmstoreSessionService`` and ``SwarmstoreMemoryService``.

Needs the ``adk`` extra (``pip install "swarmstore[adk]"``).
"""

from .memory import SwarmstoreMemoryService
from .sessions import SwarmstoreSessionService

__all__ = ["SwarmstoreMemoryService", "SwarmstoreSessionService"]
