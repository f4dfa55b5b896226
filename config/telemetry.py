"""OpenTelemetry traces, Sentry, and the per-turn measurements the hot path reports.

With `OTEL_EXPORTER_OTLP_ENDPOINT` set, `setup()` exports spans over OTLP/HTTP: HTTP requests,
WebSocket and voice turns, Celery tasks, and every LLM (GenAI semantic conventions), tool,
retrieval, speech-to-text and text-to-speech call. One trace per turn: channel → engine →
vendors. Unset, every helper here is a no-op costing a global lookup or less: the decorators
hand back the undecorated call, so a turn's events never pass through an extra generator.

Spans carry ids, model names, token counts and durations only — never what a person or the bot
said — and record no exception messages (they can quote the text); the exception's type is kept.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import os
import time

from django.conf import settings

from config import metrics

_tracer = None  # an OpenTelemetry tracer once setup() found an endpoint
_pid = None  # the process that set it up: a forked Celery child sets up its own exporter
_hooked = False  # Celery signals connected (a forked child inherits them)


def enabled() -> bool:
    return _tracer is not None


def setup(role: str = "web", *, force: bool = False) -> None:
    """Start Sentry and the OTLP exporter if configured. Idempotent; `force` after a fork."""
    global _tracer, _pid
    if _pid == os.getpid() and not force:
        return
    _pid = os.getpid()
    if settings.SENTRY_DSN:
        _setup_sentry(role)
    if not settings.OTEL_EXPORTER_OTLP_ENDPOINT:
        return
    from opentelemetry import trace
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    resource = Resource.create({"service.name": settings.OTEL_SERVICE_NAME, "switchboard.role": role})
    provider = TracerProvider(resource=resource)
    endpoint = settings.OTEL_EXPORTER_OTLP_ENDPOINT.rstrip("/") + "/v1/traces"
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
    _tracer = provider.get_tracer("switchboard")
    global _hooked
    if not _hooked:
        trace.set_tracer_provider(provider)  # once per process tree: later calls are refused
        if role == "worker":
            _trace_celery()
        _hooked = True


def _setup_sentry(role: str) -> None:
    import sentry_sdk

    sentry_sdk.init(
        dsn=settings.SENTRY_DSN,
        send_default_pii=False,  # no cookies, user ids or request bodies
        include_local_variables=False,  # a frame's locals hold message texts
        traces_sample_rate=0,  # traces go to OpenTelemetry
        server_name=role,
    )


# --- spans -------------------------------------------------------------------------------------


class _NoSpan:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def set_attribute(self, key, value):
        pass


_NO_SPAN = _NoSpan()


@contextlib.contextmanager
def _current(name: str, attributes: dict | None, start_time: int | None = None):
    with _tracer.start_as_current_span(
        name, attributes=_clean(attributes), start_time=start_time, record_exception=False
    ) as span:
        try:
            yield span
        except BaseException as exc:
            span.set_attribute("error.type", type(exc).__name__)
            raise


def span(name: str, **attributes):
    """`with span("name", key=value):` — a child of the current span; a no-op when tracing is off."""
    return _current(name, attributes) if _tracer is not None else _NO_SPAN


def _clean(attributes: dict | None) -> dict:
    return {k: v for k, v in (attributes or {}).items() if v is not None}


def traced(name: str, attributes=None):
    """Decorate a function or coroutine function: each call is a span. `attributes(*args, **kwargs)`
    returns the span's attributes (ids, names; never texts) and is only called when tracing is on."""

    def decorate(fn):
        if inspect.iscoroutinefunction(fn):

            @functools.wraps(fn)
            async def run_async(*args, **kwargs):
                if _tracer is None:
                    return await fn(*args, **kwargs)
                with _current(name, attributes(*args, **kwargs) if attributes else None):
                    return await fn(*args, **kwargs)

            return run_async

        @functools.wraps(fn)
        def run(*args, **kwargs):
            if _tracer is None:
                return fn(*args, **kwargs)
            with _current(name, attributes(*args, **kwargs) if attributes else None):
                return fn(*args, **kwargs)

        return run

    return decorate


def traced_stream(name: str, attributes=None):
    """Decorate an async generator function: its whole iteration is one span, current while it
    runs, so spans opened inside (LLM, tools, retrieval) are its children. Off: the generator itself."""

    def decorate(fn):
        @functools.wraps(fn)
        def run(*args, **kwargs):
            if _tracer is None:
                return fn(*args, **kwargs)
            return _stream(name, attributes(*args, **kwargs) if attributes else None, fn(*args, **kwargs))

        return run

    return decorate


async def _stream(name: str, attributes: dict | None, agen):
    with _current(name, attributes):
        try:
            async for item in agen:
                yield item
        finally:
            await agen.aclose()


def _ns_ago(seconds: float) -> int:
    return time.time_ns() - int(seconds * 1e9)


# --- what the hot path reports ------------------------------------------------------------------


def llm_recorder(record):
    """Wrap the LLM gateway's per-attempt record: each attempt also becomes a GenAI client span
    (back-dated by its latency) and a failure counts as a vendor error."""

    def record_call(call: dict) -> None:
        if call.get("outcome") not in (None, "ok", "breaker_open", "cancelled"):
            metrics.VENDOR_ERRORS.labels("llm", call.get("model", "")).inc()
        if _tracer is not None:
            _llm_span(call)
        record(call)

    return record_call


def _llm_span(call: dict) -> None:
    latency_s = (call.get("latency_ms") or 0) / 1000
    model = call.get("model", "")
    span_ = _tracer.start_span(
        f"chat {model}",
        start_time=_ns_ago(latency_s),
        attributes=_clean(
            {
                "gen_ai.operation.name": "chat",
                "gen_ai.provider.name": "openai",
                "gen_ai.system": "openai",
                "gen_ai.request.model": model,
                "gen_ai.usage.input_tokens": call.get("input_tokens"),
                "gen_ai.usage.output_tokens": call.get("output_tokens"),
                "switchboard.llm.purpose": call.get("purpose"),
                "switchboard.llm.outcome": call.get("outcome"),
                "switchboard.llm.ttft_ms": call.get("ttft_ms"),
                "error.type": "llm_error" if call.get("outcome") in ("error", "fell_back") else None,
            }
        ),
    )
    span_.end()


def turn_attributes(conversation=None, snapshot=None, inbound=None, *, conversation_id=None, mode="chat", **_):
    """The engine span's attributes, from `dialogue.turn.run_turn`'s arguments (ids, never text)."""
    cid = conversation_id if conversation_id is not None else getattr(conversation, "pk", conversation)
    return {
        "switchboard.conversation_id": cid if isinstance(cid, int) else None,
        "switchboard.mode": mode,
        "switchboard.inbound": getattr(inbound, "kind", None),
    }


_turn_histograms: dict[str, object] = {}


def turn_done(channel: str, total_ms: float) -> None:
    # The labelled child is looked up once per channel: `labels()` takes a lock and builds a key.
    histogram = _turn_histograms.get(channel)
    if histogram is None:
        histogram = _turn_histograms[channel] = metrics.TURN_SECONDS.labels(channel)
    histogram.observe(total_ms / 1000)


def voice_spans(timing) -> None:
    """Speech-to-text and text-to-speech of a finished voice turn, back-dated from its monotonic
    timestamps, as children of the voice turn's span (`timing.span`, set by `voice_turn`)."""
    parent = getattr(timing, "span", None)
    if _tracer is None or parent is None:
        return
    from opentelemetry import trace

    context = trace.set_span_in_context(parent)
    now = time.monotonic()
    for name, start, end, vendor in (
        ("stt", timing.speech_end, timing.transcript, "deepgram"),
        ("tts first byte", timing.tts_requested, timing.tts_first_byte, "elevenlabs"),
    ):
        if start is not None and end is not None:
            s = _tracer.start_span(
                name, context=context, start_time=_ns_ago(now - start), attributes={"switchboard.vendor": vendor}
            )
            s.end(end_time=_ns_ago(now - end))
    parent.end()


def voice_turn(timing, engine):
    """The voice turn's span around the engine's events; kept on `timing` for `voice_spans`."""
    if _tracer is None:
        return engine
    timing.span = _tracer.start_span("voice.turn")
    return _voice_stream(timing.span, engine)


async def _voice_stream(parent, engine):
    from opentelemetry import trace

    with trace.use_span(parent, end_on_exit=False):
        try:
            async for item in engine:
                yield item
        finally:
            await engine.aclose()


# --- HTTP requests and Celery tasks ------------------------------------------------------------


class TelemetryMiddleware:
    """Times every request for Prometheus and, with tracing on, makes it a server span."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response):
        from asgiref.sync import iscoroutinefunction, markcoroutinefunction

        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request):
        if self.is_async:
            return self._acall(request)
        started = time.perf_counter()
        with self._span(request) as span_:
            response = self.get_response(request)
            self._done(request, response, started, span_)
        return response

    async def _acall(self, request):
        started = time.perf_counter()
        with self._span(request) as span_:
            response = await self.get_response(request)
            self._done(request, response, started, span_)
        return response

    @staticmethod
    def _span(request):
        if _tracer is None:
            return _NO_SPAN
        from opentelemetry.trace import SpanKind

        return _tracer.start_as_current_span(
            f"HTTP {request.method}",
            kind=SpanKind.SERVER,
            attributes={"http.request.method": request.method, "url.path": request.path},
            record_exception=False,
        )

    @staticmethod
    def _done(request, response, started, span_):
        match = getattr(request, "resolver_match", None)
        route = match.route if match is not None else "unmatched"
        metrics.HTTP_SECONDS.labels(request.method, route, response.status_code).observe(time.perf_counter() - started)
        if _tracer is not None:
            span_.update_name(f"HTTP {request.method} {route}")
            span_.set_attribute("http.route", route)
            span_.set_attribute("http.response.status_code", response.status_code)


_task_spans: dict[str, object] = {}


def _trace_celery() -> None:
    """A span per task, continuing the trace of whoever queued it (traceparent in its headers)."""
    from celery import signals
    from opentelemetry import context, propagate
    from opentelemetry.trace import SpanKind, set_span_in_context

    @signals.before_task_publish.connect(weak=False)
    def inject(headers=None, **_):
        if headers is not None:
            propagate.inject(headers)

    @signals.task_prerun.connect(weak=False)
    def start(task_id=None, task=None, **_):
        carrier = getattr(task.request, "headers", None) or {}
        carrier = {**carrier, **{k: v for k, v in vars(task.request).items() if k in ("traceparent", "tracestate")}}
        s = _tracer.start_span(
            f"celery {task.name}",
            context=propagate.extract(carrier),
            kind=SpanKind.CONSUMER,
            attributes={"messaging.system": "celery", "messaging.operation.name": "process"},
        )
        _task_spans[task_id] = (s, context.attach(set_span_in_context(s)))

    @signals.task_postrun.connect(weak=False)
    def finish(task_id=None, state=None, **_):
        entry = _task_spans.pop(task_id, None)
        if entry is not None:
            s, token = entry
            s.set_attribute("celery.state", state or "")
            context.detach(token)
            s.end()
