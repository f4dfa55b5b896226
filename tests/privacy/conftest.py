"""The dialogue tests' fixtures (workspace, bot, tool server, connection clean-up) reused here."""

from tests.dialogue.conftest import (  # noqa: F401
    _close_dialogue_connections,
    _fresh_breakers,
    acme_bot,
    tool_server,
    workspace,
)
