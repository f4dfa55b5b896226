"""Writes of the studio: console conversations, test cases and their runs.

The studio page, the admin and `manage.py test_bot` all come here.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from asgiref.sync import async_to_sync, sync_to_async
from django.db import IntegrityError, transaction
from django.utils import timezone
from pydantic import ValidationError as SchemaError

from bots.models import Bot, BotVersion
from bots.schema import BotSnapshot
from bots.selectors import draft_snapshot
from conversations.models import Conversation
from studio import runner
from studio.cases import Steps, check
from studio.models import BotTestCase

CONSOLE_CHANNEL = "studio"


class InvalidTestCase(ValueError):
    """A test case that cannot be saved; the message says why in plain words."""


def snapshot_for(bot: Bot, version: str | int | None) -> tuple[BotSnapshot, int | None]:
    """The draft (`"draft"` or None) or one of this bot's published versions, by id."""
    if version in (None, "", "draft"):
        return draft_snapshot(bot), None
    try:
        row = bot.versions.get(pk=int(version))
    except (BotVersion.DoesNotExist, TypeError, ValueError):
        raise LookupError("This bot has no such version.")
    return BotSnapshot.model_validate(row.snapshot), row.id


def start_console(*, bot: Bot, version_id: int | None, user=None, test_case: int | None = None) -> Conversation:
    metadata = {"studio_user": getattr(user, "pk", None), "draft": version_id is None}
    if test_case is not None:
        metadata["test_case"] = test_case
    return Conversation.objects.create(
        workspace_id=bot.workspace_id,
        bot=bot,
        bot_version_id=version_id,
        channel=CONSOLE_CHANNEL,
        contact_id=f"studio:{getattr(user, 'pk', 'cli')}",
        metadata=metadata,
    )


def console_turn(*, conversation: Conversation, snapshot: BotSnapshot, text: str) -> runner.ConsoleTurn:
    return async_to_sync(runner.run_turn)(conversation=conversation, snapshot=snapshot, text=text)


def create_test_case(*, bot: Bot, name: str, steps, user=None) -> BotTestCase:
    name = (name or "").strip()
    if not name:
        raise InvalidTestCase("Give the test case a name.")
    try:
        parsed = Steps.model_validate(steps)
    except SchemaError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "steps"
        raise InvalidTestCase(f"The steps are not valid ({where}: {first['msg']}).")
    try:
        with transaction.atomic():
            return BotTestCase.objects.create(
                bot=bot, name=name[:120], steps=parsed.model_dump(mode="json", exclude_defaults=True), created_by=user
            )
    except IntegrityError:
        raise InvalidTestCase(f"This bot already has a test case called “{name}”. Choose another name.")


@dataclass
class CaseResult:
    id: int
    name: str
    passed: bool
    failures: list[str] = field(default_factory=list)


@dataclass
class Report:
    version: str
    results: list[CaseResult]

    @property
    def failed(self) -> int:
        return sum(not r.passed for r in self.results)

    def as_dict(self) -> dict:
        return {
            "version": self.version,
            "total": len(self.results),
            "failed": self.failed,
            "results": [asdict(r) for r in self.results],
        }


async def _run_case(bot: Bot, case: BotTestCase, snapshot: BotSnapshot, version_id: int | None) -> CaseResult:
    conversation = await sync_to_async(start_console)(bot=bot, version_id=version_id, test_case=case.id)
    failures = []
    try:
        for number, step in enumerate(Steps.model_validate(case.steps).root, start=1):
            turn = await runner.run_turn(conversation=conversation, snapshot=snapshot, text=step.user)
            failures += [f"Step {number} (“{step.user}”): {f}" for f in check(step.expect, turn.outcome)]
            if failures:
                break  # later steps depend on this one; their failures would only repeat it
    finally:
        # A test run is not a conversation anyone needs to see in the inbox.
        await runner.forget(conversation)
    return CaseResult(case.id, case.name, not failures, failures)


async def _run_all(bot, cases, snapshot, version_id) -> list[CaseResult]:
    # One event loop for the whole run: the engine's Redis clients belong to the loop that opened them.
    return [await _run_case(bot, case, snapshot, version_id) for case in cases]


def run_test_cases(*, bot: Bot, version: str | int | None = "draft") -> Report:
    """Run every test case of the bot against the draft or a published version; records the results."""
    snapshot, version_id = snapshot_for(bot, version)
    cases = list(BotTestCase.objects.filter(bot=bot))
    results = async_to_sync(_run_all)(bot, cases, snapshot, version_id)
    now = timezone.now()
    for case, result in zip(cases, results, strict=True):
        BotTestCase.objects.filter(pk=case.pk).update(
            last_run_at=now, last_passed=result.passed, last_failures=result.failures
        )
    label = "draft" if version_id is None else f"version {bot.versions.get(pk=version_id).number}"
    return Report(label, results)
