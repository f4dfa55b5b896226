"""`bench/retrieval.py --chunks N` as docs/benchmarks.md shows it, at a size a test can afford:
it ends with one JSON line holding the scale and quality headline figures."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_retrieval_bench_runs_with_a_chosen_size_and_reports_quality():
    out = subprocess.run(
        [sys.executable, "bench/retrieval.py", "--chunks", "2000"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    headline = json.loads(out.stdout.strip().splitlines()[-1])
    assert set(headline) == {
        "hybrid_p95_ms_2k",
        "hnsw_recall_2k",
        "recall_at_5_local",
        "no_overlap_recall_at_5_local",
        "superseded_wins",
        "off_topic_no_passage_local",
        "embed_chunks_per_s_local",
    }
    assert headline["superseded_wins"] == 0 and headline["recall_at_5_local"] >= 0.85
    assert headline["off_topic_no_passage_local"] >= 0.5
    assert headline["hnsw_recall_2k"] >= 0.9
    assert "recall@5" in out.stdout and "2,000 | hybrid, HNSW" in out.stdout
