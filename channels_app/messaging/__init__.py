"""Messaging channels on one adapter contract: WhatsApp (Cloud API), Slack and Twilio SMS.

webhook (`webhooks.py`) → signature checked on the raw body → de-duplicated by the platform's
event id and acknowledged at once (`intake.py`) → the turn runs on a Celery worker (`worker.py`)
→ replies sent through the platform's API with retries (`outbox.py`). Each platform is one
module (`whatsapp.py`, `slack.py`, `sms.py`) implementing `base.Adapter`.
"""
