"""Answer speed and accuracy on a gold set, per model: what ``rag bench answers`` prints.

Accuracy is ``rag.evaluation.metrics.answer_right`` (as ``rag eval``'s ``answer.right``): an
answerable question counts when the answer contains an accepted answer and its citations are all
gold; an unanswerable one when it is refused. The first question is asked once untimed (warm-up).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from rag.evaluation.gold import GoldQuestion, conversation
from rag.evaluation.metrics import answer_right, percentile


@dataclass
class AnswerRow:
    question: str
    right: bool
    refused: bool
    text: str
    cited: list[str]
    timings: dict[str, float]
    id: str = ""
    follows: str | None = None  # a follow-up: the id of the question before it
    context: str = ""  # what the model read: "sentences", "articles" (cached), or "escalated" (both)


@dataclass
class AnswerBench:
    """Figures of one model over a gold set (seconds)."""

    model: str
    load_s: float
    rows: list[AnswerRow] = field(default_factory=list)
    first_token: list[float] = field(default_factory=list)
    total: list[float] = field(default_factory=list)

    @property
    def right(self) -> int:
        return sum(r.right for r in self.rows)

    def summary(self) -> str:
        return (
            f"{self.model}: load {self.load_s:.1f} s | first token p50 {percentile(self.first_token, 50):.2f} s "
            f"p95 {percentile(self.first_token, 95):.2f} s | total p50 {percentile(self.total, 50):.2f} s "
            f"p95 {percentile(self.total, 95):.2f} s | accuracy {self.right}/{len(self.rows)}"
            + (f" (follow-ups {sum(r.right for r in follow)}/{len(follow)})" if (follow := self.follow_ups) else "")
            + "".join(
                f"\n  first token p50 {c}: {p:.2f} s ({n} q)" for c, (n, p) in self.first_token_by_context().items()
            )
        )

    @property
    def follow_ups(self) -> list[AnswerRow]:
        return [r for r in self.rows if r.follows]

    def first_token_by_context(self) -> dict[str, tuple[int, float]]:
        """First-token p50 (s) and count per context: ``articles`` = the sources' prefill was cached,
        ``sentences`` = read cold, ``escalated`` = sentences first, then whole articles."""
        groups: dict[str, list[float]] = {}
        for r in self.rows:
            if r.context and "first_token" in r.timings:
                groups.setdefault(r.context, []).append(r.timings["first_token"])
        return {c: (len(v), percentile(v, 50)) for c, v in sorted(groups.items())}

    def to_dict(self) -> dict:
        return {
            "load_s": self.load_s,
            "ttft_p50": percentile(self.first_token, 50),
            "ttft_p95": percentile(self.first_token, 95),
            "total_p50": percentile(self.total, 50),
            "total_p95": percentile(self.total, 95),
            "accuracy": self.right / len(self.rows) if self.rows else None,
            "questions": len(self.rows),
            "rows": [vars(r) for r in self.rows],
        }


def bench_answers(
    assistant,
    questions: Sequence[GoldQuestion],
    model: str,
    load_s: float = 0.0,
    repeat: int = 1,
    on_row: Callable[[AnswerRow], None] | None = None,
) -> AnswerBench:
    """Ask every question ``repeat`` times (timings of each kept, the last answer scored)."""
    figures = AnswerBench(model, load_s)
    if questions:
        assistant.ask(questions[0].question)  # warm-up
    by_id = {q.id: q for q in questions}
    said: dict[str, tuple[str, str]] = {}  # a follow-up's history: the answers given before it
    for q in questions:
        history = conversation(q, said, by_id)
        for _ in range(repeat):
            answer = assistant.ask(q.question, history=history)
            figures.total.append(answer.timings["total"])
            if "first_token" in answer.timings:
                figures.first_token.append(answer.timings["first_token"])
        cited = sorted({c.doc_id for c in answer.citations})
        right = answer_right(answer.refused, f"{answer.short} {answer.text}", cited, q.answers, q.doc_ids)
        said[q.id] = (q.question, answer.text)
        e = answer.evidence
        context = "" if e is None else "escalated" if e.escalated else e.context
        row = AnswerRow(
            q.question, right, answer.refused, answer.text, cited, dict(answer.timings), q.id, q.follows, context
        )
        figures.rows.append(row)
        if on_row:
            on_row(row)
    return figures
