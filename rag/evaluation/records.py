"""The records of an evaluation: one ``QuestionRow`` per question, and the ``EvalReport`` that holds them.

``EvalReport`` is what ``rag.evaluation.evaluate`` returns and ``report.json`` holds; ``rag.evaluation.report``
renders it (terminal table, Markdown, plots).
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from rag.errors import InputError

SCHEMA_VERSION = 1


@dataclass
class QuestionRow:
    """One evaluated question. Scores are ``None`` where they do not apply (see ``eval/README.md``)."""

    id: str
    question: str
    answerable: bool
    gold_answers: list[str]
    gold_doc_ids: list[str]
    tags: list[str] = field(default_factory=list)
    retrieved_doc_ids: list[str] = field(default_factory=list)  # doc id of each of the top-K chunks, in order
    rank: int | None = None  # 1-based rank of the first chunk of a gold document within the top K
    answer: str | None = None
    short: str = ""  # Answer.short: the words that answer (EM and F1 score it)
    refused: bool | None = None
    refusal_reasons: list[str] = field(default_factory=list)
    cited_doc_ids: list[str] = field(default_factory=list)
    source_doc_ids: list[str] = field(default_factory=list)  # documents of the passages given to the model
    exact_match: float | None = None
    f1: float | None = None
    contains: float | None = None
    citations_ok: bool | None = None
    right: bool | None = None  # rag.evaluation.metrics.answer_right (facts), news_verdict's acceptable (news)
    timings_ms: dict[str, float] = field(default_factory=dict)
    evidence: dict[str, Any] = field(default_factory=dict)  # rag.types.Evidence: what the refusal check saw
    kind: str = "fact"  # rag.evaluation.gold.KINDS
    near_miss: bool = False  # unanswerable, on the subject of an article that is there
    follow_up: bool = False  # asked after earlier questions, with the answers given to them (gold ``follows``)
    gold_docs: list[str] = field(default_factory=list)  # news kinds: the articles to cite, all and no other
    key_facts: list[list[str]] = field(default_factory=list)  # news kinds: alternatives of each fact to hold
    today: str | None = None  # the day the question was asked (gold ``today``, else the day after the newest article)
    problems: list[str] = field(default_factory=list)  # news kinds: rag.evaluation.metrics.NewsProblem values
    missing_key_facts: list[str] = field(default_factory=list)  # news kinds: key facts not in the answer

    @property
    def group(self) -> str:
        """What the report counts this question with: its kind ("near miss" and "unanswerable" for facts the
        articles do not answer), then "follow-up" for a follow-up, never mixed with first questions."""
        label = self.kind
        if self.kind == "fact" and not self.answerable:
            label = "near miss" if self.near_miss else "unanswerable"
        return f"{label}, follow-up" if self.follow_up else label


@dataclass
class EvalReport:
    """The result of ``evaluate``: run facts (``meta``), metric sections and one row per question.

    ``to_dict()`` is what ``report.json`` holds; ``get("retrieval.recall@5")`` reads one figure.
    """

    meta: dict
    metrics: dict
    rows: list[QuestionRow]

    def to_dict(self) -> dict:
        return {
            "schema_version": SCHEMA_VERSION,
            "meta": self.meta,
            **self.metrics,
            "questions": [asdict(r) for r in self.rows],
        }

    @classmethod
    def load(cls, path: str | os.PathLike) -> EvalReport:
        """Read a ``report.json`` written by ``write`` (e.g. a baseline, to compare with a new run)."""
        import json

        raw = json.loads(Path(path).read_text(encoding="utf-8"))
        if raw.get("schema_version") != SCHEMA_VERSION:
            raise InputError(f"{path}: report schema {raw.get('schema_version')} is not {SCHEMA_VERSION}")
        rows = [QuestionRow(**row) for row in raw.pop("questions")]
        meta = raw.pop("meta")
        raw.pop("schema_version")
        return cls(meta, raw, rows)

    def get(self, key: str):
        """A figure by its dotted key, e.g. ``"retrieval.mrr@10"`` or ``"latency.search.p95_ms"``."""
        node: Any = self.metrics
        for part in key.split("."):
            if not isinstance(node, dict) or part not in node:
                raise KeyError(f"no figure {key!r} in this report")
            node = node[part]
        return node

    def to_frame(self):
        """Per-question rows as a pandas DataFrame (lists stay lists; timings become ``ms_<stage>`` columns)."""
        import pandas as pd

        records = []
        for r in self.rows:
            record = asdict(r)
            for stage, value in record.pop("timings_ms").items():
                record[f"ms_{stage}"] = value
            records.append(record)
        return pd.DataFrame.from_records(records, columns=None if records else list(QuestionRow.__dataclass_fields__))

    def table(self) -> str:
        from rag.evaluation.report import format_table

        return format_table(self)

    def __repr__(self) -> str:  # the summary ``rag eval`` prints; ``to_dict()`` has everything
        return self.table()

    def _repr_html_(self) -> str:
        """The summary table, latency, the plots inline, per-tag figures and the worst failures."""
        from rag.evaluation.report_html import report_html

        return report_html(self)

    def write(self, out_dir: str | os.PathLike) -> list[Path]:
        """Write report.json, report.md and the plots into ``out_dir``; return the paths written."""
        from rag.evaluation.report import write_report

        return write_report(self, Path(out_dir))
