"""``stella serve``: the local HTTP API (needs the ``api`` extra)."""

from __future__ import annotations

import ipaddress
import sys

from stella_desktop.cli import exit_codes

LOOPBACK_NAMES = {"localhost", "127.0.0.1", "::1"}


def is_loopback(host: str) -> bool:
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def run(args) -> int:
    try:
        import uvicorn

        from stella_desktop.api import create_app, openapi_text
    except ImportError as error:
        print(f"stella: error: the API needs the 'api' extra ({error.name} is missing): "
              "pip install -e '.[api]'", file=sys.stderr)
        return exit_codes.USAGE
    from core.execution.host import HostOptions, RunHost
    from core.execution.store import RunStore
    store = RunStore(args.store) if args.store else RunStore()
    host = RunHost(store, HostOptions(backend=args.backend, workers=args.workers, scheduler=args.scheduler,
                                      allow_commands=args.allow_commands, workspace_root=args.workspace_root))
    app = create_app(store, args.packs, host=host)
    if args.print_openapi:
        sys.stdout.write(openapi_text(app))
        return exit_codes.OK
    if not is_loopback(args.host):
        if not args.allow_remote:
            print(f"stella: error: refusing to listen on {args.host}, which other machines can reach; "
                  "pass --allow-remote if that is what you want", file=sys.stderr)
            return exit_codes.USAGE
        print(f"WARNING: listening on {args.host}: anyone who can reach this machine can read your runs "
              "and record approvals. There is no authentication.", file=sys.stderr)
    print(f"serving the Stella Desktop API on http://{args.host}:{args.port} (store: {store.root})",
          file=sys.stderr)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    return exit_codes.OK
