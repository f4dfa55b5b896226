"""The deployment files: the compose file validates (with `docker compose config` where the plugin
is installed, and by reading it here in any case) and the image is multi-stage, builds the
front end from its sources and runs as a user without privileges."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from unittest import mock

import pytest
import yaml

from config.env import Env

ROOT = Path(__file__).resolve().parents[2]
LONG_RUNNING = {"db", "redis", "web", "worker", "worker-turns", "beat"}
ENV = {
    "SECRET_KEY": "s" * 50,
    "FIELD_ENCRYPTION_KEY": "k" * 44,
    "POSTGRES_PASSWORD": "pw",
    "ALLOWED_HOSTS": "bots.example.com",
    "PUBLIC_BASE_URL": "https://bots.example.com",
}


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_compose_runs_every_part_with_health_checks(compose):
    services = compose["services"]
    assert set(services) == LONG_RUNNING | {"migrate"}
    for name in LONG_RUNNING:
        check = services[name]["healthcheck"]["test"]
        assert check[0] in ("CMD", "CMD-SHELL") and len(check) > 1, name
    assert services["db"]["image"].startswith("pgvector/pgvector:")
    # Migrations run once, before anything that uses the database starts.
    for name in ("web", "worker", "worker-turns", "beat"):
        assert services[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert services["migrate"]["depends_on"]["db"]["condition"] == "service_healthy"
    assert int(services["web"]["environment"]["WEB_WORKERS"].split(":-")[1].rstrip("}")) > 1
    assert " beat " in " ".join(services["beat"]["command"]) + " " and "deploy" not in services["beat"]
    # Web and workers share uploaded documents.
    for name in ("web", "worker", "worker-turns"):
        assert "media:/app/var/media" in services[name]["volumes"]
    # Required secrets fail loudly when missing instead of starting with an empty value.
    assert services["web"]["environment"]["SECRET_KEY"].startswith("${SECRET_KEY:?")


def _compose() -> list[str]:
    """Docker's compose plugin, or the standalone `docker-compose` (`make test` installs it)."""
    docker = shutil.which("docker")
    if docker and subprocess.run([docker, "compose", "version"], capture_output=True).returncode == 0:
        return [docker, "compose"]
    standalone = shutil.which("docker-compose")
    assert standalone, "docker compose is needed to check docker-compose.yml: apt-get install docker-compose"
    return [standalone]


def test_compose_config_validates_and_refuses_a_missing_secret(tmp_path):
    def config(env: dict) -> subprocess.CompletedProcess:
        env_file = tmp_path / ".env"
        env_file.write_text("".join(f"{k}={v}\n" for k, v in env.items()))
        command = [*_compose(), "-f", str(ROOT / "docker-compose.yml"), "--env-file", str(env_file), "config", "-q"]
        # Only the .env file: compose lets the shell's variables (the tests' own SECRET_KEY) win.
        return subprocess.run(command, capture_output=True, text=True, cwd=tmp_path, env={"PATH": os.environ["PATH"]})

    result = config(ENV)
    assert result.returncode == 0, result.stderr
    refused = config({k: v for k, v in ENV.items() if k != "SECRET_KEY"})
    assert refused.returncode != 0 and "set SECRET_KEY in .env" in refused.stderr


def test_the_image_builds_the_front_end_installs_the_lock_and_drops_root():
    dockerfile = (ROOT / "Dockerfile").read_text()
    stages = re.findall(r"^FROM .*$", dockerfile, re.M)
    assert len(stages) == 3 and stages[0].startswith("FROM node:")
    assert "npm ci" in dockerfile and "npm run build" in dockerfile
    assert "--require-hashes" in dockerfile and "requirements.lock" in dockerfile
    users = re.findall(r"^USER (\S+)$", dockerfile, re.M)
    assert users and users[-1] not in ("root", "0")
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".git", ".venv", "var"} <= set(ignored)


def test_the_key_commands_in_the_deploy_guide_make_keys_the_settings_accept(tmp_path):
    guide = (ROOT / "docs" / "deploy.md").read_text()
    commands = dict(re.findall(r"^(SECRET_KEY|FIELD_ENCRYPTION_KEY)=\.\.\. +# (python -c .+)$", guide, re.M))
    assert set(commands) == {"SECRET_KEY", "FIELD_ENCRYPTION_KEY"}
    values = {}
    for name, command in commands.items():
        args = [sys.executable, "-c", command.removeprefix("python -c ").strip('"')]
        values[name] = subprocess.run(args, capture_output=True, text=True, check=True).stdout.strip()
    env = Env(tmp_path)
    with mock.patch.dict(os.environ, values):
        assert len(env.secret("SECRET_KEY", generate_into="x", allow_generate=False)) >= 50
        assert env.fernet_key("FIELD_ENCRYPTION_KEY", generate_into="y", allow_generate=False)


def _pins(path: Path) -> dict[str, str]:
    pins = {}
    for line in path.read_text().splitlines():
        line = line.split(" #", 1)[0].strip()
        match = re.match(r"^([A-Za-z0-9_.\-]+)(?:\[[^\]]*\])?==([^\s;\\]+)", line)
        if match:
            pins[re.sub(r"[-_.]+", "-", match[1]).lower()] = match[2]
    return pins


@pytest.mark.parametrize("source", ["requirements.txt", "requirements-dev.txt"])
def test_the_hashed_lock_holds_every_pin(source):
    """`make lock` regenerates the locks; this fails when a pin changed without it."""
    lock = ROOT / source.replace(".txt", ".lock")
    locked = _pins(lock)
    wanted = _pins(ROOT / source)
    stale = {name: version for name, version in wanted.items() if locked.get(name) != version}
    assert not stale, f"{lock.name} does not hold {stale}: run `make lock` and commit it"
    assert lock.read_text().count("--hash=sha256:") >= len(locked)
