"""Who may talk to the local API: the ``Host``, ``Origin`` and token checks of every request.

A web page the user visits can make their browser send requests to
``127.0.0.1``.  Two things stop it from reading runs or recording approvals:

* **DNS rebinding**: the page's own name (``evil.example``) is made to
  resolve to 127.0.0.1, so the browser treats the API as the page's origin.
  The ``Host`` header still says ``evil.example``: only the names this server
  is reached by (``127.0.0.1``, ``localhost``, ``[::1]``, and with
  ``--allow-remote`` the listening address and ``--allowed-host`` names), on
  the port the connection arrived on, are accepted.
* **Cross-site requests**: a browser sends ``Origin`` with every cross-site
  ``POST``; a state-changing request whose ``Origin`` is not this server is
  refused (a request without ``Origin``, as curl and the CLI send, is fine).

When a token is set (always with ``--allow-remote``), every request must also
carry ``Authorization: Bearer <token>``, compared in constant time.

This is ASGI middleware around the whole application, so every endpoint,
including ones added later and ``/openapi.json``, gets the same checks.
"""

from __future__ import annotations

import hmac
import ipaddress
import re
from dataclasses import dataclass, field

from core import json_text

LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "::1"})
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_HOST = re.compile(r"(?:\[(?P<v6>[0-9A-Fa-f:.]+)\]|(?P<name>[A-Za-z0-9.-]+))(?::(?P<port>[0-9]{1,5}))?\Z")
_ORIGIN = re.compile(r"(?P<scheme>https?)://(?P<host>[^/?#@\s]+)\Z")


@dataclass(frozen=True)
class Access:
    """The names a request may address this server by, and the token it must carry (if any)."""

    names: frozenset[str] = LOOPBACK_NAMES
    any_ip_literal: bool = False  # listening on 0.0.0.0 or ::, so any address of this machine is fine
    token: str | None = field(default=None, repr=False)

    @classmethod
    def for_listening(cls, host: str, token: str | None = None, extra_names=()) -> "Access":
        names = set(LOOPBACK_NAMES) | {name.lower().strip("[]") for name in extra_names}
        wildcard = host in ("0.0.0.0", "::", "")
        if not wildcard:
            names.add(host.lower().strip("[]"))
        return cls(frozenset(names), any_ip_literal=wildcard, token=token)

    def accepts_name(self, name: str) -> bool:
        if name in self.names:
            return True
        if self.any_ip_literal:
            try:
                ipaddress.ip_address(name)
                return True
            except ValueError:
                return False
        return False

    def token_matches(self, presented: str | None) -> bool:
        if self.token is None:
            return True
        if presented is None:
            return False
        return hmac.compare_digest(presented.encode("utf-8", "surrogateescape"), self.token.encode("utf-8"))


def split_host(text: str, default_port: int) -> tuple[str, int] | None:
    """``(name, port)`` of a Host header value, or None when it is not a plain host[:port]."""
    match = _HOST.match(text)
    if not match:
        return None
    port = int(match["port"]) if match["port"] else default_port
    return (match["v6"] or match["name"]).lower().rstrip("."), port


class AccessGuard:
    """ASGI middleware: refuse (JSON 400/401/403) what :class:`Access` does not allow."""

    def __init__(self, app, access: Access):
        self.app = app
        self.access = access

    async def __call__(self, scope, receive, send):
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        refusal = self.refusal(scope)
        if refusal is None:
            return await self.app(scope, receive, send)
        status, message, extra = refusal
        if scope["type"] == "websocket":
            await receive()  # the websocket.connect message
            return await send({"type": "websocket.close", "code": 1008, "reason": message[:120]})
        return await send_json(send, status, {"detail": message}, extra, close=True)  # its body is never read

    def refusal(self, scope) -> tuple[int, str, list] | None:
        headers: dict[bytes, list[bytes]] = {}
        for key, value in scope["headers"]:
            headers.setdefault(key.lower(), []).append(value)
        server_port = (scope.get("server") or (None, None))[1]
        scheme_port = 443 if scope.get("scheme") == "https" else 80
        hosts = headers.get(b"host", [])
        if len(hosts) != 1:
            return 400, "the request needs exactly one Host header", []
        host = split_host(hosts[0].decode("latin-1"), scheme_port)
        if host is None or not self.access.accepts_name(host[0]) or \
                (server_port is not None and host[1] != server_port):
            shown = hosts[0].decode("latin-1")[:200]
            return 403, (f"Host '{shown}' is not an address of this server; the API answers only requests "
                         "addressed to it (a web page cannot reach it through its own name)"), []
        if not self.access.token_matches(_bearer(headers.get(b"authorization"))):
            return 401, "this server needs its access token: send 'Authorization: Bearer <token>'", \
                [(b"www-authenticate", b'Bearer realm="stella"')]
        origins = headers.get(b"origin")
        if origins and scope.get("method", "GET") not in SAFE_METHODS:
            if not self._same_origin(origins, host, scope.get("scheme", "http")):
                shown = origins[0].decode("latin-1")[:200]
                return 403, f"cross-origin request refused: Origin '{shown}' is not this server", []
        return None

    def _same_origin(self, origins: list[bytes], host: tuple[str, int], scheme: str) -> bool:
        if len(origins) != 1:
            return False
        match = _ORIGIN.match(origins[0].decode("latin-1"))
        if not match or match["scheme"] != scheme:
            return False
        origin_host = split_host(match["host"], 443 if scheme == "https" else 80)
        return origin_host is not None and origin_host[1] == host[1] and self.access.accepts_name(origin_host[0])


def _bearer(values: list[bytes] | None) -> str | None:
    if not values or len(values) != 1:
        return None
    scheme, _, credentials = values[0].decode("latin-1").partition(" ")
    return credentials.strip() if scheme.lower() == "bearer" else None


async def send_json(send, status: int, document: dict, extra_headers=(), close: bool = False) -> None:
    """A complete JSON response, sent straight through ASGI (before the application sees the request)."""
    body = json_text.canonical(document)
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
               *extra_headers]
    if close:
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
