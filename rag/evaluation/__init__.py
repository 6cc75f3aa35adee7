"""Measurement: gold sets, metrics, ``evaluate`` and its reports, benchmarks and calibration.

Imports ``rag.answer`` and ``rag.index``, never ``rag.ui`` or ``rag.cli``.

>>> from rag.evaluation import evaluate                                          # doctest: +SKIP
>>> evaluate("eval/seeds.jsonl", index="seeds", retrieval_only=True).get("retrieval.recall@5")  # doctest: +SKIP
"""


def __getattr__(name: str):
    if name == "evaluate":
        from rag.evaluation.run import evaluate

        return evaluate
    raise AttributeError(f"module 'rag.evaluation' has no attribute {name!r}")
