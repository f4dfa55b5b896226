"""Reads of bot definitions: the draft as a snapshot, and the published snapshot channels serve."""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache

from asgiref.sync import sync_to_async
from django.core.cache import cache

from bots.models import Bot, BotVersion, Secret
from bots.schema import (
    BotSnapshot,
    ChannelSpec,
    EscalationSpec,
    FlowGraph,
    FlowSpec,
    IntentSpec,
    PromptSpec,
    ToolSpec,
    VoiceSettings,
    WidgetSettings,
)
from bots.validation import Problem, validate_bot


class NotPublished(LookupError):
    """The bot has no published version yet."""


def knowledge_bases_of(bot: Bot) -> list[dict]:
    return [{"id": kb.id, "name": kb.name} for kb in bot.knowledge_bases.order_by("name")]


def draft_snapshot(bot: Bot) -> BotSnapshot:
    """The bot as it is being edited, resolved like a published version (the test console runs it)."""
    return BotSnapshot(
        bot_id=bot.id,
        name=bot.name,
        slug=bot.slug,
        language=bot.language,
        greeting=bot.greeting,
        session_ttl_s=bot.session_ttl_s,
        nlu=bot.nlu,
        nlu_threshold=bot.nlu_threshold,
        history_turns=bot.history_turns,
        widget=WidgetSettings.model_validate(bot.widget),
        voice=VoiceSettings.model_validate(bot.voice),
        flows=[
            FlowSpec(
                name=f.name,
                is_entry=f.is_entry,
                trigger_intents=f.trigger_intents,
                trigger_keywords=f.trigger_keywords,
                graph=FlowGraph.model_validate(f.graph),
            )
            for f in bot.flows.all()
        ],
        prompts=[
            PromptSpec(
                name=p.name,
                system=p.system,
                mode=p.mode,
                model=p.model,
                fallback_models=p.fallback_models,
                temperature=p.temperature,
                max_tokens=p.max_tokens,
            )
            for p in bot.prompts.all()
        ],
        tools=[
            ToolSpec(
                name=t.name,
                description=t.description,
                method=t.method,
                url=t.url,
                headers=t.headers,
                body=t.body,
                parameters=t.parameters or {"type": "object", "properties": {}},
                secrets=t.secrets,
                timeout_s=t.timeout_s,
                response_field=t.response_field,
                max_chars=t.max_chars,
            )
            for t in bot.tools.all()
        ],
        intents=[
            IntentSpec(name=i.name, examples=i.examples, always_handoff=i.always_handoff) for i in bot.intents.all()
        ],
        escalation_rules=[
            EscalationSpec(
                name=r.name,
                trigger=r.trigger,
                threshold=r.threshold,
                intents=r.intents,
                keywords=r.keywords,
                action=r.action,
                queue=r.queue,
                transfer_to=r.transfer_to,
                message=r.message,
            )
            for r in bot.escalation_rules.all()
        ],
        knowledge_bases=knowledge_bases_of(bot),
        channels=[
            ChannelSpec(kind=c.kind, settings=c.settings, phone_number=c.phone_number, is_active=c.is_active)
            for c in bot.channels.all()
        ],
    )


def secret_names(workspace_id: int) -> set[str]:
    return set(Secret.objects.filter(workspace_id=workspace_id).values_list("name", flat=True))


def draft_problems(bot: Bot, snapshot: BotSnapshot | None = None) -> list[Problem]:
    """Everything to fix before the draft can be published, checked against the workspace's secrets."""
    return validate_bot(snapshot or draft_snapshot(bot), secrets=secret_names(bot.workspace_id))


def content_hash(snapshot: BotSnapshot) -> str:
    """Same definitions, same hash: database ids (the bot's, its knowledge bases') are left out,
    so a copy imported into another workspace hashes the same."""
    data = snapshot.model_dump(mode="json", exclude={"bot_id"})
    data["knowledge_bases"] = [kb["name"] for kb in snapshot.knowledge_bases]
    return hashlib.sha256(json.dumps(data, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


# --- The published snapshot, cached ------------------------------------------------------------------
# Channels ask for it on every turn. The current version id lives in the shared cache (Redis),
# set by publish after commit; the parsed snapshot is kept in process memory per version id,
# which never changes. A turn therefore costs one Redis GET and no database query.


def current_version_key(bot_id: int) -> str:
    return f"bots:current-version:{bot_id}"


@lru_cache(maxsize=256)
def _load_version(version_id: int) -> tuple[BotVersion, BotSnapshot]:
    version = BotVersion.objects.get(pk=version_id)
    return version, BotSnapshot.model_validate(version.snapshot)


def published_snapshot(bot_id: int) -> tuple[BotVersion, BotSnapshot]:
    version_id = cache.get(current_version_key(bot_id))
    if version_id is None:
        version_id = BotVersion.objects.filter(bot_id=bot_id, is_current=True).values_list("id", flat=True).first()
        if version_id is None:
            raise NotPublished(f"bot {bot_id} has no published version")
        cache.set(current_version_key(bot_id), version_id, timeout=None)
    return _load_version(version_id)


apublished_snapshot = sync_to_async(published_snapshot)


def versions_of(bot: Bot):
    return bot.versions.select_related("author").defer("nlu_model", "snapshot")
