"""Barge-in sensitivity "low" is now called "tolerant": drafts say so, and the admin's choice matches.

Published versions keep their JSON; loading one maps the earlier name (`VoiceSettings`)."""

from django.db import migrations


def rename(apps, schema_editor):
    Bot = apps.get_model("bots", "Bot")
    for bot in Bot.objects.filter(voice__barge_in_sensitivity="low"):
        bot.voice["barge_in_sensitivity"] = "tolerant"
        bot.save(update_fields=["voice"])


def rename_back(apps, schema_editor):
    Bot = apps.get_model("bots", "Bot")
    for bot in Bot.objects.filter(voice__barge_in_sensitivity="tolerant"):
        bot.voice["barge_in_sensitivity"] = "low"
        bot.save(update_fields=["voice"])


class Migration(migrations.Migration):
    dependencies = [("bots", "0007_builder_settings")]

    operations = [migrations.RunPython(rename, rename_back)]
