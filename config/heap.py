"""How a web process keeps the garbage collector out of the way of its calls and chats."""

from __future__ import annotations

import gc

# Young objects are collected after this many more allocations than frees (Python's default is
# 700). A turn allocates tens of thousands of short-lived objects: at 700 the collector ran
# dozens of times per hundred turns and its middle generation kept re-walking the objects of
# turns still in flight (~0.3 ms of CPU per turn in bench/turn.py); at 10,000 it runs a few
# times, each pause ~4 ms.
YOUNG_THRESHOLD = 10_000


def settle() -> None:
    """Call once start-up is done. A full collection walks every tracked object: ~70 ms over
    what Django and the app's imports create, a stall for every call and chat of the process
    whenever one came mid-burst. Frozen, those objects are left out of collections (~3 ms)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_THRESHOLD, *gc.get_threshold()[1:])
