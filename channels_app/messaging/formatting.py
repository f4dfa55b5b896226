"""Rendering the bot's markdown and citations for channels that show plain text or their own markup."""

from __future__ import annotations

import re

_LINK = re.compile(r"\[([^\]]+)\]\((https?://[^)\s]+)\)")
_BOLD = re.compile(r"\*\*(.+?)\*\*|__(.+?)__")
_ITALIC = re.compile(r"(?<![*\w])\*(?!\s)(.+?)(?<!\s)\*(?![*\w])")
_STRIKE = re.compile(r"~~(.+?)~~")
_HEADING = re.compile(r"^#{1,6}\s+(.*)$", re.MULTILINE)
_BULLET = re.compile(r"^(\s*)[*+-]\s+", re.MULTILINE)
_CODE = re.compile(r"`([^`]+)`")


def markdown_to_plain(text: str) -> str:
    """SMS: no markup at all; links keep their address."""
    text = _LINK.sub(r"\1 (\2)", text)
    text = _BOLD.sub(lambda m: m.group(1) or m.group(2), text)
    text = _ITALIC.sub(r"\1", text)
    text = _STRIKE.sub(r"\1", text)
    text = _HEADING.sub(r"\1", text)
    text = _BULLET.sub(r"\1- ", text)
    return _CODE.sub(r"\1", text)


def sources(citations: list[dict]) -> str:
    """The citations as lines a person can follow: "[1] Returns policy – https://…"."""
    lines = []
    for c in citations:
        where = c.get("url") or ""
        title = c.get("title") or where
        lines.append(f"[{c.get('index')}] {title}" + (f" – {where}" if where and where != title else ""))
    return "\n".join(lines)


def numbered_choices(buttons: list[dict]) -> str:
    """Choices for channels without buttons: the person answers with the number or the words."""
    return "\n".join(f"{i}. {b['title']}" for i, b in enumerate(buttons, 1))


def choice_for(text: str, buttons: list[dict]) -> dict | None:
    """The button a typed answer picks: its number ("2") or its title, case and spacing ignored."""
    answer = " ".join(text.split()).casefold().rstrip(".")
    if answer.isdigit() and 1 <= int(answer) <= len(buttons):
        return buttons[int(answer) - 1]
    return next((b for b in buttons if " ".join(b["title"].split()).casefold() == answer), None)
