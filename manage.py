#!/usr/bin/env python
"""Django's command line. Without `DATABASE_URL` / `REDIS_URL` it uses the embedded PostgreSQL
and Redis in `var/`, as `make run` does (joining them when `make run` is already running)."""

import os
import sys
from pathlib import Path

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    if not (os.environ.get("DATABASE_URL") and os.environ.get("REDIS_URL")):
        import atexit

        from config import embedded

        atexit.register(embedded.for_development(Path(__file__).resolve().parent / "var", os.environ).stop)
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
