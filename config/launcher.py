"""`make run`: start the embedded services (unless DATABASE_URL / REDIS_URL point elsewhere),
migrate, seed the demo, then run the ASGI server, a Celery worker and Celery beat until Ctrl-C
or SIGTERM, and stop every child on the way out.

The ASGI server (`config.web`) runs `WEB_WORKERS` processes (default: one per core) on the one
port: a turn is CPU work in the process that holds its socket, so one process would use one core
however many the machine has. The processes share nothing in memory that must agree: session state,
turn locks, rate limits and the channel layer are in Redis.

Run as `python -m config.launcher`. Django is only imported by the children, after the
environment they need exists.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from config import embedded
from config.env import Env, SettingError

ROOT = Path(__file__).resolve().parent.parent
VAR = ROOT / "var"
PYTHON = sys.executable


def web_workers() -> int:
    workers = Env(VAR).int("WEB_WORKERS", default=os.cpu_count() or 1)
    if workers < 1:
        raise SettingError("WEB_WORKERS", f"is {workers}", "Use 1 or more web processes, e.g. 2.")
    return workers


def main() -> int:
    os.chdir(ROOT)
    port = os.environ.get("PORT", "8000")
    host = os.environ.get("HOST", "127.0.0.1")
    workers = web_workers()
    env = dict(os.environ)
    services = embedded.for_development(VAR, env)  # `make run` is dev mode; production sets DEBUG itself
    env.setdefault("PUBLIC_BASE_URL", f"http://localhost:{port}")
    env["PYTHONUNBUFFERED"] = "1"

    children: list[subprocess.Popen] = []
    stopping = False

    def stop(signum=None, frame=None):
        nonlocal stopping
        if stopping:
            return
        stopping = True
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 15
        for child in children:
            try:
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
        services.stop()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        for command in (["migrate", "--noinput"], ["seed_demo"]):
            subprocess.run([PYTHON, "manage.py", *command], env=env, check=True)
        children.append(
            subprocess.Popen(
                [PYTHON, "-m", "config.web", "--host", host, "--port", port, "--workers", str(workers)],
                env=env,
            )
        )

        def celery(*args: str) -> subprocess.Popen:
            return subprocess.Popen([PYTHON, "-m", "celery", "-A", "config", *args], env=env)

        quiet = ("--without-gossip", "--without-mingle")
        children.append(celery("worker", "-l", "info", "--concurrency", "2", *quiet, "-n", "worker@%h"))
        # Messaging turns wait on the LLM most of the time: many threads in one process, not processes.
        children.append(
            celery(
                "worker", "-l", "info", "-Q", "turns", "-P", "threads", "--concurrency", "32", *quiet, "-n", "turns@%h"
            )
        )
        children.append(celery("beat", "-l", "info", "-s", str(VAR / "celerybeat-schedule"), "--pidfile="))
        base = f"http://localhost:{port}"
        print(
            f"\nSwitchboard is starting ({workers} web process{'es' if workers > 1 else ''}):\n"
            f"  admin        {base}/admin/\n"
            f"  API docs     {base}/api/docs\n"
            f"  widget demo  {base}/demo/\n"
            f"  agent inbox  {base}/inbox/\n"
            f"  readiness    {base}/readyz\n"
            "Press Ctrl-C to stop.\n",
            flush=True,
        )
        while not stopping:
            for child in children:
                if child.poll() is not None and not stopping:
                    print(f"{' '.join(child.args[:4])} exited with {child.returncode}; stopping.", file=sys.stderr)
                    stop()
                    return 1
            time.sleep(0.5)
        return 0
    except subprocess.CalledProcessError as exc:
        print(f"Set-up step failed: {' '.join(exc.cmd[1:])}", file=sys.stderr)
        return 1
    finally:
        stop()


if __name__ == "__main__":
    sys.exit(main())
