"""What one request, and all requests together, may cost the local API: size, time and memory.

:class:`BodyGuard` is ASGI middleware around the whole application (every
endpoint, including ones added later, inherits it).  It reads the request
body itself, before the application sees it:

* a body over ``max_body`` (declared in ``Content-Length`` or counted as a
  chunked body streams in) gets **413**;
* a body that has not fully arrived ``body_seconds`` after the headers gets
  **408** and the connection is closed (a stalled upload holds nothing);
* all bodies being received at once share ``body_memory`` bytes: a request
  that would pass it gets **503** with ``Retry-After`` instead of memory.

The header-read deadline and the connection cap live in the server
(:mod:`stella_desktop.api_server`), since no application sees a request
before its headers are complete.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from stella_desktop.api_access import send_json

MiB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    max_body: int = 10 * MiB
    body_seconds: float = 30.0  # the whole body, from the end of the headers
    header_seconds: float = 10.0  # the whole request line and headers, from the first byte (or the last response)
    body_memory: int = 64 * MiB  # every body being received at the same time, together
    max_connections: int = 64  # open connections; requests on one opened past this get 503


class MemoryBudget:
    """Bytes shared by the bodies in flight (one event loop: no lock needed)."""

    def __init__(self, total: int):
        self.total = total
        self.used = 0

    def take(self, amount: int) -> bool:
        if self.used + amount > self.total:
            return False
        self.used += amount
        return True

    def give(self, amount: int) -> None:
        self.used -= amount


class _Refused(Exception):
    def __init__(self, status: int, message: str, headers=()):
        super().__init__(message)
        self.status = status
        self.headers = list(headers)


class BodyGuard:
    """ASGI middleware enforcing :class:`Limits` on request bodies (see the module docstring)."""

    def __init__(self, app, limits: Limits):
        self.app = app
        self.limits = limits
        self.budget = MemoryBudget(limits.body_memory)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        reserved = 0
        try:
            declared = self._declared_length(scope)
            if declared:
                if not self.budget.take(declared):
                    raise self._busy()
                reserved = declared
            body, reserved = await self._read_body(receive, reserved)
        except _Refused as refused:
            return await send_json(send, refused.status, {"detail": str(refused)}, refused.headers, close=True)
        except _Disconnected:
            return None
        delivered = False

        async def replay():
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()  # after the body: disconnect notices, as before

        try:
            await self.app(scope, replay, send)
        finally:  # the application is done with the body
            self.budget.give(reserved)

    def _declared_length(self, scope) -> int | None:
        values = [value for key, value in scope["headers"] if key.lower() == b"content-length"]
        if not values:
            return None
        if len(values) != 1 or not values[0].isdigit():
            raise _Refused(400, "the Content-Length header is not a single whole number")
        declared = int(values[0])
        if declared > self.limits.max_body:
            raise self._too_large()
        return declared

    async def _read_body(self, receive, reserved: int) -> tuple[bytes, int]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.limits.body_seconds
        chunks: list[bytes] = []
        received = 0
        try:
            while True:
                try:
                    message = await asyncio.wait_for(receive(), max(deadline - loop.time(), 0))
                except TimeoutError:
                    raise _Refused(408, f"the request body did not arrive within {self.limits.body_seconds:g} s")\
                        from None
                if message["type"] == "http.disconnect":
                    raise _Disconnected()
                chunk = message.get("body", b"")
                received += len(chunk)
                if received > self.limits.max_body:
                    raise self._too_large()
                if received > reserved:
                    if not self.budget.take(received - reserved):
                        raise self._busy()
                    reserved = received
                if chunk:
                    chunks.append(chunk)
                if not message.get("more_body", False):
                    return b"".join(chunks), reserved
        except BaseException:
            self.budget.give(reserved)
            raise

    def _too_large(self) -> _Refused:
        return _Refused(413, f"the request body is larger than {self.limits.max_body // MiB} MiB")

    def _busy(self) -> _Refused:
        return _Refused(503, "the server is receiving too many large bodies at once; try again shortly",
                        [(b"retry-after", b"1")])


class _Disconnected(Exception):
    pass
