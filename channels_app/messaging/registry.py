"""Importing this module registers every messaging platform (`base.register`)."""

from channels_app.messaging import slack, sms, whatsapp  # noqa: F401
