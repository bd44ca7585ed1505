"""``trainsim``: serve the suite, and drive a running server (reset, sandbox, snapshot, seed)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any


def _env(name: str, default: Any) -> Any:
    return os.environ.get(f"TRAINSIM_{name}", default)


def _client(args: argparse.Namespace) -> tuple[str, dict[str, str]]:
    url = args.url.rstrip("/")
    token = args.admin_token or os.environ.get("SIM_ADMIN_TOKEN")
    return url, ({"Authorization": f"Bearer {token}"} if token else {})


def _call(method: str, url: str, headers: dict[str, str], body: Any = None) -> Any:
    import requests  # here, not at the top: `trainsim serve` never needs it (~0.15 s of its start)

    try:
        resp = requests.request(method, url, json=body, headers=headers, timeout=60)
    except requests.RequestException as exc:
        sys.exit(f"trainsim: cannot reach {url}: {exc}")
    if resp.status_code >= 400:
        sys.exit(f"trainsim: {method} {url} answered {resp.status_code}: {resp.text}")
    return resp.json() if resp.content else {}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="trainsim", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    s = sub.add_parser("serve", help="run the suite on a real multi-threaded WSGI server")
    s.add_argument("--host", default=_env("HOST", "127.0.0.1"))
    s.add_argument("--port", type=int, default=int(_env("PORT", 8300)))
    s.add_argument("--db", default=_env("DB", os.path.join(".trainsim", "state.db")),
                   help="SQLite file, or :memory:")
    s.add_argument("--workers", type=int, default=int(_env("WORKERS", 2)), help="processes")
    s.add_argument("--threads", type=int, default=int(_env("THREADS", 8)), help="threads per process")
    s.add_argument("--no-demo", action="store_true", help="do not create the demo sandbox")

    for name, help_text in (("reset", "reset every sandbox of a running server"),):
        p = sub.add_parser(name, help=help_text)
        p.add_argument("--url", default=_env("URL", "http://127.0.0.1:8300"))
        p.add_argument("--admin-token")

    sb = sub.add_parser("sandbox", help="sandboxes of a running server")
    sb.add_argument("action", choices=["create", "list", "delete", "reset"])
    sb.add_argument("id", nargs="?")
    sb.add_argument("--name")
    sb.add_argument("--seed", type=int)
    sb.add_argument("--fixtures", choices=["demo", "empty"], default="demo")
    sb.add_argument("--url", default=_env("URL", "http://127.0.0.1:8300"))
    sb.add_argument("--admin-token")

    sn = sub.add_parser("snapshot", help="save or restore a sandbox's state on a running server")
    sn.add_argument("action", choices=["save", "restore", "list", "delete"])
    sn.add_argument("name", nargs="?")
    sn.add_argument("--sandbox", default="demo")
    sn.add_argument("--url", default=_env("URL", "http://127.0.0.1:8300"))
    sn.add_argument("--admin-token")

    sd = sub.add_parser("seed", help="fill a sandbox in a database file with data at scale")
    sd.add_argument("--scale", action="store_true", help="100k learning records, 10k classes, 50k bookings, "
                                                         "20k candidates")
    sd.add_argument("--sandbox", default="scale")
    sd.add_argument("--db", default=_env("DB", os.path.join(".trainsim", "state.db")))
    sd.add_argument("--factor", type=float, default=1.0, help="multiply the scale counts")

    args = parser.parse_args(argv)
    if args.command == "serve":
        from .server import serve

        serve(args.host, args.port, args.db, args.workers, args.threads,
              admin_token=os.environ.get("SIM_ADMIN_TOKEN"), demo=not args.no_demo)
        return
    if args.command == "seed":
        from .scale import seed_scale

        seed_scale(args.db, args.sandbox, factor=args.factor)
        return
    url, headers = _client(args)
    if args.command == "reset":
        print(json.dumps(_call("POST", f"{url}/_sim/reset", headers)))
    elif args.command == "sandbox":
        if args.action == "create":
            body = {k: v for k, v in (("name", args.name), ("seed", args.seed), ("fixtures", args.fixtures))
                    if v is not None}
            print(json.dumps(_call("POST", f"{url}/_sim/sandboxes", headers, body), indent=2))
        elif args.action == "list":
            print(json.dumps(_call("GET", f"{url}/_sim/sandboxes", headers), indent=2))
        else:
            if not args.id:
                sys.exit(f"trainsim: sandbox {args.action} needs a sandbox id")
            method, path = ("DELETE", "") if args.action == "delete" else ("POST", "/reset")
            print(json.dumps(_call(method, f"{url}/_sim/sandboxes/{args.id}{path}", headers)))
    elif args.command == "snapshot":
        base = f"{url}/_sim/sandboxes/{args.sandbox}/snapshots"
        if args.action == "list":
            print(json.dumps(_call("GET", base, headers), indent=2))
            return
        if not args.name:
            sys.exit(f"trainsim: snapshot {args.action} needs a name")
        if args.action == "save":
            print(json.dumps(_call("POST", base, headers, {"name": args.name})))
        elif args.action == "restore":
            print(json.dumps(_call("POST", f"{base}/{args.name}/restore", headers)))
        else:
            print(json.dumps(_call("DELETE", f"{base}/{args.name}", headers)))


if __name__ == "__main__":  # pragma: no cover
    main()
