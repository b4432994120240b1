"""The HTTP server under the local API: uvicorn, with deadlines it does not have on its own.

uvicorn closes an idle keep-alive connection after ``timeout_keep_alive``
but waits forever for a request's headers: a client that connects and sends
nothing, or one header byte a minute ("slowloris"), holds a connection for
good.  :class:`DeadlineH11Protocol` closes a connection whose request line
and headers are not complete ``header_seconds`` after it opened (or after the
previous response).  uvicorn takes the protocol class through its ``http``
setting; the rest is its own h11 implementation.

It also caps open connections at ``max_connections``: a connection opened past
the cap has its requests answered 503 (JSON, ``Retry-After``) and is closed.
Header size is bounded by h11 (16 KiB of incomplete headers), and bodies by
:class:`stella_desktop.api_limits.BodyGuard`.
"""

from __future__ import annotations

import asyncio
import socket

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from core import json_text
from stella_desktop.api_access import send_json
from stella_desktop.api_limits import Limits

KEEP_ALIVE_SECONDS = 5


class DeadlineH11Protocol(H11Protocol):
    """uvicorn's h11 protocol, closing connections whose headers do not arrive in time."""

    header_seconds = Limits().header_seconds
    max_connections = Limits().max_connections

    def connection_made(self, transport) -> None:  # type: ignore[override]
        self._header_deadline: asyncio.TimerHandle | None = None
        super().connection_made(transport)
        if len(self.connections) > self.max_connections:
            self.app = over_capacity  # this connection's requests get a JSON 503; the others are unaffected
        self._watch_headers()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        self._watch_headers()

    def on_response_complete(self) -> None:
        self._cancel_deadline()  # a new deadline starts for the next request's headers
        super().on_response_complete()
        self._watch_headers()

    def connection_lost(self, exc) -> None:
        self._cancel_deadline()
        super().connection_lost(exc)

    def send_400_response(self, msg: str) -> None:
        """uvicorn's answer to bytes that are not HTTP, as JSON like every other error."""
        body = json_text.canonical({"detail": f"{msg.rstrip('.')}: the request is not valid HTTP/1.1"})
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                   (b"connection", b"close")]
        for event in (h11.Response(status_code=400, headers=headers, reason=b"Bad Request"),
                      h11.Data(data=body), h11.EndOfMessage()):
            self.transport.write(self.conn.send(event))
        self.transport.close()

    def _watch_headers(self) -> None:
        """A deadline while the client owes us headers; none while a request is in progress."""
        waiting = self.conn.their_state is h11.IDLE and not self.transport.is_closing()
        if waiting and self._header_deadline is None:
            self._header_deadline = self.loop.call_later(self.header_seconds, self._headers_too_slow)
        elif not waiting:
            self._cancel_deadline()

    def _cancel_deadline(self) -> None:
        if getattr(self, "_header_deadline", None) is not None:
            self._header_deadline.cancel()
            self._header_deadline = None

    def _headers_too_slow(self) -> None:
        self._header_deadline = None
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            self.transport.close()


async def over_capacity(scope, receive, send) -> None:
    await send_json(send, 503, {"detail": "the server has too many connections open; try again shortly"},
                    [(b"retry-after", b"1")], close=True)


def protocol_for(limits: Limits) -> type[DeadlineH11Protocol]:
    return type("BoundDeadlineH11Protocol", (DeadlineH11Protocol,),
                {"header_seconds": limits.header_seconds, "max_connections": limits.max_connections})


def server_for(app, host: str, port: int, limits: Limits, log_level: str = "warning") -> uvicorn.Server:
    config = uvicorn.Config(app, host=host, port=port, log_level=log_level, http=protocol_for(limits),
                            ws="none",
                            timeout_keep_alive=KEEP_ALIVE_SECONDS, server_header=False)
    return uvicorn.Server(config)


def bound_socket(host: str, port: int) -> socket.socket:
    """A listening socket (port 0: a free one), for callers that need the port before serving."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    sock.set_inheritable(True)
    return sock
