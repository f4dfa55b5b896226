"""Real server processes for tests: the ASGI server and the Celery worker."""

from __future__ import annotations

import contextlib
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
LOGS = ROOT / "test-artifacts" / "logs"


def free_port() -> int:
    with contextlib.closing(socket.socket()) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Process:
    def __init__(self, args: list[str], env: dict[str, str], log_name: str):
        # Kept after the run (git-ignored) so a failure can be read; each run starts them afresh.
        self.log_path = LOGS / f"{log_name}-{time.time_ns()}.log"
        LOGS.mkdir(parents=True, exist_ok=True)
        self._log = self.log_path.open("wb")
        self.proc = subprocess.Popen(args, env=env, cwd=ROOT, stdout=self._log, stderr=subprocess.STDOUT)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self, sig=signal.SIGTERM, timeout: float = 15) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()


def start_asgi(env: dict[str, str]) -> tuple[Process, str]:
    port = free_port()
    proc = Process(
        [sys.executable, "-m", "config.web", "--host", "127.0.0.1", "--port", str(port)],
        env,
        "asgi",
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90  # a loaded machine imports the app slowly; a healthy one answers in seconds
    while time.monotonic() < deadline:
        if not proc.alive():
            raise RuntimeError("ASGI server exited:\n" + proc.log())
        try:
            if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.stop()
    raise RuntimeError("ASGI server did not answer /healthz:\n" + proc.log())


def start_worker(env: dict[str, str]) -> Process:
    """The session's worker, on Celery's default queue."""
    return start_worker_on("celery", env)


def start_worker_on(queue: str, env: dict[str, str], *, threads: int = 0) -> Process:
    """A worker of its own queue, so the session's shared worker never takes these tasks; with
    `threads`, a threaded one like the messaging worker `make run` starts."""
    from config.celery import app

    name = f"{queue}-{time.time_ns()}@{socket.gethostname()}"
    pool = ["-P", "threads", "-c", str(threads)] if threads else ["-P", "solo"]
    args = [sys.executable, "-m", "celery", "-A", "config", "worker", *pool, "-Q", queue, "-n", name]
    proc = Process([*args, "-l", "info", "--without-gossip", "--without-mingle"], env, "worker")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if not proc.alive():
            raise RuntimeError("Celery worker exited:\n" + proc.log())
        if app.control.ping(destination=[name], timeout=0.5):
            return proc
    proc.stop()
    raise RuntimeError("Celery worker did not answer ping:\n" + proc.log())
