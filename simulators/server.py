"""Real WSGI servers for the suite.

* ``serve``: granian, a Rust HTTP server with a WSGI interface (``--workers`` processes x ``--threads``
  Python threads each), the production server behind ``trainsim serve``. The app is built once in the
  parent (database created, migrated, demo sandbox seeded) and the workers fork with it loaded; each opens
  its own connection.
* ``InProcessServer``: cheroot's threaded server on a free port in a background thread, which starts in
  milliseconds; the pytest plugin uses it.

Both let a ``drop`` fault close the client's connection without an answer: cheroot puts the socket in the
WSGI environ (``trainsim.socket``), granian keeps it in Rust, so :class:`_Adapter` gives a callable that
finds and shuts it (``trainsim.drop``).
"""

from __future__ import annotations

import logging
import os
import socket
import struct
import sys
import threading
import time
from typing import Any

from .app import create_app
from .platform.gate import GATE


class InProcessServer:
    """A cheroot server in a thread: ``start()``, ``.url``, ``stop()``.

    cheroot is imported here, not at the top: ``trainsim serve`` never needs it, and it brings ssl,
    importlib.metadata and jaraco along (~85 ms of its start, a few MB in each of its processes)."""

    def __init__(self, app: Any, host: str = "127.0.0.1", port: int = 0, threads: int = 16) -> None:
        from cheroot import wsgi as cheroot_wsgi

        class SocketGateway(cheroot_wsgi.Gateway_10):
            def get_environ(self) -> dict[str, Any]:
                env = super().get_environ()
                env["trainsim.socket"] = self.req.conn.socket
                return env

        self.app = app
        self.server = cheroot_wsgi.Server((host, port), app, numthreads=threads, request_queue_size=64,
                                          timeout=30, shutdown_timeout=2)
        self.server.gateway = SocketGateway
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
    server's parent process and so not the workers forked from it (~4 MB each). Returns the child's pid, or None (no
    fork here), in which case the parent's ``ensure_demo`` seeds as before."""
    if not hasattr(os, "fork"):  # pragma: no cover - not POSIX
        return None
    from .app import load_systems
    from .platform.runtime import Platform
    from .platform.store import Store

    systems = load_systems()  # imported before the fork: the parent needs them too
    # every table created and migrated here, before the fork: the file exists and is in WAL mode before two
    # processes open it, and the child's seeding does not first wait ~40 ms for the parent's create_app
    # to register the same tables (the seeding is the longer of the two paths to a healthy server)
    plat = Platform(Store(db), systems, config)
    plat.close()
    pid = os.fork()
    if pid:
        return pid
    code = 1
    try:
        plat.sandboxes.ensure_demo()  # the child's own connection, opened on first use (Store)
        plat.close()
        code = 0
    except BaseException:  # noqa: BLE001 - the parent seeds again and reports the error
        code = 1
    finally:
        os._exit(code)


# --- granian: the server behind `trainsim serve` ------------------------------------------------------------

REQUEST_LINE_LIMIT = 8190  # bytes of "METHOD target PROTOCOL", as gunicorn's limit_request_line was
# the access log: the path without its query string, and no Referer: Trainingportal clients send username
# and password as query parameters, and a dashboard URL may carry ?token=<SIM_ADMIN_TOKEN>
ACCESS_LOG_FORMAT = '%(addr)s [%(time)s] "%(method)s %(path)s %(protocol)s" %(status)d %(dt_ms).1fms ' \
                    '"%(header{user-agent})s"'
# keys granian puts in every environ itself; every other key it copies from os.environ (see _Adapter)
_GRANIAN_KEYS = {"GATEWAY_INTERFACE", "SCRIPT_NAME", "SERVER_SOFTWARE", "SERVER_PROTOCOL", "SERVER_NAME",
                 "SERVER_PORT", "REMOTE_ADDR", "REQUEST_METHOD", "PATH_INFO", "QUERY_STRING", "CONTENT_TYPE",
                 "CONTENT_LENGTH"}
_TCP_INFO = struct.Struct("8B24I4Q6I")  # struct tcp_info (linux/tcp.h) up to tcpi_data_segs_out
_TCP_ESTABLISHED = 1


def _plain_addr(addr: str) -> str:
    return addr[7:] if addr.startswith("::ffff:") else addr


class _Peers:
    """The connections of this worker process, for the ``drop`` fault.

    granian owns its sockets (in Rust) and gives the app no handle on them, and its environ has the client's
    address but not its port. The socket of the request being dropped is found in /proc/self/fd: a TCP socket
    on the server's port, from the client's address, that has received a request and not answered it (its
    last data came in after its last data went out, or nothing went out yet: TCP_INFO). Other requests in
    flight in this worker look the same, so while there are several candidates it waits (up to a second) for
    the other connections to show themselves (they send their answers); requests that are all being dropped
    at once are all closed. The connection being dropped sends nothing meanwhile, so it is never struck off
    (measured: 60 drops of 60 amid 4 kept-alive clients hammering from the same address, none of theirs
    touched). If another request of this worker stays unanswered for the whole second (a latency fault),
    the drop cannot tell them apart and answers (499) instead, with a warning in the log."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.in_flight = 0
        self.dropping = 0

    @staticmethod
    def _awaiting(port: int, remote: str) -> dict[int, tuple[bool, int]]:
        """The candidate sockets, by fd: (certainly awaiting an answer, or maybe: the same clock tick; the data
        segments sent so far)."""
        found: dict[int, tuple[bool, int]] = {}
        for name in os.listdir("/proc/self/fd"):
            fd = int(name)
            try:
                if not os.readlink(f"/proc/self/fd/{fd}").startswith("socket:"):
                    continue
                dup = os.dup(fd)
                try:
                    sock = socket.socket(fileno=dup)
                except OSError:
                    os.close(dup)
                    continue
                with sock:
                    if sock.type != socket.SOCK_STREAM or sock.family not in (socket.AF_INET, socket.AF_INET6):
                        continue
                    local, peer = sock.getsockname(), sock.getpeername()
                    if local[1] != port or _plain_addr(peer[0]) != remote:
                        continue
                    info = _TCP_INFO.unpack(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, _TCP_INFO.size))
            except OSError:  # closed meanwhile, not connected (the listener), not TCP
                continue
            # tcpi_state, tcpi_last_data_sent, tcpi_last_data_recv (ms ago), tcpi_bytes_received and
            # tcpi_data_segs_out: data segments sent, which (unlike bytes acked) no ACK of the client's moves
            state, last_sent, last_recv, received = info[0], info[17], info[19], info[35]
            segs_out = sent = info[41]
            if state != _TCP_ESTABLISHED or not received:  # CLOSE_WAIT: that client has gone
                continue
            if segs_out == 0 or last_recv < last_sent:  # never answered, or asked again since the last answer
                found[fd] = (True, sent)
            elif last_recv == last_sent:
                found[fd] = (False, sent)
        return found

    def drop(self, environ: dict[str, Any]) -> None:
        """Shut the connection of the request in ``environ`` down (both ways): the client gets no answer.

        The connection being dropped sends nothing while this runs (it may still receive: the rest of a
        body); so of the candidates, those that send (are answered) are other clients' and are struck off,
        every 5 ms, until one is left (or only connections whose requests are all being dropped)."""
        try:
            port, remote = int(environ["SERVER_PORT"]), _plain_addr(environ["REMOTE_ADDR"])
        except (KeyError, ValueError):
            return
        with self.lock:
            self.dropping += 1
        try:
            deadline = time.monotonic() + 1.0
            pool: dict[int, tuple[bool, int]] | None = None
            while True:
                now = self._awaiting(port, remote)
                if pool is not None:  # still awaiting, and not a byte sent since the last look
                    now = {fd: v for fd, v in now.items() if fd in pool and pool[fd][1] == v[1]}
                pool = now
                sure = [fd for fd, (certain, _) in pool.items() if certain]
                with self.lock:
                    others = self.in_flight > self.dropping  # requests in flight here that are not dropped
                    dropping = self.dropping
                if len(pool) == 1:
                    targets = list(pool)
                    break
                if not others and sure and len(sure) <= dropping:  # these requests' connections, no other's
                    targets = sure
                    break
                if not pool:
                    return  # the client has gone already
                if time.monotonic() > deadline:
                    logging.getLogger("trainsim").warning(
                        "drop fault: cannot tell this request's connection from %d other(s); answering instead",
                        len(pool) - 1)
                    return
                with GATE.waiting():  # the other requests of this worker must run to be answered
                    time.sleep(0.005)
            for fd in targets:
                try:
                    with socket.socket(fileno=os.dup(fd)) as sock:
                        sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
        finally:
            with self.lock:
                self.dropping -= 1


class _Adapter:
    """WSGI middleware between granian and the app, one per worker process.

    * the environ as other servers give it: granian copies all of ``os.environ`` into every request's
      environ (an ``HTTP_PROXY`` variable would read as a request header); those keys are taken out again;
    * the request line is limited to :data:`REQUEST_LINE_LIMIT` bytes (414), as gunicorn limited it;
    * ``trainsim.drop``: a callable that closes the client's connection with no answer (:class:`_Peers`).
    """

    def __init__(self, app: Any, multiprocess: bool) -> None:
        self.app = app
        self.multiprocess = multiprocess
        self.inherited = [(k, v) for k, v in os.environ.items() if k not in _GRANIAN_KEYS and "." not in k]
        self.peers = _Peers()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        for key, value in self.inherited:
            if environ.get(key) == value:
                del environ[key]
        environ["wsgi.multiprocess"] = self.multiprocess
        line = len(environ["REQUEST_METHOD"]) + len(environ["PATH_INFO"]) + len(environ["QUERY_STRING"]) + \
            len(environ["SERVER_PROTOCOL"]) + 3
        if line > REQUEST_LINE_LIMIT:
            body = f"request line over {REQUEST_LINE_LIMIT} bytes\n".encode()
            start_response("414 URI Too Long", [("Content-Type", "text/plain; charset=utf-8"),
                                                ("Content-Length", str(len(body))), ("Connection", "close")])
            return [body]
        peers = self.peers
        environ["trainsim.drop"] = lambda: peers.drop(environ)
        with peers.lock:
            peers.in_flight += 1
        GATE.enter()  # one thread at a time runs the app (simulators/platform/gate.py)
        try:
            try:
                result = self.app(environ, start_response)
            finally:
                with peers.lock:
                    peers.in_flight -= 1
            if type(result) is list:
                return result
            # granian sends a list in one call from Rust, but steps through any other iterable chunk by
            # chunk, taking the GIL for each: no answer of the app streams, so it is joined here
            try:
                return [b"".join(result)]
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()
        finally:
            GATE.leave()


class _QuietAdvice(logging.Filter):
    """granian's start-up advice about workers/threads against the core count: `trainsim serve` sizes them on
    purpose (and measured them, BENCHMARKS.md), so the advice is noise on every start."""

    def filter(self, record: logging.LogRecord) -> bool:
        msg = record.getMessage()
        return not (msg.startswith("Configured number of") or msg.startswith("Configuration allows spawning"))


def _log_config(access_log: str | None) -> dict[str, Any]:
    if access_log in (None, "", "-"):
        access: dict[str, Any] = {"class": "logging.StreamHandler", "stream": "ext://sys.stdout"}
    else:
        access = {"class": "logging.FileHandler", "filename": access_log, "mode": "a", "encoding": "utf-8"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"advice": {"()": _QuietAdvice}},
        "formatters": {
            "generic": {"()": "logging.Formatter", "fmt": "[%(asctime)s] [%(process)d] [%(levelname)s] %(message)s",
                        "datefmt": "%Y-%m-%d %H:%M:%S %z"},
            "access": {"()": "logging.Formatter", "fmt": "%(message)s"},
        },
        "handlers": {
            "console": {"class": "logging.StreamHandler", "stream": "ext://sys.stderr", "formatter": "generic",
                        "filters": ["advice"]},
            "access": {**access, "formatter": "access"},
        },
        "loggers": {
            "_granian": {"handlers": ["console"], "propagate": False},
            "trainsim": {"handlers": ["console"], "propagate": False},
            "granian.access": {"handlers": ["access"], "level": "INFO", "propagate": False},
        },
    }


def _log_level(name: str) -> Any:
    from granian.log import LogLevels

    try:
        return LogLevels(name.lower())
    except ValueError:
        print(f"trainsim: TRAINSIM_LOG_LEVEL={name!r} is not a log level; using warning", file=sys.stderr)
        return LogLevels.warning


def serve(host: str, port: int, db: str, workers: int, threads: int, admin_token: str | None = None,
          demo: bool = True) -> None:
    """``trainsim serve``: granian (a Rust HTTP server, WSGI interface): ``workers`` processes, each running the
    app in up to ``threads`` Python threads (granian's blocking threads) while Rust does the HTTP I/O."""
    from granian.constants import HTTPModes, Interfaces
    from granian.http import HTTP1Settings
    from granian.server import Server

    if db == ":memory:" and workers > 1:
        print("trainsim: --db :memory: keeps state in one process; using 1 worker", file=sys.stderr)
        workers = 1
    url = f"http://{host}:{port}"
    own = "127.0.0.1" if host in ("0.0.0.0", "::", "localhost", "") else host
    own = f"[{own}]" if ":" in own else own
    config = {"DATABASE": db, "SIM_ADMIN_TOKEN": admin_token or None, "PUBLIC_URL": url, "DEMO": demo,
              "SELF_URL": f"http://{own}:{port}"}

    # the app is built once, here in the parent (create, migrate, seed the demo sandbox), and granian forks
    # the workers from it with the app loaded. The parent closes its connection before forking; each worker
    # opens its own on first use (Store). :memory: state lives in one connection, so there the single worker
    # builds the app itself.
    built = None
    if db != ":memory:":
        seeder = _seed_demo_in_child(db, config) if demo else None
        built = create_app({**config, "DEMO": False})
        built.config["DEMO"] = demo
        if seeder is not None:
            _, status = os.waitpid(seeder, 0)
            if status != 0:  # the child failed: seed here, where the error is raised and reported
                built.extensions["trainsim"].sandboxes.ensure_demo()
        print(banner(built, url), flush=True)
        built.extensions["trainsim"].close()

    def load(*_: Any) -> Any:  # runs in each worker, after the fork
        app = built
        if app is None:
            app = create_app(config)
            print(banner(app, url), flush=True)
        return _Adapter(app, multiprocess=workers > 1)

    class GranianServer(Server):
        def signal_handler_interrupt(self, *args: Any, **kwargs: Any) -> None:
            # Ctrl-C in a terminal reaches the workers too, and they stop by themselves: no crash (which granian
            # would report, and exit 1 for) but part of the shutdown this signal asks for
            for wrk in self.wrks:
                wrk.interrupt_by_parent = True
            super().signal_handler_interrupt(*args, **kwargs)

    access_log = os.environ.get("TRAINSIM_ACCESS_LOG") or None
    server = GranianServer(
        "simulators.app:create_app", address=host, port=port, interface=Interfaces.WSGI, workers=workers,
        blocking_threads=max(1, threads), http=HTTPModes.http1, websockets=False,
        # headers must be complete within 30 s (a trickling client holds no thread meanwhile: Rust reads them)
        http1_settings=HTTP1Settings(header_read_timeout=30_000, keep_alive=True),
        log_level=_log_level(os.environ.get("TRAINSIM_LOG_LEVEL", "warning")),
        log_dictconfig=_log_config(access_log), log_access=access_log is not None,
        log_access_format=ACCESS_LOG_FORMAT, workers_kill_timeout=5)
    server.serve(target_loader=load)

