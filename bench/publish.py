"""Bot definitions: what a chat turn pays to get the published snapshot, and what publishing costs.

Starts embedded Postgres + Redis, seeds the demo bot, then measures:
- `published_snapshot` on a cache hit (what every turn pays: one Redis GET, no database),
- `published_snapshot` after its cache entry is dropped (one database query, then cached),
- validating the draft (`draft_snapshot` + `validate_bot`, run on every admin save),
- publishing a changed draft (validate, hash, train the intent classifier, store).
Prints a p50/p95 table and ends with one JSON line of headline figures.

Run from the repository root: `.venv/bin/python bench/publish.py`.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from support import bench_services, pct, setup_django  # noqa: E402

HITS = 5000
MISSES = 300
VALIDATIONS = 200
PUBLISHES = 30


def timed(fn, n: int) -> list[float]:
    out = []
    for i in range(n):
        start = time.perf_counter()
        fn(i)
        out.append((time.perf_counter() - start) * 1000)
    return out


def measure() -> dict[str, list[float]]:
    setup_django()
    from django.core.cache import cache

    from bots import selectors, services
    from bots.demo import seed_demo_bot
    from bots.models import Workspace
    from bots.validation import validate_bot

    bot = seed_demo_bot(Workspace.objects.create(name="Bench", slug="bench"))
    key = selectors.current_version_key(bot.id)
    selectors.published_snapshot(bot.id)

    def miss(_):
        cache.delete(key)
        selectors._load_version.cache_clear()
        selectors.published_snapshot(bot.id)

    def publish(i):
        bot.greeting = f"Hello number {i}"
        bot.save(update_fields=["greeting"])
        services.publish_bot(bot=bot, user=None, note="bench")

    return {
        "published_snapshot, cache hit": timed(lambda _: selectors.published_snapshot(bot.id), HITS),
        "published_snapshot, cache miss": timed(miss, MISSES),
        "validate the draft": timed(lambda _: validate_bot(selectors.draft_snapshot(bot)), VALIDATIONS),
        "publish a changed draft": timed(publish, PUBLISHES),
    }


def main() -> None:
    with bench_services("publish"):
        results = measure()

    print("\nBot definitions (demo bot: 12 steps, 3 intents)")
    print(f"{'operation':<32} | {'runs':>5} | {'p50':>9} | {'p95':>9}")
    for name, values in results.items():
        print(f"{name:<32} | {len(values):>5} | {pct(values, 50):>6.2f} ms | {pct(values, 95):>6.2f} ms")
    hit, miss = results["published_snapshot, cache hit"], results["published_snapshot, cache miss"]
    headline = {
        "snapshot_hit_p95_ms": round(pct(hit, 95), 3),
        "snapshot_miss_p95_ms": round(pct(miss, 95), 3),
        "validate_p95_ms": round(pct(results["validate the draft"], 95), 2),
        "publish_p50_ms": round(pct(results["publish a changed draft"], 50), 1),
    }
    print(json.dumps(headline))


if __name__ == "__main__":
    main()
