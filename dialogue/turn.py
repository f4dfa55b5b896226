"""The one entry point every channel calls to run a turn.

    async for event in run_turn(conversation, snapshot, inbound, mode="chat"):
        ...  # dialogue.events: TextDelta, SentenceEnd, MessageDone, ToolStarted, ToolFinished, Handoff, End

    run_turn(
        conversation: Conversation | int,     # or conversation_id=<int>
        snapshot: BotSnapshot,                # the published (or draft, in the studio) bot
        inbound: Inbound,
        *,
        mode: "chat" | "voice" = "chat",
        nlu_model: bytes | None = None,       # BotVersion.nlu_model; default: looked up / trained once
        on_trace: Callable[[dict], None] | None = None,  # debug hook: the turn's trace, redacted
        lock_owner: str | None = None,        # the same work retried takes over its own lock
        delivery: str = "",                   # "pending": the bot's messages still have to be sent (messaging)
        on_saved: Callable[[list[int]], None] | None = None,  # ids of the bot's stored messages, in order
        context: asyncio.Task | None = None,  # prefetch_context(...) started earlier (voice)
        go_ahead: asyncio.Future | None = None,  # a speculative turn: True confirms it, False drops it
    ) -> AsyncIterator[Event]

* One turn per conversation at a time: a Redis lock; a second caller waits up to
  `LOCK_WAIT_S`, then gets `TurnBusy`.
* Cancellable anywhere (barge-in: cancel the task iterating it, or `aclose()` it): what was
  already yielded is stored, the unfinished message marked `interrupted`, and the session state
  is saved consistent. Voice, which knows what the caller actually *heard*, then calls
  `record_interrupted(conversation_id, heard=...)` to narrow the stored text to that.
* After the last event: messages (redacted), a `TurnTrace`, one `LlmCall` per LLM attempt, a
  `Handoff` row when the bot handed off, the contact's long-term memory. The trace's `debug`
  holds `flow`/`node` reached and the `path`, `slots_before`/`slots_after`, `intent` and
  `confidence`, retrieved `chunks` with scores, `tools` with arguments and results,
  `rules_checked` and `rule_fired`; its `timings` the milliseconds per step.
* Speculative (`go_ahead` given): the turn runs on a transcript that may still change (a call
  starts it when the caller pauses, before the pause is long enough to end their turn). It
  reasons and streams as usual, but calls no tool and stores nothing until `go_ahead` is True;
  if it is False, or the turn is cancelled first, it leaves no trace but its `LlmCall` rows
  (purpose `speculative`: the tokens were spent) and the session state stays as it was.
* The conversation's stored status decides whether the bot speaks: while it is `handed_off`
  the user's messages are recorded and nothing is answered.
* `prefetch_context(conversation_id)` reads what a turn needs from the database ahead of it: a
  call starts it when the caller starts speaking, and the turn that follows the utterance does
  not wait for the read (see `voice.pipeline`).

Conversations are created with `conversations.services.conversation_start(bot=..., channel=...,
contact_id=..., bot_version_id=...)`; the session state lives in Redis (`dialogue.state`).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import time
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import orjson
from django.conf import settings
from django.db import connection
from redis.exceptions import RedisError

from bots.models import BotVersion, Secret, Workspace
from bots.schema import BotSnapshot
from config import telemetry
from conversations import services
from conversations.models import ContactMemory, Conversation, Message
from conversations.redaction import redact, redact_obj, region_of, remembering
from dialogue import breaker, gateway, knowledge, memory, netguard, randomness
from dialogue import state as session
from dialogue.db import db
from dialogue.engine import Turn
from dialogue.events import Event, Inbound, MessageDone, TextDelta
from dialogue.runtime import DEFAULT_PROMPT, Runtime, at_once

LOCK_WAIT_S = 10.0


class TurnBusy(RuntimeError):
    pass


_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""
_SAVE_AND_RELEASE = "redis.call('set', KEYS[2], ARGV[2], 'EX', ARGV[3])" + _RELEASE
# Taken when free, or taken over when its holder is the same owner: a retried webhook task whose
# first attempt died (worker killed) must not wait for the dead attempt's lock to expire.
# A turn also reads its session state (KEYS[2]) and its models' circuit breakers (KEYS[3...]) in
# the same round trip.
_TAKE = """
local holder = redis.call('get', KEYS[1])
if holder == false or holder == ARGV[1] then
  redis.call('set', KEYS[1], ARGV[1], 'PX', ARGV[2])
  if #KEYS == 1 then return {1} end
  local taken = {1, redis.call('get', KEYS[2])}
  if #KEYS > 2 then taken[3] = redis.call('mget', unpack(KEYS, 3)) end
  return taken
end
return {0}
"""


_RENEW = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end
return 0
"""


class _Renewal:
    """The turn locks held on one event loop, renewed together: a turn longer than the TTL (a slow
    LLM, a tool that takes its time) keeps its lock, so a second message cannot start the same
    conversation's turn. One task and one round trip for all of them, not a task per turn (a
    thousand turns at once made a thousand sleeping tasks to start and cancel)."""

    def __init__(self):
        self.held: dict[str, str] = {}  # lock key → token
        self.task: asyncio.Task | None = None
        self.every = 0.0  # seconds between the running task's rounds

    def add(self, key: str, token: str) -> None:
        self.held[key] = token
        every = settings.TURN_LOCK_TTL_S / 3
        if self.task is None or self.task.done() or every != self.every:  # a changed TTL applies at once
            if self.task is not None:
                self.task.cancel()
            self.every = every
            self.task = asyncio.get_running_loop().create_task(self._run())

    def discard(self, key: str, token: str) -> None:
        if self.held.get(key) == token:
            del self.held[key]

    async def _run(self) -> None:
        client = session.redis_client()
        while self.held:
            await asyncio.sleep(self.every)
            held = list(self.held.items())
            if not held:
                return
            with contextlib.suppress(RedisError):  # Redis away for a moment: try again at the next beat
                async with client.pipeline(transaction=False) as pipe:
                    for key, token in held:
                        pipe.eval(_RENEW, 1, key, token, _ttl_ms())
                    renewed = await pipe.execute()
                for (key, token), kept in zip(held, renewed, strict=True):
                    if not kept:
                        self.discard(key, token)  # taken over (a retry of the same work) or released


_renewals: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # event loop → its _Renewal


def _ttl_ms() -> int:
    return int(settings.TURN_LOCK_TTL_S * 1000)


def _renewal() -> _Renewal:
    loop = asyncio.get_running_loop()
    if loop not in _renewals:
        _renewals[loop] = _Renewal()
    return _renewals[loop]


async def _acquire(conversation_id: int, owner: str | None = None, *, with_state: bool = False, models=()):
    """The lock's token; with `with_state`, (token, the session state or None, a breaker reading
    of `models`)."""
    token = owner or randomness.token_hex(8)
    key = f"sb:turnlock:{conversation_id}"
    keys = [key, session.key(conversation_id), *breaker.reading_keys(models)] if with_state else [key]
    deadline = time.monotonic() + LOCK_WAIT_S
    client = session.redis_client()
    while not (taken := await client.eval(_TAKE, len(keys), *keys, token, _ttl_ms()))[0]:
        if time.monotonic() > deadline:
            raise TurnBusy("Another message of this conversation is still being answered.")
        await asyncio.sleep(0.02)
    _renewal().add(key, token)
    if not with_state:
        return token
    raw = taken[1] if len(taken) > 1 else None
    breakers = breaker.reading(models, taken[2]) if models else {}
    return token, (session.SessionState.from_json(raw) if raw else None), breakers


@contextlib.asynccontextmanager
async def conversation_lock(conversation_id: int, owner: str | None = None):
    """Hold the conversation's turn lock (no turn runs meanwhile), e.g. to deliver its messages in order.

    `owner` names the holder across retries of the same work (see `_TAKE`)."""
    token = await _acquire(conversation_id, owner)
    try:
        yield
    finally:
        await asyncio.shield(_release(conversation_id, token))


def _stop_renewing(conversation_id: int, token: str) -> None:
    _renewal().discard(f"sb:turnlock:{conversation_id}", token)


async def _release(conversation_id: int, token: str) -> None:
    _stop_renewing(conversation_id, token)
    await session.redis_client().eval(_RELEASE, 1, f"sb:turnlock:{conversation_id}", token)


async def _save_and_release(conversation_id: int, state, ttl_s: int, token: str) -> None:
    """The session state saved and the lock released in one round trip (one script: a pipeline
    of the two commands cost the client twice the CPU)."""
    _stop_renewing(conversation_id, token)
    keys = (f"sb:turnlock:{conversation_id}", session.key(conversation_id))
    await session.redis_client().eval(_SAVE_AND_RELEASE, 2, *keys, token, state.to_json(), max(ttl_s, 1))


class _Delivered:
    """What the consumer has actually received: whole messages, and the one being streamed."""

    def __init__(self):
        self.messages: list[dict] = []
        self.partial: list[str] = []

    def track(self, event: Event) -> None:
        if isinstance(event, TextDelta):
            self.partial.append(event.text)
        elif isinstance(event, MessageDone):
            self.partial = []
            self.messages.append(
                {
                    "text": event.text,
                    "buttons": event.buttons,
                    "citations": [c.__dict__ for c in event.citations],
                    "interrupted": False,
                }
            )

    def all(self, interrupted: bool) -> list[dict]:
        if interrupted and "".join(self.partial).strip():
            return [*self.messages, {"text": "".join(self.partial).strip(), "interrupted": True}]
        return self.messages


@dataclass(frozen=True)
class _Conversation:
    """The conversation's fields a turn reads: one row, no model instances."""

    pk: int
    status: str
    channel: str
    workspace_id: int
    contact_id: str
    bot_version_id: int | None
    outbound: netguard.Policy


# The turn's one read, as a plain statement: Django building this join cost ~0.5 ms of CPU on
# every turn, before its LLM request, about five times what running it costs.
_CONTEXT_SQL = f"""SELECT c.status, c.channel, c.workspace_id, c.contact_id, c.bot_version_id,
       w.tool_allowed_hosts, w.allow_private_networks
FROM {Conversation._meta.db_table} c JOIN {Workspace._meta.db_table} w ON w.id = c.workspace_id
WHERE c.id = %s
"""  # noqa: S608 - table names from the models, the id a parameter


def prefetch_context(conversation_id: int) -> asyncio.Task:
    """Start reading a coming turn's database context now; hand the task to `run_turn(context=...)`.

    For a session that already exists (the contact's memory is read only on a session's first
    turn, which then reads for itself)."""
    task = asyncio.ensure_future(_context(conversation_id, None, False))
    task.add_done_callback(lambda t: t.cancelled() or t.exception())  # a failure unused is no warning
    return task


@db
def _context(conversation_id: int, nlu_model: bytes | None, with_memory: bool):
    """Everything the turn reads from the database, in one trip to the ORM thread (one query on
    a conversation's later turns; the first also reads the contact's memory)."""
    with connection.cursor() as cursor:
        cursor.execute(_CONTEXT_SQL, [conversation_id])
        row = cursor.fetchone()
    if row is None:
        raise Conversation.DoesNotExist(f"No conversation {conversation_id}.")
    hosts = row[-2]  # JSON comes back as text from a plain cursor
    workspace = Workspace(
        tool_allowed_hosts=orjson.loads(hosts) if isinstance(hosts, str) else hosts, allow_private_networks=row[-1]
    )
    conversation = _Conversation(conversation_id, *row[:-2], netguard.Policy.for_workspace(workspace))
    if nlu_model is None and conversation.bot_version_id:
        nlu_model = _version_model(conversation.bot_version_id)
    memory = {}
    if with_memory and conversation.contact_id:
        memory = (
            ContactMemory.objects.filter(workspace_id=conversation.workspace_id, contact_id=conversation.contact_id)
            .values_list("facts", flat=True)
            .first()
            or {}
        )
    return conversation, nlu_model, memory


_record_turn = db(services.record_turn)
_record_llm_calls = db(services.record_llm_calls)
_remember_contact = db(services.remember_contact)

_models: dict[int, bytes | None] = {}


def _version_model(version_id: int) -> bytes | None:
    """A version's classifier bytes never change: read once per process."""
    if version_id not in _models:
        raw = BotVersion.objects.filter(pk=version_id).values_list("nlu_model", flat=True).first()
        _models[version_id] = bytes(raw) if raw else None
    return _models[version_id]


@db
def workspace_secrets(workspace_id: int, names: list[str]) -> dict[str, netguard.BoundSecret]:
    """The secrets of `names` a tool declares, from its own workspace only."""
    return {
        s.name: netguard.BoundSecret(s.name, s.reveal(), tuple(s.allowed_hosts or ()))
        for s in Secret.objects.filter(workspace_id=workspace_id, name__in=names)
    }


def _args(conversation, snapshot, inbound, conversation_id):
    # Accept the call shapes channels were written against: (snapshot, conversation_id=...) too.
    if isinstance(conversation, BotSnapshot):
        conversation, snapshot = None, conversation
    if conversation is None:
        conversation = conversation_id
    cid = conversation.pk if isinstance(conversation, Conversation) else int(conversation)
    if snapshot is None or inbound is None:
        raise TypeError("run_turn needs a conversation, a snapshot and an inbound message")
    return cid, snapshot, inbound


@telemetry.traced_stream("dialogue.turn", telemetry.turn_attributes)
async def run_turn(
    conversation: Conversation | int | BotSnapshot | None = None,
    snapshot: BotSnapshot | None = None,
    inbound: Inbound | None = None,
    *,
    conversation_id: int | None = None,
    mode: str = "chat",
    nlu_model: bytes | None = None,
    on_trace: Callable[[dict], None] | None = None,
    lock_owner: str | None = None,
    delivery: str = "",
    on_saved: Callable[[list[int]], None] | None = None,
    context: asyncio.Task | None = None,
    go_ahead: asyncio.Future | None = None,
) -> AsyncIterator[Event]:
    cid, snapshot, inbound = _args(conversation, snapshot, inbound, conversation_id)
    started = time.perf_counter()
    token, state, breakers = await _acquire(cid, lock_owner, with_state=True, models=_llm_models(snapshot))
    finishing = False
    try:
        if context is not None and state is not None and nlu_model is None:
            conv, nlu_blob, memory = await context
        else:
            if context is not None:
                context.cancel()
            conv, nlu_blob, memory = await _context(cid, nlu_model, state is None)
        if state is None:
            state = session.SessionState(memory=memory)
        # The stored status wins: an agent closing a handoff in the inbox gives the bot its voice back.
        state.status = conv.status
        runtime = Runtime(
            snapshot,
            channel=conv.channel,
            nlu_model=nlu_blob,
            retrieve=knowledge.retrieve,
            secrets=functools.partial(workspace_secrets, conv.workspace_id),
            outbound=conv.outbound,
            before_effects=_confirmation(go_ahead),
            breakers=breakers,
        )
        turn = Turn(snapshot, state, inbound, runtime, mode=mode)
        stored = {id(m) for m in state.history}  # redacted by the turns that stored them
        turn.timings["load_ms"] = (time.perf_counter() - started) * 1000
        delivered = _Delivered()
        completed = False
        try:
            async for event in turn.run():
                delivered.track(event)
                yield event
            await runtime.before_effects()
            completed = True
        finally:
            # Shielded: a second cancellation (the caller hanging up mid-save) must not lose the turn.
            finishing = True  # _finish and _drop release the lock
            if go_ahead is not None and not _confirmed(go_ahead):
                await asyncio.shield(_drop(cid, turn, token))
            else:
                await asyncio.shield(
                    _finish(
                        conv, snapshot, turn, delivered, completed, started, on_trace, delivery, on_saved, token, stored
                    )
                )
    finally:
        if not finishing:
            await asyncio.shield(_release(cid, token))


def _llm_models(snapshot: BotSnapshot) -> list[str]:
    """Every model the bot's prompts may call, in the order of first mention."""
    if not gateway.configured():
        return []
    prompts = snapshot.prompts or [DEFAULT_PROMPT]
    return [m for m in dict.fromkeys(m for p in prompts for m in p.models) if m]


def _confirmation(go_ahead: asyncio.Future | None) -> Callable[[], Awaitable[None]]:
    """What a turn awaits before its first effect on the world: nothing, or for a speculative
    turn its confirmation (a turn that is dropped instead never gets past this)."""
    if go_ahead is None:
        return at_once

    async def confirmed() -> None:
        # Shielded: cancelling the turn must not cancel the future its caller will still settle.
        if not await asyncio.shield(go_ahead):
            raise asyncio.CancelledError("speculative turn dropped")

    return confirmed


def _confirmed(go_ahead: asyncio.Future) -> bool:
    return go_ahead.done() and not go_ahead.cancelled() and go_ahead.result() is True


async def _drop(conversation_id: int, turn: Turn, token: str) -> None:
    """A speculative turn that was not confirmed: keep the cost of its LLM calls, nothing else."""
    try:
        if calls := [{**c, "purpose": "speculative"} for c in turn.runtime.llm_calls]:
            await _record_llm_calls(conversation_id=conversation_id, turn=turn.state.turns, llm_calls=calls)
    finally:
        await _release(conversation_id, token)


async def _finish(
    conv,
    snapshot,
    turn: Turn,
    delivered: _Delivered,
    completed: bool,
    started: float,
    on_trace,
    delivery,
    on_saved,
    token: str,
    stored: set[int],
):
    """Store the turn, then save the session state and release the lock in one round trip."""
    try:
        with remembering():  # the turn's texts reach history, messages and trace: redacted once
            await _store(conv, turn, delivered, completed, started, on_trace, delivery, on_saved, stored)
    finally:
        try:
            await _save_and_release(conv.pk, turn.state, snapshot.session_ttl_s, token)
        except BaseException:
            await _release(conv.pk, token)
            raise


async def _store(conv, turn: Turn, delivered, completed, started, on_trace, delivery, on_saved, stored):
    state = turn.state
    bot_messages = delivered.all(interrupted=not completed)
    if not completed:
        turn.trace["interrupted"] = True
        heard = " ".join(m["text"] for m in bot_messages)
        if heard and (not state.history or state.history[-1]["role"] != "assistant"):
            state.history.append({"role": "assistant", "content": heard + " …(interrupted)"})
    # Later turns see the conversation redacted; the live turn already had the raw text. What
    # earlier turns stored is redacted already, so only this turn's entries are (not O(history)).
    region, own_names = region_of(turn.snapshot.language), (turn.snapshot.name,)
    state.history = [
        m
        if id(m) in stored
        else {"role": m["role"], "content": redact(m["content"], region=region, own_names=own_names)}
        for m in state.history
    ]
    turn.timings["total_ms"] = (time.perf_counter() - started) * 1000
    telemetry.turn_done(conv.channel, turn.timings["total_ms"])
    path = turn.trace["path"]
    if path:
        turn.trace["flow"], turn.trace["node"] = path[-1].split("/", 1)
    trace = redact_obj(turn.trace)
    user_text = turn.text if turn.inbound.kind != "event" else None
    saved = await _record_turn(
        conversation_id=conv.pk,
        turn=state.turns,
        user_text=user_text,
        user_ref=turn.inbound.ref,
        delivery=delivery,
        bot_messages=bot_messages,
        trace=trace,
        timings=turn.timings,
        llm_calls=turn.runtime.llm_calls,
        handoff=turn.handoff,
        status=state.status,
        previous_status=conv.status,
        counted=user_text is not None,
        region=region,
        own_names=own_names,
    )
    if conv.contact_id and state.slots and state.slots != turn.trace.get("slots_before"):
        if facts := memory.memorable(turn.snapshot, state.slots):
            await _remember_contact(workspace_id=conv.workspace_id, contact_id=conv.contact_id, facts=facts)
    if on_trace is not None:
        on_trace({"timings": turn.timings, **trace})
    if on_saved is not None:
        on_saved(saved)


async def record_interrupted(conversation_id: int, *, heard: str) -> None:
    """Voice barge-in: keep only what the caller heard of the bot's last message.

    Waits for the cancelled turn to finish saving (it holds the conversation's lock)."""
    async with conversation_lock(conversation_id):
        await db(_narrow_last_message)(conversation_id, heard)
        state = await session.load(conversation_id)
        if state and state.history and state.history[-1]["role"] == "assistant":
            state.history[-1]["content"] = redact(heard) + " …(interrupted)"
            await session.save(conversation_id, state, None)


def _narrow_last_message(conversation_id: int, heard: str) -> None:
    last = Message.objects.filter(conversation_id=conversation_id, role=Message.Role.BOT).order_by("-id").first()
    if last is not None:
        last.text, last.interrupted = redact(heard), True
        last.save(update_fields=["text", "interrupted"])
