"""Retrieval metrics over ranked document ids; a hit is any chunk of a gold document."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def first_relevant_rank(ranked_doc_ids: Sequence[str], gold: Sequence[str]) -> int | None:
    """1-based rank of the first retrieved chunk whose document is gold, or None.

    >>> first_relevant_rank(["a", "b", "c"], ["c"])
    3
    """
    golds = set(gold)
    for rank, doc_id in enumerate(ranked_doc_ids, 1):
        if doc_id in golds:
            return rank
    return None


def recall_at(ranks: Sequence[int | None], k: int) -> float:
    """Share of questions with a gold document in the top ``k``."""
    if not ranks:
        return 0.0
    return sum(1 for r in ranks if r is not None and r <= k) / len(ranks)


def mrr_at(ranks: Sequence[int | None], k: int = 10) -> float:
    """Mean reciprocal rank, counting only ranks up to ``k``.

    >>> mrr_at([1, 2, None, 20], k=10)
    0.375
    """
    if not ranks:
        return 0.0
    return sum(1.0 / r for r in ranks if r is not None and r <= k) / len(ranks)


def percentile(values: Sequence[float], q: float) -> float:
    return float(np.percentile(values, q)) if len(values) else 0.0
