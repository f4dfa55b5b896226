"""Validate, publish, version history, rollback and diff."""

from datetime import datetime

from ninja import Router, Schema, Status
from pydantic import Field

from bots import access, selectors, services
from bots.access import PUBLISH, READ
from bots.api.common import AUTH, ERRORS, Problem, user_of
from bots.diff import diff_snapshots
from bots.models import BotVersion
from config.api import ApiError

router = Router(auth=AUTH, tags=["versions"])


# --- Validate, publish, versions, rollback, diff ----------------------------------------------------------


class ValidationOut(Schema):
    ok: bool
    problems: list[Problem]


class PublishIn(Schema):
    note: str = Field(default="", max_length=300)


class VersionOut(Schema):
    id: int
    number: int
    content_hash: str
    note: str
    author: str | None
    created_at: datetime
    is_current: bool

    @staticmethod
    def resolve_author(obj):
        return obj.author.get_username() if obj.author else None


class PublishOut(VersionOut):
    created: bool


class RollbackIn(Schema):
    version_id: int


class ChangeOut(Schema):
    kind: str
    where: str
    before: str
    after: str
    text: str


def _problems_error(problems):
    return ApiError(
        422,
        "invalid_definition",
        f"The bot has {len(problems)} problem(s) to fix before it can be published.",
        [p.as_dict() for p in problems],
    )


@router.post("/bots/{bot_id}/validate", response={200: ValidationOut, **ERRORS})
def validate(request, bot_id: int):
    bot = access.access_bot(request.auth, bot_id, READ)
    problems = selectors.draft_problems(bot)
    return {"ok": not problems, "problems": [p.as_dict() for p in problems]}


def _publish_out(version: BotVersion, created: bool) -> BotVersion:
    version.created = created  # read by PublishOut
    return version


@router.post("/bots/{bot_id}/publish", response={200: PublishOut, 201: PublishOut, **ERRORS})
def publish(request, bot_id: int, data: PublishIn):
    """Publish the draft. 201 with the new version, or 200 with the current one if nothing changed."""
    bot = access.access_bot(request.auth, bot_id, PUBLISH)
    try:
        version, created = services.publish_bot(bot=bot, user=user_of(request), note=data.note)
    except services.InvalidDefinition as exc:
        raise _problems_error(exc.problems)
    return Status(201 if created else 200, _publish_out(version, created))


@router.get("/bots/{bot_id}/versions", response={200: list[VersionOut], **ERRORS})
def list_versions(request, bot_id: int):
    return selectors.versions_of(access.access_bot(request.auth, bot_id, READ))


@router.get("/versions/{version_id}/snapshot", response={200: dict, **ERRORS})
def get_snapshot(request, version_id: int):
    return access.access_part(request.auth, BotVersion, version_id, READ).snapshot


@router.post("/bots/{bot_id}/rollback", response={200: PublishOut, 201: PublishOut, **ERRORS})
def rollback(request, bot_id: int, data: RollbackIn):
    bot = access.access_bot(request.auth, bot_id, PUBLISH)
    version = access.access_part(request.auth, BotVersion, data.version_id, READ)
    if version.bot_id != bot.id:
        raise ApiError(404, "not_found", "This bot has no such version.")
    version, created = services.rollback_bot(bot=bot, version=version, user=user_of(request))
    return Status(201 if created else 200, _publish_out(version, created))


@router.get("/bots/{bot_id}/diff", response={200: list[ChangeOut], **ERRORS})
def diff(request, bot_id: int, old: int, new: int):
    """What changed from version number `old` to version number `new`."""
    bot = access.access_bot(request.auth, bot_id, READ)
    found = {v.number: v.snapshot for v in bot.versions.filter(number__in=[old, new]).only("number", "snapshot")}
    missing = [n for n in (old, new) if n not in found]
    if missing:
        raise ApiError(404, "not_found", f"This bot has no version {missing[0]}.")
    changes = diff_snapshots(found[old], found[new])
    return [{"kind": c.kind, "where": c.where, "before": c.before, "after": c.after, "text": str(c)} for c in changes]
