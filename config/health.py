"""Liveness (`/healthz`), readiness (`/readyz`) and a WebSocket probe (`/ws/health/`)."""

from __future__ import annotations

import hmac
import time

import redis
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache

from config.celery import app as celery_app


def _timed(check) -> dict:
    started = time.perf_counter()
    try:
        detail = check()
        ok = True
    except Exception as exc:  # a probe reports failures, it never raises them
        detail, ok = f"{type(exc).__name__}: {exc}"[:200], False
    result = {"ok": ok, "ms": round((time.perf_counter() - started) * 1000, 2)}
    if detail:
        result["detail"] = detail
    return result


def _database():
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return None


def _pgvector():
    with connection.cursor() as cursor:
        cursor.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'")
        row = cursor.fetchone()
    if row is None:
        raise RuntimeError("the vector extension is not installed in this database")
    return f"vector {row[0]}"


def _redis():
    client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=1, socket_connect_timeout=1)
    try:
        client.ping()
    finally:
        client.close()
    return None


def _celery():
    replies = celery_app.control.ping(timeout=1.0, limit=1)
    if not replies:
        raise RuntimeError("no Celery worker answered within 1 s")
    return ", ".join(name for reply in replies for name in reply)


def healthz(request):
    return JsonResponse({"status": "ok"})


@never_cache
def readyz(request):
    """200 or 503 for anyone (a load balancer); which check failed, versions and worker names only
    for staff and for callers with `HEALTH_TOKEN`: they map the inside of the install."""
    checks = {"database": _timed(_database), "pgvector": None, "redis": _timed(_redis), "celery": None}
    checks["pgvector"] = _timed(_pgvector) if checks["database"]["ok"] else {"ok": False, "detail": "database down"}
    checks["celery"] = _timed(_celery) if checks["redis"]["ok"] else {"ok": False, "detail": "broker (Redis) down"}
    ready = all(c["ok"] for c in checks.values())
    body = {"status": "ready" if ready else "unavailable"}
    if _may_see_details(request):
        body["checks"] = checks
    return JsonResponse(body, status=200 if ready else 503)


def _may_see_details(request) -> bool:
    if getattr(request, "user", None) is not None and request.user.is_staff:
        return True
    given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    return bool(settings.HEALTH_TOKEN) and hmac.compare_digest(given.encode(), settings.HEALTH_TOKEN.encode())


class HealthSocket(AsyncJsonWebsocketConsumer):
    """Lets a load balancer check that WebSocket upgrades reach a worker: answers ping with pong."""

    async def receive_json(self, content, **kwargs):
        if content.get("type") == "ping":
            await self.send_json({"type": "pong"})
        else:
            await self.send_json({"type": "error", "code": "unknown_type", "message": 'send {"type": "ping"}'})
