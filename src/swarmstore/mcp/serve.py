"""Running the server: stdio (the default), or streamable HTTP, with a bearer token off loopback.

Nothing but the protocol goes to stdout: logs go to stderr.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import sys
from typing import Any

from ..errors import InvalidInput
from .server import SwarmstoreMCP

log = logging.getLogger("swarmstore.mcp")


def is_loopback(host: str) -> bool:
    """Whether ``host`` only accepts connections from this machine (127.0.0.0/8, ::1, localhost)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # (a host name: it may resolve to anything)


def check_http_options(host: str, token: str | None) -> None:
    """Refuse to serve beyond this machine without a bearer token."""
    if not is_loopback(host) and not token:
        raise InvalidInput(
            "token",
            f"serving on {host} (not loopback) needs a bearer token: pass --token or set SWARMSTORE_MCP_TOKEN",
        )
    if token is not None and len(token) < 16:
        raise InvalidInput("token", "a bearer token needs at least 16 characters")


class BearerAuth:
    """ASGI middleware: every HTTP request must carry ``Authorization: Bearer <token>`` (compared in
    constant time), else 401 before the MCP app sees it."""

    def __init__(self, app: Any, token: str) -> None:
        self.app = app
        self._expected = b"Bearer " + token.encode()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            given = b""
            for name, value in scope.get("headers", ()):
                if name == b"authorization":
                    given = value
                    break
            if not hmac.compare_digest(given, self._expected):
                body = b'{"error": "unauthorized: send Authorization: Bearer <token>"}'
                await send(
                    {
                        "type": "http.response.start",
                        "status": 401,
                        "headers": [
                            (b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode()),
                            (b"www-authenticate", b'Bearer realm="swarmstore"'),
                        ],
                    }
                )
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)


async def run_stdio(server: SwarmstoreMCP) -> None:
    await server.run_stdio_async()


async def run_http(server: SwarmstoreMCP, host: str, port: int, token: str | None) -> None:
    """Streamable HTTP at ``http://host:port/mcp``; with ``token``, only for requests bearing it."""
    import uvicorn

    check_http_options(host, token)
    app: Any = server.streamable_http_app(host=host)
    if token:
        app = BearerAuth(app, token)
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False)
    print(f"swarmstore mcp: serving http://{host}:{port}/mcp", file=sys.stderr, flush=True)
    await uvicorn.Server(config).serve()
