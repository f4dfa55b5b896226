"""Writes to bot definitions. Admin, API, YAML import and management commands all come here.

Side effects outside the database (the shared cache of current versions) run after commit.
"""

from __future__ import annotations

import logging
import secrets as pysecrets

from django.core.cache import cache
from django.db import transaction
from django.db.models import F, Max

from bots import selectors
from bots.models import (
    API_SCOPES,
    ApiKey,
    Bot,
    BotVersion,
    ChannelConnection,
    EscalationRule,
    Flow,
    Intent,
    Prompt,
    Secret,
    Tool,
    Workspace,
    hash_api_key,
)
from bots.schema import BotSnapshot, FlowGraph
from bots.validation import Problem
from dialogue import nlu

log = logging.getLogger(__name__)


class InvalidDefinition(Exception):
    """The bot definition has problems; `problems` lists every one."""

    def __init__(self, problems: list[Problem]):
        super().__init__(f"{len(problems)} problem(s) in the bot definition")
        self.problems = problems


class StaleRevision(Exception):
    """Someone saved the flow since the editor loaded it."""

    def __init__(self, current: int):
        super().__init__(f"the flow is at revision {current}")
        self.current = current


# --- Flows -------------------------------------------------------------------------------------------


def save_flow(*, flow: Flow, revision: int, graph: dict | None = None, **fields) -> Flow:
    """Save a flow only if nobody saved it since `revision` was read; bumps the revision.

    `graph` must satisfy `FlowGraph` (raises pydantic's ValidationError). Semantic problems
    (unknown targets, ...) do not block saving a draft: the builder shows them, publish refuses them.
    """
    values = dict(fields)
    if graph is not None:
        values["graph"] = FlowGraph.model_validate(graph).model_dump(mode="json", exclude_defaults=True)
    with transaction.atomic():
        if values.get("is_entry"):
            Flow.objects.filter(bot_id=flow.bot_id, is_entry=True).exclude(pk=flow.pk).update(is_entry=False)
        updated = Flow.objects.filter(pk=flow.pk, revision=revision).update(revision=F("revision") + 1, **values)
        if not updated:
            raise StaleRevision(Flow.objects.values_list("revision", flat=True).get(pk=flow.pk))
    flow.refresh_from_db()
    return flow


def create_flow(*, bot: Bot, name: str, graph: dict | None = None, **fields) -> Flow:
    graph = FlowGraph.model_validate(graph or {}).model_dump(mode="json", exclude_defaults=True)
    with transaction.atomic():
        if fields.get("is_entry"):
            bot.flows.filter(is_entry=True).update(is_entry=False)
        return Flow.objects.create(bot=bot, name=name, graph=graph, **fields)


# --- Publish and rollback -------------------------------------------------------------------------------


def publish_bot(*, bot: Bot, user, note: str = "") -> tuple[BotVersion, bool]:
    """Validate the draft and make it the current version. Returns (version, created).

    Publishing definitions identical to the current version creates nothing and returns it.
    Raises InvalidDefinition listing every problem.
    """
    snapshot = selectors.draft_snapshot(bot)
    problems = selectors.draft_problems(bot, snapshot)
    if problems:
        raise InvalidDefinition(problems)
    return _make_current(bot=bot, snapshot=snapshot, user=user, note=note)


def rollback_bot(*, bot: Bot, version: BotVersion, user) -> tuple[BotVersion, bool]:
    """Publish an earlier version's snapshot again, as a new version, and restore the draft to it
    (otherwise the next publish would silently undo the rollback)."""
    if version.bot_id != bot.id:
        raise ValueError("that version belongs to another bot")
    snapshot = BotSnapshot.model_validate(version.snapshot)
    with transaction.atomic():
        apply_snapshot(bot=bot, snapshot=snapshot)
        return _make_current(bot=bot, snapshot=snapshot, user=user, note=f"Rolled back to version {version.number}")


def _make_current(*, bot: Bot, snapshot: BotSnapshot, user, note: str) -> tuple[BotVersion, bool]:
    digest = selectors.content_hash(snapshot)
    current = _current(bot)
    if current and current.content_hash == digest:
        return current, False
    model = nlu.train(snapshot.intents)  # before the lock: training takes a moment
    with transaction.atomic():
        Bot.objects.select_for_update().only("id").get(pk=bot.pk)  # one publish of a bot at a time
        current = _current(bot)  # again, under the lock: a simultaneous publish may have won
        if current and current.content_hash == digest:
            return current, False
        number = (bot.versions.aggregate(n=Max("number"))["n"] or 0) + 1
        bot.versions.filter(is_current=True).update(is_current=False)
        version = BotVersion.objects.create(
            bot=bot,
            number=number,
            snapshot=snapshot.model_dump(mode="json"),
            content_hash=digest,
            author=user,
            note=note,
            is_current=True,
            nlu_model=model,
        )
        transaction.on_commit(lambda: cache.set(selectors.current_version_key(bot.id), version.id, timeout=None))
    log.info("bot published", extra={"bot_id": bot.id, "version": number})
    return version, True


def _current(bot: Bot) -> BotVersion | None:
    return bot.versions.filter(is_current=True).defer("snapshot", "nlu_model").first()


# --- Replacing a draft wholesale (YAML import, rollback) --------------------------------------------------

_PARTS = (
    (Prompt, "prompts", ("system", "mode", "model", "fallback_models", "temperature", "max_tokens")),
    (
        Tool,
        "tools",
        (
            "description",
            "method",
            "url",
            "headers",
            "body",
            "parameters",
            "secrets",
            "timeout_s",
            "response_field",
            "max_chars",
        ),
    ),
    (Intent, "intents", ("examples", "always_handoff")),
    (
        EscalationRule,
        "escalation_rules",
        ("trigger", "threshold", "intents", "keywords", "action", "queue", "transfer_to", "message"),
    ),
)


def apply_snapshot(*, bot: Bot, snapshot: BotSnapshot) -> Bot:
    """Make the bot's draft equal to `snapshot` (its settings, flows and parts).

    Flows are updated in place (their revision goes up, so an open builder sees the change);
    knowledge bases are linked by name within the bot's workspace. Channels are matched by kind and
    phone number and keep their stored credentials; channels the snapshot does not mention stay.
    """
    with transaction.atomic():
        for field in ("name", "slug", "language", "greeting", "session_ttl_s", "nlu", "nlu_threshold", "history_turns"):
            setattr(bot, field, getattr(snapshot, field))
        bot.widget = snapshot.widget.model_dump(mode="json")
        bot.voice = snapshot.voice.model_dump(mode="json")
        bot.save()
        keep = []
        for spec in snapshot.flows:
            values = {
                "is_entry": spec.is_entry,
                "trigger_intents": spec.trigger_intents,
                "trigger_keywords": spec.trigger_keywords,
                "graph": spec.graph.model_dump(mode="json", exclude_defaults=True),
            }
            updated = bot.flows.filter(name=spec.name).update(revision=F("revision") + 1, **values)
            if not updated:
                Flow.objects.create(bot=bot, name=spec.name, **values)
            keep.append(spec.name)
        bot.flows.exclude(name__in=keep).delete()
        for model, attr, fields in _PARTS:
            model.objects.filter(bot=bot).delete()
            model.objects.bulk_create(
                model(bot=bot, name=spec.name, **{f: getattr(spec, f) for f in fields})
                for spec in getattr(snapshot, attr)
            )
        names = [kb["name"] for kb in snapshot.knowledge_bases]
        bot.knowledge_bases.set(bot.workspace.knowledge_bases.filter(name__in=names))
        for spec in snapshot.channels:
            ChannelConnection.objects.update_or_create(
                bot=bot,
                kind=spec.kind,
                phone_number=spec.phone_number,
                defaults={"settings": spec.settings, "is_active": spec.is_active},
            )
    return bot


# --- Secrets and API keys ------------------------------------------------------------------------------


def set_secret(*, workspace: Workspace, name: str, value: str, hosts: list[str] | None = None) -> Secret:
    """Create or replace a secret; `hosts` (when given) are the only hosts it may be sent to."""
    secret = Secret.objects.filter(workspace=workspace, name=name).first() or Secret(workspace=workspace, name=name)
    secret.set_value(value)
    if hosts is not None:
        secret.allowed_hosts = [h.strip().lower().rstrip(".") for h in hosts if h.strip()]
    secret.save()
    return secret


def create_api_key(*, workspace: Workspace, name: str, scopes: list[str], user=None) -> tuple[ApiKey, str]:
    """Returns (key, raw). The raw key is shown once: only its hash is stored."""
    key = ApiKey(workspace=workspace, name=name, scopes=scopes, created_by=user)
    return key, issue_api_key(key)


def issue_api_key(key: ApiKey) -> str:
    """Give an unsaved key its secret, save it, and return the raw key (the only time it exists)."""
    unknown = sorted(set(key.scopes) - set(API_SCOPES))
    if unknown:
        raise ValueError(f"unknown scope(s): {', '.join(unknown)}; choose from {', '.join(API_SCOPES)}")
    key.prefix = "sb_" + pysecrets.token_hex(4)
    raw = f"{key.prefix}_{pysecrets.token_urlsafe(32)}"
    key.key_hash = hash_api_key(raw)
    key.scopes = sorted(set(key.scopes))
    key.save()
    return raw
