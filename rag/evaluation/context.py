"""``rag bench context``: how often the prompt's passages hold the answer (context recall), no generation.

The answer model only sees the sentences ``select_sentences`` keeps within the passage budget, so a
gold answer that is retrieved but not kept cannot be given. This measures, for each budget, the share
of answerable questions whose kept sentences contain a gold answer (``rag.evaluation.metrics.answer_contains``),
with sentences ranked by shared words alone and with the embedding model's similarity added (the
default). Tokens are counted with the answer model's tokenizer, as in ``rag ask``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rag.answer.prompt import select_sentences
from rag.evaluation.metrics import answer_contains


@dataclass(frozen=True)
class ContextRecall:
    budget: int
    ranking: str  # "words" or "words + similarity"
    found: int
    questions: int

    @property
    def recall(self) -> float:
        return self.found / self.questions if self.questions else float("nan")


def context_recall(
    questions, retriever, count_tokens, budgets: Sequence[int], k: int, source_language: str = "it"
) -> list[ContextRecall]:
    """Context recall of ``questions`` (``GoldQuestion``s with answers) per budget and sentence ranking."""
    cosines: dict[str, list[float]] = {}

    def similarity(question: str, texts: Sequence[str]) -> list[float]:  # computed once per question
        if question not in cosines:
            cosines[question] = [float(c) for c in retriever.embedder.similarities(question, texts)]
        return cosines[question]

    searched = [(q, retriever.search(q.question, k=k)) for q in questions if q.answers]
    out = []
    for budget in budgets:
        for ranking, sim in (("words", None), ("words + similarity", similarity)):
            found = 0
            for q, hits in searched:
                kept = select_sentences(q.question, hits, budget, count_tokens, source_language, sim)
                context = " ".join(hit.text[a:b] for hit, spans in kept for a, b in spans)
                found += bool(answer_contains(context, q.answers))
            out.append(ContextRecall(budget, ranking, found, len(searched)))
    return out
