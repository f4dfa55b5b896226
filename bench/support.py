"""Helpers shared by the benches: embedded services and settings, Django set-up, the vendor fakes
and uvicorn in subprocesses, and percentiles.

The benches run as `.venv/bin/python bench/NAME.py`, so this directory is on sys.path; they put the
repository root first on sys.path before importing this module.
"""

from __future__ import annotations

import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from config import embedded

ROOT = Path(__file__).resolve().parent.parent
SETTINGS = {
    "DEBUG": "false",
    "SECRET_KEY": "bench-secret-key-" + "x" * 40,
    "FIELD_ENCRYPTION_KEY": "hXFYtJ0hZ4zqH0oVtkNn3Qm3NqSpq6s0f2h1vY7n2Xo=",
    "LOG_LEVEL": "WARNING",
}


@contextlib.contextmanager
def bench_services(name: str, **extra: str) -> Iterator[dict[str, str]]:
    """Embedded Postgres + Redis in a fresh temporary directory, stopped and removed on exit.

    Yields the environment for processes using them (the services' settings, SETTINGS and
    `extra`), which is also set in this process's os.environ, with DJANGO_SETTINGS_MODULE."""
    root = Path(tempfile.mkdtemp(prefix=f"sb-bench-{name}-"))
    os.chmod(root, 0o755)
    services = embedded.start(root)
    try:
        env = embedded.environ_with(services) | SETTINGS | extra
        os.environ.update(env)
        os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
        yield env
    finally:
        services.stop()
        embedded.remove(root)


def setup_django() -> None:
    """Django set up in this process, on a migrated database."""
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def freeze_heap() -> None:
    """The server's garbage-collection policy (config.heap), here too: with Django loaded, a full
    collection stalls the simulated callers or widgets ~70 ms, a pause that would be counted as
    the platform's."""
    from config import heap

    heap.settle()


def seed_bot(yaml_text: str):
    """Set up Django, import the bot from YAML into the "bench" workspace and publish it."""
    setup_django()
    from bots.models import Workspace
    from bots.services import publish_bot
    from bots.yaml_io import import_bot

    workspace, _ = Workspace.objects.get_or_create(slug="bench", defaults={"name": "Bench"})
    bot = import_bot(workspace=workspace, text=yaml_text)
    publish_bot(bot=bot, user=None)
    return bot


def start_fake(code: str, env: dict) -> tuple[subprocess.Popen, str]:
    """A vendor fake in a process of its own: `code` makes it as `f`. Returns the process and its base URL."""
    script = f"import time; {code}; f.start(); print(f.base_url, flush=True); time.sleep(10**6)"
    proc = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
    return proc, proc.stdout.readline().strip()


def fake_openai(ttft: float, *, words: int = 0, word_interval: float = 0.0) -> str:
    """start_fake's code for the fake OpenAI server with a fixed time to first token; with `words`,
    every answer is that many words, streamed one every `word_interval` seconds as a model writes."""
    code = f"from tests.fakes.openai_server import FakeOpenAI as F, Reply; f = F(ttft={ttft}, token_interval={word_interval})"
    if words:
        code += f"; f.responder = lambda body: Reply(text=' '.join(['more'] * {words}))"
    return code


def start_server(env: dict, port: int, workers: int = 1) -> subprocess.Popen:
    """The web server (`config.web`, as `make run` starts it) on the port, in `workers` processes,
    once it answers /healthz."""
    import httpx

    args = [sys.executable, "-m", "config.web", "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)]
    proc = subprocess.Popen(
        [*args, "--log-level", "warning"],
        cwd=ROOT,
        env=env,
        start_new_session=True,  # its own process group, so `stop` reaches the worker processes too
    )
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.1)
    stop(proc)
    raise SystemExit("the ASGI server did not start")


def stop(proc: subprocess.Popen, timeout: float = 15) -> None:
    """SIGTERM, then SIGKILL after `timeout`, to the process and its group (a server's workers)."""
    import signal

    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError):
            if os.getpgid(proc.pid) == proc.pid:
                os.killpg(proc.pid, sig)
            else:
                proc.send_signal(sig)
        try:
            proc.wait(timeout=timeout)
            return
        except subprocess.TimeoutExpired:
            continue


def cpu_s(pid: int) -> float:
    """User + system CPU seconds a process has used so far, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_cpu_s() -> float:
    """CPU seconds every process of the machine has used so far (/proc/stat): the simulated users,
    the fakes, Postgres and Redis share the cores with the server, and this shows how much."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle and iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def tree_cpu_s(pid: int) -> float:
    """`cpu_s` of a process and all its descendants (uvicorn's worker processes)."""
    total = cpu_s(pid)
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            total += tree_cpu_s(int(child))
    return total


def pct(values: list[float], q: int) -> float:
    """The q-th percentile (inclusive method); NaN for no values."""
    if not values:
        return float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 else values[0]
