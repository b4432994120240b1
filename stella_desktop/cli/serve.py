"""``stella serve``: the local HTTP API (needs the ``api`` extra)."""

from __future__ import annotations

import ipaddress
import os
import secrets
import stat
import sys

from stella_desktop.cli import exit_codes

LOOPBACK_NAMES = {"localhost", "127.0.0.1", "::1"}
MIN_TOKEN_LENGTH = 16


class TokenRefused(Exception):
    pass


def is_loopback(host: str) -> bool:
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def read_token(path: str) -> str:
    """The token in ``path`` (surrounding whitespace ignored), or TokenRefused saying why not."""
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK)  # a FIFO must not block the start
        if not stat.S_ISREG(os.fstat(descriptor).st_mode):
            os.close(descriptor)
            raise TokenRefused(f"--token-file {path} is not a regular file")
        with open(descriptor, "rb") as stream:
            data = stream.read(4097)
    except OSError as error:
        raise TokenRefused(f"cannot read --token-file {path}: {error.strerror or error}") from None
    try:
        token = data.decode("ascii").strip()
    except UnicodeDecodeError:
        raise TokenRefused(f"--token-file {path} must hold printable ASCII") from None
    if len(data) > 4096 or not token.isprintable() or " " in token:
        raise TokenRefused(f"--token-file {path} must hold one token of printable ASCII without spaces "
                           "(at most 4096 characters)")
    if len(token) < MIN_TOKEN_LENGTH:
        raise TokenRefused(f"the token in {path} is too short to be secret (at least {MIN_TOKEN_LENGTH} "
                           "characters; for example: python3 -c 'import secrets; print(secrets.token_urlsafe(32))')")
    return token


def choose_token(args) -> str | None:
    """The token every request must carry: the --token-file's, a new one for --allow-remote, or none."""
    if args.token_file:
        return read_token(args.token_file)
    if not is_loopback(args.host):
        token = secrets.token_urlsafe(32)
        print(f"access token (shown once; send it as 'Authorization: Bearer <token>'): {token}", file=sys.stderr)
        return token
    return None


def run(args) -> int:
    try:
        from stella_desktop.api import create_app, openapi_text
        from stella_desktop.api_access import Access
        from stella_desktop.api_limits import Limits
        from stella_desktop.api_server import bound_socket, server_for
    except ImportError as error:
        print(f"stella: error: the API needs the 'api' extra ({error.name} is missing): "
              "pip install -e '.[api]'", file=sys.stderr)
        return exit_codes.USAGE
    from core.execution.host import HostOptions, RunHost
    from core.execution.store import RunStore
    store = RunStore(args.store) if args.store else RunStore()
    host = RunHost(store, HostOptions(backend=args.backend, workers=args.workers, scheduler=args.scheduler,
                                      allow_commands=args.allow_commands, workspace_root=args.workspace_root))
    if args.print_openapi:
        sys.stdout.write(openapi_text(create_app(store, args.packs)))
        return exit_codes.OK
    remote = not is_loopback(args.host)
    if remote and not args.allow_remote:
        print(f"stella: error: refusing to listen on {args.host}, which other machines can reach; "
              "pass --allow-remote (every request then needs a token) if that is what you want", file=sys.stderr)
        return exit_codes.USAGE
    try:
        token = choose_token(args)
    except TokenRefused as refused:
        print(f"stella: error: {refused}; not starting", file=sys.stderr)
        return exit_codes.USAGE
    if remote:
        print(f"WARNING: listening on {args.host}: anyone who can reach this machine and has the token can "
              "read your runs and record approvals; the traffic is not encrypted.", file=sys.stderr)
    access = Access.for_listening(args.host, token, args.allowed_host or ())
    app = create_app(store, args.packs, access=access, host=host)
    try:
        sock = bound_socket(args.host, args.port)
    except OSError as error:
        print(f"stella: error: cannot listen on {_url_host(args.host)}:{args.port}: {error.strerror or error}",
              file=sys.stderr)
        return exit_codes.USAGE
    port = sock.getsockname()[1]
    print(f"serving the Stella Desktop API on http://{_url_host(args.host)}:{port} (store: {store.root})"
          + ("; every request needs the token" if token else ""), file=sys.stderr, flush=True)
    server_for(app, args.host, port, Limits()).run(sockets=[sock])
    return exit_codes.OK


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host
