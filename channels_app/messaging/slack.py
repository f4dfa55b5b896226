"""Slack adapter (being written)."""
