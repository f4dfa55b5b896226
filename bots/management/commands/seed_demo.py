"""Create (idempotently) the demo workspace, the admin login and the demo bot."""

import os
import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from bots.demo import seed_demo_bot
from bots.models import Membership, Workspace
from knowledge.demo import seed_demo_knowledge


class Command(BaseCommand):
    help = "Seed the demo workspace, an admin user and the demo bot. Safe to run again."

    def handle(self, *args, **options):
        with transaction.atomic():
            workspace, _ = Workspace.objects.get_or_create(slug="demo", defaults={"name": "Demo workspace"})
            User = get_user_model()
            password = os.environ.get("SWITCHBOARD_ADMIN_PASSWORD") or None
            user = User.objects.filter(username="admin").first()
            created_password = None
            if user is None:
                created_password = password or secrets.token_urlsafe(12)
                user = User.objects.create_superuser("admin", "admin@example.com", created_password)
            elif password and not user.check_password(password):
                user.set_password(password)
                user.save(update_fields=["password"])
            Membership.objects.get_or_create(user=user, workspace=workspace, defaults={"role": Membership.Role.OWNER})
            bot = seed_demo_bot(workspace, user)
            seed_demo_knowledge(workspace, bot)
        if created_password and not password:
            self.stdout.write(f"Admin login created — username: admin  password: {created_password}  (shown once)")
        elif created_password:
            self.stdout.write("Admin login created — username: admin, password from SWITCHBOARD_ADMIN_PASSWORD")
        else:
            self.stdout.write(
                "Admin login: username admin (password shown on first run; "
                "reset with `.venv/bin/python manage.py changepassword admin`)"
            )
        self.stdout.write(f"Demo bot: {bot.name} (public key {bot.public_key})")
