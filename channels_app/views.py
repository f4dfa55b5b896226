"""The demo page: the widget embedded with the demo bot, as a site owner would embed it."""

from __future__ import annotations

from django.conf import settings
from django.http import Http404
from django.shortcuts import render

from bots.models import Bot

DEMO_WORKSPACE, DEMO_BOT = "demo", "acme-support"


def demo(request):
    bot = Bot.objects.filter(workspace__slug=DEMO_WORKSPACE, slug=DEMO_BOT).first()
    if bot is None:
        raise Http404("The demo bot is not seeded yet: run `make run` (or `manage.py seed_demo`).")
    # The page loads the widget from the origin it was served from, so it works on any host and
    # port; the snippet it shows for copying uses PUBLIC_BASE_URL, the address others reach.
    context = {"bot": bot, "base": request.build_absolute_uri("/").rstrip("/"), "public_base": settings.PUBLIC_BASE_URL}
    return render(request, "demo.html", context)
