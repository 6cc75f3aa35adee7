"""The scale benchmark at a tiny size: every engine measured, approximate indexes close to exact search."""

from __future__ import annotations

import pytest

from rag.evaluation.scale_bench import run_scale, scale_table

from tests.conftest import SQUAD_DEV


@pytest.mark.parametrize("ann", ["hnsw"])  # IVF-PQ trains for minutes even on a few thousand vectors
def test_scale_bench_tiny(ann):
    pytest.importorskip("milvus_lite")
    rows = run_scale([4000], ann=ann, milvus=True, dataset=SQUAD_DEV, queries=30)
    by_engine = {(r.engine, r.index): r for r in rows}
    assert set(by_engine) == {
        ("FAISS", "flat"),
        ("FAISS", ann),
        ("Milvus (milvus-lite)", "AUTOINDEX"),
        ("bm25s", "BM25, Italian stemmer"),
        ("rag store (FAISS folder)", "flat (exact)"),  # the product's store: exact below APPROXIMATE_FROM
    }
    assert by_engine["FAISS", "flat"].recall_10 == 1.0
    assert by_engine["FAISS", ann].recall_10 >= 0.9
    assert by_engine["Milvus (milvus-lite)", "AUTOINDEX"].recall_10 >= 0.9
    assert by_engine["rag store (FAISS folder)", "flat (exact)"].recall_10 == 1.0
    for row in rows:
        assert row.n == 4000 and row.build_s > 0 and row.disk_mb > 0 and 0 < row.p50_ms <= row.p95_ms
    assert "| 4,000 | FAISS | flat |" in scale_table(rows)
