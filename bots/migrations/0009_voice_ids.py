"""Voice ids are now checked (letters, digits, - and _): one that is not is replaced by the default
voice (the fallback by none), in drafts and in published versions.

Versions are immutable otherwise, but one holding such an id would no longer load, which would
silence the bot on every channel; and the id never named a voice ElevenLabs could speak."""

import re

from django.db import migrations
from django.db.models import Q

VOICE_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
REPLACEMENTS = {"tts_voice": "21m00Tcm4TlvDq8ikWAM", "tts_fallback_voice": ""}


def _repaired(voice) -> bool:
    """Replace bad ids in `voice` in place; whether anything changed."""
    if not isinstance(voice, dict):
        return False
    bad = [key for key in REPLACEMENTS if key in voice and not _allowed(key, voice[key])]
    voice.update({key: REPLACEMENTS[key] for key in bad})
    return bool(bad)


def _allowed(key: str, value) -> bool:
    return isinstance(value, str) and (VOICE_ID.fullmatch(value) or (value == "" and key == "tts_fallback_voice"))


def _suspects(prefix: str) -> Q:
    """Rows whose voice may hold a bad id (checked again in Python), so versions are not all read."""
    return (
        Q(**{f"{prefix}__has_key": "tts_voice"}) & ~Q(**{f"{prefix}__tts_voice__regex": r"^[A-Za-z0-9_-]{1,64}$"})
    ) | (
        Q(**{f"{prefix}__has_key": "tts_fallback_voice"})
        & ~Q(**{f"{prefix}__tts_fallback_voice__regex": r"^[A-Za-z0-9_-]{0,64}$"})
    )


def repair(apps, schema_editor):
    for bot in apps.get_model("bots", "Bot").objects.filter(_suspects("voice")).only("voice"):
        if _repaired(bot.voice):
            bot.save(update_fields=["voice"])
    for version in apps.get_model("bots", "BotVersion").objects.filter(_suspects("snapshot__voice")).only("snapshot"):
        if _repaired(version.snapshot.get("voice")):
            version.save(update_fields=["snapshot"])


class Migration(migrations.Migration):
    dependencies = [("bots", "0008_tolerant_barge_in")]

    operations = [migrations.RunPython(repair, migrations.RunPython.noop)]
