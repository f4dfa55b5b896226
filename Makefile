# Two commands: `make run` and `make test`. Both set everything up on a fresh clone.
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt | cksum | cut -d' ' -f1)

.PHONY: run test lint format browser compose lock

$(STAMP): requirements.txt requirements-dev.txt
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements-dev.txt
	@rm -f $(VENV)/.installed-*
	@touch $@

run: $(STAMP)
	$(PY) -m config.launcher

# Browser tests drive Debian's chromium; install it when we can (CI runs as root).
browser:
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && (apt-get update -qq && apt-get install -y -qq chromium >/dev/null); } || echo "chromium missing: browser tests will fail (apt-get install chromium)"

# docker-compose.yml is checked with docker compose; the standalone one needs no Docker daemon.
compose:
	@command -v docker-compose >/dev/null 2>&1 || docker compose version >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && (apt-get update -qq && apt-get install -y -qq docker-compose >/dev/null); } || echo "docker compose missing: the compose test will fail (apt-get install docker-compose)"

test: $(STAMP) browser compose
	$(PY) -m pytest

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# The hashed locks (the image installs requirements.lock), one resolution valid on Python 3.11 to 3.13.
# Run after changing requirements.txt or requirements-dev.txt, and commit the two .lock files.
lock: $(STAMP)
	$(VENV)/bin/uv pip compile --universal --python-version 3.11 --generate-hashes --quiet requirements.txt -o requirements.lock
	$(VENV)/bin/uv pip compile --universal --python-version 3.11 --generate-hashes --quiet requirements-dev.txt -o requirements-dev.lock
