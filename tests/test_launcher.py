"""`make run`'s number of web processes: WEB_WORKERS, one per core unless set, refused when it cannot work."""

from __future__ import annotations

import os

import pytest

from config.env import SettingError
from config.launcher import web_workers


def test_one_web_process_per_core_unless_set(monkeypatch):
    monkeypatch.delenv("WEB_WORKERS", raising=False)
    assert web_workers() == (os.cpu_count() or 1)
    monkeypatch.setenv("WEB_WORKERS", "3")
    assert web_workers() == 3


@pytest.mark.parametrize("value", ["0", "-2", "two"])
def test_a_number_of_processes_that_cannot_work_stops_start_up_with_the_setting_named(monkeypatch, value):
    monkeypatch.setenv("WEB_WORKERS", value)
    with pytest.raises(SettingError) as refused:
        web_workers()
    assert "WEB_WORKERS" in refused.value.line
