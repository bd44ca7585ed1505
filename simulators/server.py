"""Real WSGI servers for the suite.

* ``serve``: gunicorn with threaded workers (``--workers`` processes x ``--threads`` threads), the
  production server behind ``trainsim serve``. The app is built once in the arbiter (database created,
  migrated, demo sandbox seeded) and the workers fork with it loaded; each opens its own connection.
* ``InProcessServer``: cheroot's threaded server on a free port in a background thread, which starts in
  milliseconds; the pytest plugin uses it.

Both put the client's socket in the WSGI environ, so a ``drop`` fault can close it without an answer.
"""

from __future__ import annotations

import os
import socket
import sys
import threading
from typing import Any

from cheroot import wsgi as cheroot_wsgi

from .app import create_app


class _SocketGateway(cheroot_wsgi.Gateway_10):
    def get_environ(self) -> dict[str, Any]:
        env = super().get_environ()
        env["trainsim.socket"] = self.req.conn.socket
        return env


class InProcessServer:
    """A cheroot server in a thread: ``start()``, ``.url``, ``stop()``."""

    def __init__(self, app: Any, host: str = "127.0.0.1", port: int = 0, threads: int = 16) -> None:
        self.app = app
        self.server = cheroot_wsgi.Server((host, port), app, numthreads=threads, request_queue_size=64,
                                          timeout=30, shutdown_timeout=2)
        self.server.gateway = _SocketGateway
        self.thread: threading.Thread | None = None

    def start(self) -> InProcessServer:
        self.server.prepare()
        host, port = self.server.bind_addr[:2]
        self.url = f"http://{host}:{port}"
        self.thread = threading.Thread(target=self.server.serve, name="trainsim-server", daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.stop()
        if self.thread:
            self.thread.join(timeout=5)


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def banner(app: Any, url: str) -> str:
    plat = app.extensions["trainsim"]
    lines = [f"trainsim serving on {url}", f"  dashboard           {url}/_sim/",
             f"  control plane       {url}/_sim/docs  ({url}/_sim/openapi.json)"]
    for system in plat.systems.values():
        lines.append(f"  {system.name:<20}{url}{system.base_path}")
    if plat.sandboxes.exists("demo"):
        sb = plat.sandboxes.get("demo", url)
        lines.append("demo sandbox credentials (stable; see README):")
        lines.append(_credentials_lines(sb["credentials"]))
    return "\n".join(lines)


def _credentials_lines(creds: dict[str, Any], indent: str = "  ") -> str:
    import json

    return "\n".join(indent + f"{k}: {json.dumps(v, ensure_ascii=False)}" for k, v in creds.items())


def _seed_demo_in_child(db: str, config: dict[str, Any]) -> int | None:
    """Create (migrate) the database and seed the demo sandbox in a forked child, while the parent builds
    the app: the two overlap on a multi-core machine, and Faker (imported only to seed) never enters the
    arbiter and so not the workers forked from it (~4 MB each). Returns the child's pid, or None (no
    fork here), in which case the parent's ``ensure_demo`` seeds as before."""
    if not hasattr(os, "fork"):  # pragma: no cover - not POSIX
        return None
    from .app import load_systems
    from .platform.runtime import Platform
    from .platform.store import Store

    systems = load_systems()  # imported before the fork: the parent needs them too
    Store(db).close()  # the file exists and is in WAL mode before two processes open it at once
    pid = os.fork()
    if pid:
        return pid
    code = 1
    try:
        store = Store(db)
        Platform(store, systems, config).sandboxes.ensure_demo()
        store.close()
        code = 0
    except BaseException:  # noqa: BLE001 - the parent seeds again and reports the error
        code = 1
    finally:
        os._exit(code)


def serve(host: str, port: int, db: str, workers: int, threads: int, admin_token: str | None = None,
          demo: bool = True) -> None:
    from gunicorn.app.base import BaseApplication

    if db == ":memory:" and workers > 1:
        print("trainsim: --db :memory: keeps state in one process; using 1 worker", file=sys.stderr)
        workers = 1
    url = f"http://{host}:{port}"
    own = "127.0.0.1" if host in ("0.0.0.0", "::", "localhost", "") else host
    own = f"[{own}]" if ":" in own else own
    config = {"DATABASE": db, "SIM_ADMIN_TOKEN": admin_token or None, "PUBLIC_URL": url, "DEMO": demo,
              "SELF_URL": f"http://{own}:{port}"}

    # the app is built once, here in the arbiter (create, migrate, seed the demo sandbox), and the workers
    # are forked from it with the app loaded (gunicorn's preload_app). The arbiter closes its connection
    # before forking; each worker opens its own on first use (Store). :memory: state lives in one
    # connection, so there the single worker builds the app itself.
    preload = db != ":memory:"
    built = None
    if preload:
        seeder = _seed_demo_in_child(db, config) if demo else None
        built = create_app({**config, "DEMO": False})
        built.config["DEMO"] = demo
        if seeder is not None:
            _, status = os.waitpid(seeder, 0)
            if status != 0:  # the child failed: seed here, where the error is raised and reported
                built.extensions["trainsim"].sandboxes.ensure_demo()
        print(banner(built, url), flush=True)
        built.extensions["trainsim"].store.close()

    class App(BaseApplication):
        def load_config(self) -> None:
            self.cfg.set("bind", f"{host}:{port}")
            self.cfg.set("workers", workers)
            self.cfg.set("threads", threads)
            self.cfg.set("worker_class", "gthread")
            self.cfg.set("preload_app", preload)
            self.cfg.set("timeout", 120)
            self.cfg.set("graceful_timeout", 5)
            self.cfg.set("keepalive", 5)
            self.cfg.set("accesslog", os.environ.get("TRAINSIM_ACCESS_LOG") or None)
            # the path without its query string, and no Referer: Trainingportal clients send username and
            # password as query parameters, and a dashboard URL may carry ?token=<SIM_ADMIN_TOKEN>
            self.cfg.set("access_log_format", '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(M)sms "%(a)s"')
            self.cfg.set("loglevel", os.environ.get("TRAINSIM_LOG_LEVEL", "warning"))
            self.cfg.set("limit_request_line", 8190)

        def load(self) -> Any:
            if built is not None:
                return built
            app = create_app(config)
            print(banner(app, url), flush=True)
            return app

    App().run()
