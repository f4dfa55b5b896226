"""`python manage.py test_bot <bot-slug>`: run a bot's test cases; exits non-zero when any fails."""

from django.core.management.base import BaseCommand, CommandError

from bots.models import Bot
from studio.services import run_test_cases


class Command(BaseCommand):
    help = "Run a bot's test cases against its draft (or a published version) and report failures."

    def add_arguments(self, parser):
        parser.add_argument("bot", help="The bot's slug (add --workspace when several workspaces use it).")
        parser.add_argument("--workspace", help="The workspace's slug.")
        parser.add_argument(
            "--published", type=int, metavar="N", help="Run against published version N, not the draft."
        )

    def handle(self, *args, bot, workspace=None, published=None, **options):
        bots = Bot.objects.filter(slug=bot)
        if workspace:
            bots = bots.filter(workspace__slug=workspace)
        found = list(bots[:2])
        if not found:
            raise CommandError(f"No bot with the slug “{bot}”.")
        if len(found) > 1:
            raise CommandError(f"Several workspaces have a bot “{bot}”; add --workspace.")
        target = found[0]
        version_id = None
        if published is not None:
            row = target.versions.filter(number=published).first()
            if row is None:
                raise CommandError(f"Bot “{bot}” has no version {published}.")
            version_id = row.id
        report = run_test_cases(bot=target, version=version_id or "draft")
        if not report.results:
            self.stdout.write(f"{target.name} has no test cases.")
            return
        for result in report.results:
            mark = "PASS" if result.passed else "FAIL"
            self.stdout.write(f"{mark}  {result.name}")
            for failure in result.failures:
                self.stdout.write(f"      {failure}")
        summary = f"{len(report.results) - report.failed} passed, {report.failed} failed ({report.version})"
        if report.failed:
            raise CommandError(summary)
        self.stdout.write(self.style.SUCCESS(summary))
