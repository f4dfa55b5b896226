"""The web server as docs/scaling.md starts it: `python -m config.web --workers 2`, several
processes on one port, each with its own socket, so connections are spread over them."""

from __future__ import annotations

import asyncio
import signal
import socket
import subprocess
import sys
import time

import httpx
import psutil
import pytest

from tests.conftest import vendor_env
from tests.processes import ROOT, Process, free_port
from tests.services import subprocess_env


def web_processes(server: Process) -> list[psutil.Process]:
    """The serving children (not multiprocessing's resource tracker)."""
    children = psutil.Process(server.proc.pid).children()
    return [c for c in children if "spawn_main" in " ".join(c.cmdline())]


def listening(server: Process, port: int) -> bool:
    """Every web process serves: each listens on its own socket (a process that has not yet
    loaded the app may be killed as one that could not start, which stops the server)."""
    processes = web_processes(server)
    return len(processes) == 2 and all(
        any(c.status == "LISTEN" and c.laddr.port == port for c in p.net_connections()) for p in processes
    )


def wait_until(check, timeout: float = 90, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def answers(base: str) -> bool:
    try:
        return httpx.get(base + "/healthz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.fixture
def two_processes(django_db_setup, fake_openai_server, tmp_path):
    port = free_port()
    command = [sys.executable, "-m", "config.web", "--host", "127.0.0.1", "--port", str(port), "--workers", "2"]
    # As the container runs it: /metrics adds up the processes' figures kept in this directory.
    env = subprocess_env(**vendor_env(fake_openai_server), PROMETHEUS_MULTIPROC_DIR=str(tmp_path))
    server = Process(command, env, "web")
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: answers(base) and listening(server, port), what="two web processes")
        yield server, base, port, tmp_path
    finally:
        server.stop()


def test_connections_opened_together_are_spread_over_the_web_processes(two_processes):
    server, base, port, _ = two_processes

    async def open_connections() -> list[int]:
        clients = [httpx.AsyncClient() for _ in range(60)]
        try:
            await asyncio.gather(*(c.get(base + "/healthz") for c in clients))  # each keeps its connection open
            return [
                sum(1 for c in p.net_connections() if c.status == "ESTABLISHED" and c.laddr.port == port)
                for p in web_processes(server)
            ]
        finally:
            await asyncio.gather(*(c.aclose() for c in clients))

    held = asyncio.run(open_connections())
    assert sum(held) == 60, held
    # Each process has its own socket and the kernel hashes connections over them: 30 each on
    # average; under 15 happens about once in 25,000 runs. One shared socket gave 73 of 100 to one.
    assert min(held) >= 15, held


def test_a_web_process_that_dies_is_replaced_while_the_other_keeps_answering(two_processes):
    server, base, _, metrics = two_processes
    first, second = web_processes(server)
    open_sockets_gauge = metrics / f"gauge_livesum_{first.pid}.db"
    assert open_sockets_gauge.exists()
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=10)
    assert answers(base)  # the other process serves meanwhile
    wait_until(
        lambda: len(web_processes(server)) == 2 and first.pid not in {p.pid for p in web_processes(server)},
        what="a new web process",
    )
    assert second.is_running() and answers(base)
    assert server.alive()
    # The dead process's open-socket count no longer adds to /metrics.
    assert not open_sockets_gauge.exists()


def test_a_port_taken_by_another_program_stops_the_server_with_the_reason(django_db_setup, fake_openai_server):
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    port = taken.getsockname()[1]
    try:
        result = subprocess.run(
            [sys.executable, "-m", "config.web", "--host", "127.0.0.1", "--port", str(port), "--workers", "2"],
            cwd=ROOT,
            env=subprocess_env(**vendor_env(fake_openai_server)),
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        taken.close()
    assert result.returncode != 0
    assert f"Cannot listen on 127.0.0.1:{port}" in result.stderr and "another program" in result.stderr


@pytest.mark.parametrize("workers", ["0", "two"])
def test_a_number_of_processes_that_cannot_work_is_refused(workers):
    result = subprocess.run(
        [sys.executable, "-m", "config.web", "--workers", workers], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 2
    assert "use 1 or more web processes" in result.stderr
