"""The one NinjaAPI: each app mounts its router here. Docs at /api/docs."""

from ninja import NinjaAPI

api = NinjaAPI(
    title="Switchboard API",
    version="1",
    urls_namespace="api",
    docs_url="/docs",
    description="Manage bots and talk to them. Every 4xx answers with the same error shape.",
)
