"""PII redaction: recall per kind, false positives on look-alikes, hot-path cost per message.

    .venv/bin/python bench/redaction.py

Runs `conversations.pii` over the labelled corpus in `bench/data/redaction.jsonl` (rebuild it
with `bench/data/build_redaction_corpus.py`). A value counts as caught when every letter and
digit of it lies inside a redacted span; a look-alike is a false positive when any redaction
touches it. "fast" is the pass inside each turn; "stored" adds the deep (NER) pass that Celery
runs over stored messages within seconds, i.e. what storage holds once both have run.

Then the same count over values the corpus's author did not write: Faker's phones, e-mails,
cards, IBANs, SSNs, postal addresses and names for the US, UK, Canada and Australia (a fixed
seed), each in a sentence that says nothing about what the value is.
"""

from __future__ import annotations

import json
import os
import random
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from conversations.pii import find  # noqa: E402

CORPUS = Path(__file__).with_name("data") / "redaction.jsonl"
GENERATED_LOCALES = ("en_US", "en_GB", "en_CA", "en_AU")
GENERATED_EACH = 50  # values of each kind per locale
NEUTRAL = [
    "my details: {}",
    "it's {}",
    "you can use {} if you need to",
    "{} is the one on file",
    "Contact: {}",
    "please update it to {} thanks",
    "hello? {}",
    "the old one was {} but it changed",
]
DRAWS = {
    "PHONE": lambda f: f.phone_number(),
    "EMAIL": lambda f: f.email(),
    "CARD": lambda f: f.credit_card_number(),
    "IBAN": lambda f: f.iban(),
    "SSN": lambda f: f.ssn() if f.locales == ["en_US"] else None,  # other locales' "ssn" is another ID
    "ADDRESS": lambda f: f.address().replace("\n", ", "),
    "NAME": lambda f: f"{f.first_name()} {f.last_name()}",  # without "Mrs.", which redaction keeps
}


def covered(text: str, value: str, spans) -> bool:
    at = text.find(value)
    if at < 0:
        raise ValueError(f"corpus value {value!r} is not in its text {text!r}")
    inside = [any(s <= i < e for s, e, _ in spans) for i in range(at, at + len(value))]
    return all(ok for ok, ch in zip(inside, value, strict=True) if ch.isalnum())


def touched(text: str, value: str, spans) -> bool:
    at = text.find(value)
    return any(s < at + len(value) and e > at for s, e, _ in spans)


def pct(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def generated() -> tuple[dict[str, list[int]], list[str]]:
    """Per kind: [caught fast, caught stored, total] over Faker's values; and the stored misses."""
    from faker import Faker

    rng = random.Random(7)
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    missed = []
    for locale in GENERATED_LOCALES:
        fake = Faker(locale)
        fake.seed_instance(7)
        for kind, draw in DRAWS.items():
            for _ in range(GENERATED_EACH):
                value = draw(fake)
                if value is None:
                    break
                text = rng.choice(NEUTRAL).format(value)
                row = counts[kind]
                row[0] += covered(text, value, find(text))
                ok = covered(text, value, find(text, deep=True))
                row[1] += ok
                row[2] += 1
                if not ok:
                    missed.append(f"{locale} {kind}: {text!r}")
    return counts, missed


def main() -> None:
    cases = [json.loads(line) for line in CORPUS.read_text().splitlines() if line.strip()]
    for c in cases[:50]:  # warm the caches (regex, phone metadata) before timing
        find(c["text"])
    # Timed on its own, before the NER model is loaded; each message's time is the median of
    # three runs, so a scheduler pause on this shared machine does not pass for redaction cost.
    rounds = []
    for _ in range(3):
        times = []
        for c in cases:
            t0 = time.perf_counter()
            find(c["text"])
            times.append((time.perf_counter() - t0) * 1000)
        rounds.append(times)
    fast_ms = [statistics.median(r) for r in zip(*rounds, strict=True)]
    results = [(c, find(c["text"]), find(c["text"], deep=True)) for c in cases]

    hits = defaultdict(lambda: [0, 0, 0])  # (group, kind) -> caught fast, caught stored, total
    missed = []
    fp_fast = fp_stored = lookalikes = 0
    for c, fast, stored in results:
        for item in c["pii"]:
            row = hits[(c["group"], item["kind"])]
            row[0] += covered(c["text"], item["value"], fast)
            ok = covered(c["text"], item["value"], stored)
            row[1] += ok
            row[2] += 1
            if not ok:
                missed.append((c["group"], item["kind"], c["text"]))
        if c["group"] == "lookalike":
            lookalikes += 1
            fp_fast += any(touched(c["text"], k, fast) for k in c["keep"])
            bad = any(touched(c["text"], k, stored) for k in c["keep"])
            fp_stored += bad
            if bad:
                missed.append(("lookalike", "redacted", c["text"]))

    print(f"{len(cases)} cases ({lookalikes} look-alikes); the machine is shared and busy, so times are high\n")
    print(f"{'group':<16}{'kind':<9}{'n':>5}{'fast':>9}{'stored':>9}")
    totals = defaultdict(lambda: [0, 0])
    for (group, kind), (f, s, n) in sorted(hits.items()):
        print(f"{group:<16}{kind:<9}{n:>5}{f / n:>9.3f}{s / n:>9.3f}")
        totals[group][0] += s
        totals[group][1] += n
    print(f"\nfalse positives on look-alikes: fast {fp_fast}/{lookalikes}, stored {fp_stored}/{lookalikes}")
    print(f"hot path (fast pass) per message: p50 {statistics.median(fast_ms):.3f} ms  p95 {pct(fast_ms, 0.95):.3f} ms")
    if missed:
        print("\nmisses and false positives (first 25):")
        for group, kind, text in missed[:25]:
            print(f"  {group}/{kind}: {text!r}")
    made, made_missed = generated()
    print(f"\nFaker's values ({', '.join(GENERATED_LOCALES)}), in sentences that say nothing of them")
    print(f"{'kind':<9}{'n':>5}{'fast':>9}{'stored':>9}")
    for kind, (f, s, n) in made.items():
        print(f"{kind:<9}{n:>5}{f / n:>9.3f}{s / n:>9.3f}")
    if made_missed:
        print("misses after both passes (first 15):")
        for line in made_missed[:15]:
            print(f"  {line}")
    figures = {
        "recall_structured": round(totals["structured"][0] / totals["structured"][1], 4),
        "recall_spoken": round(totals["spoken"][0] / totals["spoken"][1], 4),
        "recall_names_addresses": round(totals["names_addresses"][0] / totals["names_addresses"][1], 4),
        "false_positive_rate": round(fp_stored / lookalikes, 4),
        "hot_path_p95_ms": round(pct(fast_ms, 0.95), 3),
        "generated_recall_stored": round(sum(r[1] for r in made.values()) / sum(r[2] for r in made.values()), 4),
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
