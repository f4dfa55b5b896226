"""An OpenTelemetry collector for tests: receives OTLP/HTTP protobuf at /v1/traces, as the real
collector does, and keeps every span (decoded) and every raw body (to search for leaked text)."""

from __future__ import annotations

import threading

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from tests.fakes.server import FakeVendor, read_body


def _value(v):
    kind = v.WhichOneof("value")
    if kind == "array_value":
        return [_value(x) for x in v.array_value.values]
    return getattr(v, kind) if kind else None


class FakeCollector(FakeVendor):
    def __init__(self):
        self.bodies: list[bytes] = []
        self.spans: list[dict] = []
        self._lock = threading.Lock()
        super().__init__()

    def reset(self) -> None:
        with self._lock:
            self.bodies.clear()
            self.spans.clear()

    def received(self) -> list[dict]:
        with self._lock:
            return list(self.spans)

    async def app(self, scope, receive, send):
        if scope["type"] != "http":
            return
        body = await read_body(receive)
        status, reply = 404, b""
        if scope["path"] == "/v1/traces" and scope["method"] == "POST":
            request = ExportTraceServiceRequest.FromString(body)
            spans = [
                {
                    "name": s.name,
                    "trace_id": s.trace_id.hex(),
                    "span_id": s.span_id.hex(),
                    "parent_span_id": s.parent_span_id.hex(),
                    "kind": s.kind,
                    "attributes": {a.key: _value(a.value) for a in s.attributes},
                    "service": {a.key: _value(a.value) for a in rs.resource.attributes}.get("service.name"),
                }
                for rs in request.resource_spans
                for ss in rs.scope_spans
                for s in ss.spans
            ]
            with self._lock:
                self.bodies.append(body)
                self.spans.extend(spans)
            status, reply = 200, ExportTraceServiceResponse().SerializeToString()
        await send(
            {"type": "http.response.start", "status": status, "headers": [(b"content-type", b"application/x-protobuf")]}
        )
        await send({"type": "http.response.body", "body": reply})
