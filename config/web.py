"""The web server: `python -m config.web --host 0.0.0.0 --port 8000 --workers 2`.

Runs `--workers` uvicorn processes serving `config.asgi` on one port. uvicorn's own `--workers`
hands one listening socket to all its processes and whichever is awake first accepts; calls and
widget sockets stay open for minutes, so a burst of them can land mostly on one process (73 of
100 simulated calls in `bench/voice.py`), whose core then saturates while the other idles. Here
each process binds a socket of its own to the port with SO_REUSEPORT, and the kernel spreads new
connections over them by a hash of their addresses. Where the kernel does not balance such
sockets (not Linux), or with one process, uvicorn's shared socket is used as is.

A process that dies while serving is started again. One that exits before it serves (a port
taken by another program, settings that do not load) stops the server with an error, rather
than being restarted forever. SIGTERM or SIGINT stops every process; each
finishes its open requests first, as uvicorn does.
"""

from __future__ import annotations

import argparse
import logging
import multiprocessing
import os
import signal
import socket
import sys
import time

import uvicorn

APP = "config.asgi:application"
STOP_TIMEOUT_S = 15.0

log = logging.getLogger("config.web")


def arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m config.web", description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--workers", type=_positive, default=1, help="web processes (one per core is usual)")
    parser.add_argument("--access-log", action="store_true", help="a log line per request (off by default)")
    parser.add_argument("--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"])
    return parser.parse_args(argv)


def _positive(value: str) -> int:
    if not value.isdigit() or int(value) < 1:
        raise argparse.ArgumentTypeError(f"{value!r}: use 1 or more web processes, e.g. 2")
    return int(value)


def _options(args: argparse.Namespace) -> dict:
    # The app needs no lifespan events; X-Forwarded-* is trusted from FORWARDED_ALLOW_IPS (uvicorn reads it).
    return {"lifespan": "off", "access_log": args.access_log, "log_level": args.log_level}


def _balances_own_sockets() -> bool:
    return sys.platform.startswith("linux") and hasattr(socket, "SO_REUSEPORT")


def _listen(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    return sock


def serve_one(host: str, port: int, options: dict, started) -> None:
    """One web process, on its own socket (the target of each child). `started` is set once the
    app is loaded and the socket bound."""
    config = uvicorn.Config(APP, **options)
    config.load()  # settings that do not load fail here, before the process counts as started
    try:
        sock = _listen(host, port)
    except OSError as exc:
        sys.exit(f"Cannot listen on {host}:{port}: {exc.strerror}. Is another program using the port? Set --port.")
    started.set()
    uvicorn.Server(config).run(sockets=[sock])


class Supervisor:
    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.context = multiprocessing.get_context("spawn")  # a fresh interpreter: nothing of ours is forked
        self.processes: list[tuple[multiprocessing.Process, object]] = []
        self.stopping = False

    def start(self) -> tuple[multiprocessing.Process, object]:
        started = self.context.Event()
        options = _options(self.args)
        process = self.context.Process(
            target=serve_one, args=(self.args.host, self.args.port, options, started), name="web"
        )
        process.start()
        return process, started

    def run(self) -> int:
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self.stop)
        self.processes = [self.start() for _ in range(self.args.workers)]
        failed = False
        while not self.stopping:
            for i, (process, started) in enumerate(self.processes):
                if process.is_alive() or self.stopping:
                    continue
                _forget_metrics(process.pid)
                if not started.is_set():  # it would fail the same way again
                    log.error("a web process could not start (exit code %s): stopping", process.exitcode)
                    failed = self.stopping = True
                    break
                log.warning("a web process exited (code %s): starting another", process.exitcode)
                self.processes[i] = self.start()
            time.sleep(0.2)
        self.stop_all()
        return 1 if failed else 0

    def stop(self, signum=None, frame=None) -> None:
        self.stopping = True

    def stop_all(self) -> None:
        for process, _ in self.processes:
            if process.is_alive():
                process.terminate()
        deadline = time.monotonic() + STOP_TIMEOUT_S
        for process, _ in self.processes:
            process.join(max(0.1, deadline - time.monotonic()))
            if process.is_alive():
                process.kill()
                process.join()


def _forget_metrics(pid: int) -> None:
    """A dead process's live gauges (open widget sockets) no longer count in /metrics."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid)


def main(argv: list[str] | None = None) -> int:
    args = arguments(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s:     %(message)s")
    if args.workers == 1 or not _balances_own_sockets():
        uvicorn.run(APP, host=args.host, port=args.port, workers=args.workers, **_options(args))
        return 0
    log.info("%d web processes on http://%s:%d, one socket each", args.workers, args.host, args.port)
    return Supervisor(args).run()


if __name__ == "__main__":
    sys.exit(main())
