"""Bots as code: export a bot's definition to YAML and import it into any workspace.

The document is the published snapshot's fields at the top level (so an error's path, such
as `flows[1].graph.nodes[3].next`, is the same in the YAML and in the validator), plus
`knowledge_bases` and `secrets` as names only (channels never carry credentials). Secrets
never leave the workspace: a tool lists the names it needs and the target workspace must
hold secrets of those names.
"""

from __future__ import annotations

import yaml
from django.db import transaction
from pydantic import ValidationError as SchemaError

from bots import claims, selectors
from bots.models import Bot, Workspace
from bots.schema import NODE_KINDS, BotSnapshot
from bots.services import apply_snapshot
from bots.validation import validate_bot

FORMAT_VERSION = 1
_SNAPSHOT_ONLY = {"bot_id", "schema_version", "knowledge_bases"}


class _NoAliasLoader(yaml.SafeLoader):
    """Refuses anchors and aliases: a few lines of `*alias` can expand into gigabytes (billion laughs)."""

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            raise yaml.composer.ComposerError(
                None, None, "anchors and aliases (& and *) are not allowed", self.peek_event().start_mark
            )
        return super().compose_node(parent, index)


class ImportFailed(Exception):
    """Every problem of a YAML document: `errors` is a list of {path, code, message}."""

    def __init__(self, errors: list[dict]):
        super().__init__(f"{len(errors)} problem(s) in the YAML document")
        self.errors = errors


def export_bot(bot: Bot) -> str:
    snapshot = selectors.draft_snapshot(bot)
    doc: dict = {"switchboard": FORMAT_VERSION}
    doc |= snapshot.model_dump(mode="json", exclude=_SNAPSHOT_ONLY, exclude_defaults=True)
    if snapshot.knowledge_bases:
        doc["knowledge_bases"] = [kb["name"] for kb in snapshot.knowledge_bases]
    secrets = sorted({name for tool in snapshot.tools for name in tool.secrets})
    if secrets:
        doc["secrets"] = secrets  # references only: values stay in the workspace
    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=100)


def import_bot(*, workspace: Workspace, text: str) -> Bot:
    """Create the bot (or replace the draft of the bot with the same slug) from a YAML document.

    Raises ImportFailed listing every problem with its YAML path; then nothing has changed.
    """
    snapshot = _parse(workspace, text)
    with transaction.atomic():
        bot = Bot.objects.filter(workspace=workspace, slug=snapshot.slug).first() or Bot(workspace=workspace)
        return apply_snapshot(bot=bot, snapshot=snapshot)


def _parse(workspace: Workspace, text: str) -> BotSnapshot:
    try:
        data = yaml.load(text, Loader=_NoAliasLoader)  # noqa: S506 - a SafeLoader, minus aliases
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else "the document"
        raise ImportFailed([{"path": where, "code": "yaml.syntax", "message": f"This is not valid YAML: {exc}"}])
    if not isinstance(data, dict):
        raise ImportFailed(
            [{"path": "", "code": "yaml.not_a_bot", "message": "The document must be a mapping of fields."}]
        )
    errors: list[dict] = []
    if data.pop("switchboard", None) != FORMAT_VERSION:
        errors.append(
            {
                "path": "switchboard",
                "code": "yaml.version",
                "message": f"Add `switchboard: {FORMAT_VERSION}` at the top.",
            }
        )
    data.pop("secrets", None)  # informational: tools name the secrets they use
    kb_names = data.pop("knowledge_bases", []) or []
    kbs = {kb.name: kb.id for kb in workspace.knowledge_bases.filter(name__in=[str(n) for n in kb_names])}
    for i, name in enumerate(kb_names):
        if name not in kbs:
            errors.append(
                {
                    "path": f"knowledge_bases[{i}]",
                    "code": "knowledge_base.missing",
                    "message": f"This workspace has no knowledge base called “{name}”. Create it first, then import again.",
                }
            )
    data["knowledge_bases"] = [{"id": kbs[n], "name": n} for n in kb_names if n in kbs]
    try:
        snapshot = BotSnapshot.model_validate({**data, "bot_id": 0})
    except SchemaError as exc:
        raise ImportFailed(errors + _schema_errors(exc))
    errors += [
        {"path": p.path, "code": p.code, "message": p.message}
        for p in validate_bot(snapshot, secrets=selectors.secret_names(workspace.id))
    ]
    errors += _claim_errors(workspace, snapshot)
    if errors:
        raise ImportFailed(errors)
    return snapshot


def _claim_errors(workspace: Workspace, snapshot: BotSnapshot) -> list[dict]:
    """Numbers the import would connect: written as E.164, and not another workspace's (bots/claims.py)."""
    replaced = Bot.objects.filter(workspace=workspace, slug=snapshot.slug).values_list("id", flat=True).first()
    errors = []
    for i, channel in enumerate(snapshot.channels):
        if not channel.phone_number:
            continue
        path = f"channels[{i}].phone_number"
        try:
            channel.phone_number = claims.normalise_number(channel.phone_number)
        except ValueError as exc:
            errors.append({"path": path, "code": "channel.number", "message": str(exc)})
            continue
        problem = claims.claim_problem(
            kind=channel.kind, workspace_id=workspace.id, phone_number=channel.phone_number, exclude_bot_id=replaced
        )
        if problem:
            errors.append({"path": path, "code": "channel.claimed", "message": problem})
    return errors


def _schema_errors(exc: SchemaError, prefix: str = "") -> list[dict]:
    out = []
    for err in exc.errors():
        path = prefix
        loc = list(err["loc"])
        for i, part in enumerate(loc):
            if isinstance(part, int):
                path += f"[{part}]"
            elif part in NODE_KINDS and i and isinstance(loc[i - 1], int):
                continue  # pydantic names the node kind it tried; the YAML has no such level
            else:
                path += f".{part}" if path else str(part)
        out.append({"path": path, "code": "yaml.invalid", "message": f"{err['msg']}."})
    return out
