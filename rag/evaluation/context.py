"""``rag bench-context``: how often the prompt's passages hold the answer (context recall), no generation.

The answer model only sees the sentences ``select_sentences`` keeps within the passage budget, so a
gold answer that is retrieved but not kept cannot be given. This measures, for each budget, the share
of answerable questions whose kept sentences contain a gold answer (``rag.metrics.answer_contains``),
with sentences ranked by shared words alone and with the embedding model's similarity added (the
default). Tokens are counted with the answer model's tokenizer, as in ``rag ask``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import click


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
    from rag.metrics import answer_contains
    from rag.prompt import select_sentences

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


@click.command("bench-context")
@click.argument("gold", required=False, type=click.Path(dir_okay=False))
@click.option("--index", "-i", default=None, help="Index to search (default: as rag eval picks it).")
@click.option("--sample", default=300, show_default=True, help="Questions drawn at random (seed 0).")
@click.option("--budget", "budgets", multiple=True, type=int, help="Passage budgets in tokens (default 200 and 100).")
@click.option("--model", "-m", default=None, help="Answer model whose tokenizer counts tokens (default: the default).")
@click.option("-k", default=None, type=int, help="Passages retrieved (default: the assistant's).")
def bench_context(gold, index, sample, budgets, model, k) -> None:
    """Context recall: the share of answerable questions whose prompt sentences contain a gold answer,
    per passage budget, with sentences ranked by shared words alone and with embedding similarity added.

    GOLD defaults to the SQuAD-it dev slice (../shared/datasets/squad-it/squad_it-dev.json.gz).
    """
    from pathlib import Path

    from rag.config import DEFAULT_LLM
    from rag.generate import load_generator
    from rag.gold import is_squad, load_gold
    from rag.pipeline import AskSettings
    from rag.retriever import Retriever
    from rag.squad import default_dataset, ensure_squad_index

    gold = Path(gold) if gold else default_dataset()
    if index is None:
        index = ensure_squad_index(gold) if is_squad(gold) else "seeds"
    questions = load_gold(gold, sample=sample)
    retriever = Retriever.load(index)
    generator = load_generator(model or DEFAULT_LLM)
    rows = context_recall(questions, retriever, generator.count_tokens, budgets or (200, 100), k or AskSettings().k)
    click.echo(f"{gold}: {rows[0].questions if rows else 0} answerable questions, index {index}")
    click.echo("| passage budget | sentences ranked by | answer in prompt |")
    click.echo("|---|---|---|")
    for r in rows:
        click.echo(f"| {r.budget} tokens | {r.ranking} | {r.found}/{r.questions} ({r.recall:.1%}) |")
