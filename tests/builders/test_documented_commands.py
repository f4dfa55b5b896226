"""Every `manage.py` command the README and docs/ show, run as written from a fresh copy of the
repository with no DATABASE_URL, REDIS_URL, SECRET_KEY or DEBUG: each finds the embedded
services in the copy's `var/` on its own, as `make run` does."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
# Placeholders the docs use, and the values a reader would type for the demo bot.
FILL = {"<slug>": "acme-support"}
UNSET = ("DATABASE_URL", "REDIS_URL", "SECRET_KEY", "FIELD_ENCRYPTION_KEY", "DEBUG", "PUBLIC_BASE_URL")


def documented_commands() -> list[str]:
    """Shell lines of fenced blocks and inline code that run manage.py, in reading order."""
    found = []
    for doc in DOCS:
        text = doc.read_text()
        blocks = re.findall(r"```(?:sh|bash|shell)\n(.*?)```", text, re.S)
        lines = [line.split("  #")[0].strip() for block in blocks for line in block.splitlines()]
        spans = re.findall(r"(?<!`)`([^`\n]+)`(?!`)", re.sub(r"```.*?```", "", text, flags=re.S))
        for candidate in [*lines, *spans]:
            if re.match(r"^(\S+=\S+ )*(\.venv/bin/)?python manage\.py \w", candidate):
                found.append(candidate)
    return found


def as_typed(command: str) -> str:
    for placeholder, value in FILL.items():
        command = command.replace(placeholder, value)
    command = re.sub(r"\s*\[[^\]]*\]", "", command)  # optional arguments left out
    return re.sub(r"(?<![/\w])python manage\.py", ".venv/bin/python manage.py", command)


@pytest.fixture(scope="module")
def fresh_clone():
    root = Path(tempfile.mkdtemp(prefix="sb-clone-"))
    os.chmod(root, 0o755)  # pgserver runs postgres as its own user when we are root
    copy = root / "switchboard"
    skip = shutil.ignore_patterns(
        ".git", ".venv", "var", "node_modules", "test-artifacts", "staticfiles", "__pycache__"
    )
    shutil.copytree(ROOT, copy, ignore=skip)
    (copy / ".venv").symlink_to(ROOT / ".venv")
    yield copy
    shutil.rmtree(root, ignore_errors=True)


def run(clone: Path, command: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in UNSET}
    return subprocess.run(
        ["bash", "-c", command], cwd=clone, env=env, capture_output=True, text=True, timeout=300, check=False
    )


def test_the_docs_show_the_everyday_commands():
    commands = " ".join(documented_commands())
    for name in ("migrate", "seed_demo", "createsuperuser", "shell", "test_bot", "collectstatic"):
        assert f"manage.py {name}" in commands


def test_every_documented_command_runs_as_written(fresh_clone):
    for command in documented_commands():
        result = run(fresh_clone, as_typed(command))
        assert result.returncode == 0, f"`{command}` failed:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}"
    # A development key was generated, and what the commands did is there for the next one.
    assert (fresh_clone / "var" / "secret_key").exists()
    count = run(
        fresh_clone,
        '.venv/bin/python manage.py shell -c "from django.contrib.auth.models import User; '
        "print(sorted(User.objects.values_list('username', flat=True)))\"",
    )
    assert "['admin', 'ana']" in count.stdout, count.stderr


def test_a_mistyped_bot_says_so_and_fails(fresh_clone):
    result = run(fresh_clone, ".venv/bin/python manage.py test_bot no-such-bot")
    assert result.returncode != 0
    assert "No bot with the slug “no-such-bot”" in result.stderr
