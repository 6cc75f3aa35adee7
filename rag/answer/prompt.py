"""Build the chat prompt: the best sentences of the retrieved passages, with title and date, in a token budget.

Prefill dominates time to first token on a CPU (eval/RESULTS.md: answers), so whole chunks are not
pasted in: each passage is split into sentences, sentences are
ranked by the question's content words (weighted by rarity among the candidates), by how much closer
to the question they are than the other candidates in the embedding model's space (``similarity``),
and by passage rank, and the best ones are kept, in document order, until ``budget`` tokens. Relative dates are
resolved against the article's date in the text itself (``Domani`` in an article of 2 February
becomes ``Domani (3 febbraio 2026)``: ``rag.answer.dates``), which a small model cannot be trusted to compute.

The system message is fixed so that llama.cpp can keep its evaluated tokens between questions.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from rag.answer.dates import resolve_relative_dates
from rag.text import format_date, keys
from rag.types import Document, Hit

SYSTEM = """You answer questions about news articles using only the numbered sources given.
Copy names, dates and figures exactly as the sources write them; use the dates written in the sources.
Reply in two lines: first the short answer (only the words that answer, copied from the sources), then one \
sentence that answers. If the sources do not say the answer, the short answer is "Non lo so" (in English: \
"I don't know"): never guess.

Example.
Domanda: Chi ha firmato l'accordo sul gas?
Risposta breve: Mario Rossi
Risposta: L'accordo sul gas è stato firmato da Mario Rossi, ministro dell'Economia.

Example.
Domanda: Quanto è costato il nuovo ponte?
Risposta breve: Non lo so
Risposta: Le fonti non dicono quanto è costato il ponte.

Example.
Question: Who signed the gas deal?
Short answer: Mario Rossi
Answer: The gas deal was signed by Mario Rossi, the economy minister."""

# The reply has two lines: a short answer (the words that answer, or "don't know"), then one sentence.
# The model's reply starts with SHORT_LABEL, written into the prompt, so it begins with the short answer.
SHORT_LABEL = {"it": "Risposta breve:", "en": "Short answer:"}
ANSWER_LABEL = {"it": "Risposta:", "en": "Answer:"}
DONT_KNOW = {"it": "Non lo so", "en": "I don't know"}
LANGUAGE_NAME = {"it": "italiano", "en": "English", "fr": "French", "es": "Spanish", "de": "German"}
INSTRUCTION = {
    "it": "(Rispondi in {language}: risposta breve, poi una frase.)",
    "en": "(Reply in {language}: short answer, then one sentence.)",
}
QUESTION_LABEL = {"it": "Domanda", "en": "Question", "fr": "Question", "es": "Pregunta", "de": "Frage"}
SOURCES_LABEL = {"it": "Fonti", "en": "Sources", "fr": "Sources", "es": "Fuentes", "de": "Quellen"}
EARLIER_LABEL = {"it": ("Domanda precedente", "Risposta precedente"), "en": ("Earlier question", "Earlier answer")}
PUBLISHED = {
    "it": ("pubblicato il {date}", " a {place}", "fonte: {source}"),
    "en": ("published {date}", " in {place}", "source: {source}"),
}


def labels(language: str) -> str:
    """The language whose prompt words are used: Italian or English (other languages read English ones)."""
    return language if language in SHORT_LABEL else "en"


@dataclass
class PromptPassage:
    """A retrieved passage as it entered the prompt: ``number`` is its ``[n]`` label there.

    ``spans`` are the kept sentences as offsets into ``hit.text``; ``text`` is what the model saw.
    """

    number: int
    hit: Hit
    spans: list[tuple[int, int]]
    text: str


@dataclass
class Prompt:
    messages: list[dict[str, str]]
    passages: list[PromptPassage]
    tokens: int = 0
    dropped: list[Hit] = field(default_factory=list)  # retrieved but left out by the budget


def sentence_spans(text: str, language: str = "it") -> list[tuple[int, int]]:
    from rag.text import sentence_spans as spans

    return [(s.start, s.end) for s in spans(text, language)]


def _weights(question_keys: set[str], sentence_keys: list[set[str]]) -> dict[str, float]:
    n = len(sentence_keys)
    return {q: math.log(1 + n / (1 + sum(q in keys for keys in sentence_keys))) for q in question_keys}


# Weight of a sentence's semantic closeness (in standard deviations above the candidates' mean cosine)
# against its rarity-weighted shared words; chosen with `rag bench context` (eval/RESULTS.md: context recall).
SEMANTIC_WEIGHT = 1.0

Similarity = Callable[[str, Sequence[str]], Sequence[float]]  # (question, sentences) -> cosine of each


def select_sentences(
    question: str,
    hits: Sequence[Hit],
    budget: int,
    count_tokens: Callable[[str], int],
    language: str = "it",
    similarity: Similarity | None = None,
) -> list[tuple[Hit, list[tuple[int, int]]]]:
    """Pick sentences of ``hits`` that best match ``question`` until about ``budget`` tokens.

    ``similarity`` (e.g. ``Embedder.similarities``) adds semantic closeness to the shared words, so
    that "Quale incarico militare ricopre Hnatov?" finds "accompagnato dal Capo di Stato Maggiore
    Generale, Andrii Hnatov" among sentences that all name Hnatov.
    Returns, in rank order, the hits that keep at least one sentence, each with its kept spans.
    """
    question_keys = keys(question)
    candidates: list[tuple[float, int, tuple[int, int], int]] = []  # score, hit index, span, tokens
    sentence_keys: list[set[str]] = []
    spans_by_hit = []
    for hit in hits:
        spans = sentence_spans(hit.text, language) or [(0, len(hit.text))]
        spans_by_hit.append(spans)
        sentence_keys.extend(keys(hit.text[a:b]) for a, b in spans)
    weights = _weights(question_keys, sentence_keys)
    closeness = _closeness(question, hits, spans_by_hit, similarity)
    position = 0
    for i, (hit, spans) in enumerate(zip(hits, spans_by_hit, strict=True)):
        for span in spans:
            found = sentence_keys[position] & question_keys
            score = sum(weights[k] for k in found) + SEMANTIC_WEIGHT * closeness[position]
            position += 1
            if not hit.text[span[0] : span[1]].rstrip().endswith(_SENTENCE_END):
                score *= 0.5  # a heading: fewer facts per token
            candidates.append((score, i, span, count_tokens(hit.text[span[0] : span[1]]) + 2))
    matched = [c for c in candidates if c[0] > 0] or [c for c in candidates if c[1] == 0][:2]
    matched.sort(key=lambda c: (-(c[0] + 0.5 / (c[1] + 1)), c[1], c[2][0]))
    kept: dict[int, list[tuple[int, int]]] = {}
    used = 0
    for _, i, span, tokens in matched:
        header = 0 if i in kept else count_tokens(hits[i].title) + 12
        if kept and used + tokens + header > budget:
            continue
        kept.setdefault(i, []).append(span)
        used += tokens + header
    return [(hits[i], sorted(kept[i])) for i in sorted(kept)]


def _closeness(question: str, hits: Sequence[Hit], spans_by_hit, similarity: Similarity | None) -> list[float]:
    """Per sentence: how many standard deviations its cosine to the question is above the candidates'
    mean (0 for those at or below it, and for all without ``similarity`` or with fewer than 2 sentences)."""
    texts = [hit.text[a:b] for hit, spans in zip(hits, spans_by_hit, strict=True) for a, b in spans]
    if similarity is None or len(texts) < 2:
        return [0.0] * len(texts)
    cosines = [float(c) for c in similarity(question, texts)]
    mean = sum(cosines) / len(cosines)
    spread = math.sqrt(sum((c - mean) ** 2 for c in cosines) / len(cosines))
    return [max((c - mean) / spread, 0.0) if spread > 1e-9 else 0.0 for c in cosines]


_SENTENCE_END = tuple('.!?…:;"”»)')


def _title(title: str, max_words: int = 10) -> str:
    parts = title.split()
    return " ".join(parts[:max_words]) + (" …" if len(parts) > max_words else "")


def header(number: int, hit: Hit, language: str = "it") -> str:
    """``[1] «Title» (pubblicato il 2 febbraio 2026 a Kiev; fonte: ANSA)``: what the article says of itself,
    so that "when/where was it published" can be answered."""
    published, where, source = PUBLISHED[labels(language)]
    facts = []
    if hit.date:
        facts.append(
            published.format(date=format_date(hit.date, language))
            + (where.format(place=hit.place) if hit.place else "")
        )
    if hit.source:
        facts.append(source.format(source=hit.source))
    return f"[{number}] «{_title(hit.title)}»" + (f" ({'; '.join(facts)})" if facts else "")


def render_passage(number: int, hit: Hit, spans: Sequence[tuple[int, int]], language: str = "it") -> str:
    pieces = []
    for j, (a, b) in enumerate(spans):
        if j and spans[j - 1][1] < a and hit.text[spans[j - 1][1] : a].strip():
            pieces.append("…")
        pieces.append(resolve_relative_dates(" ".join(hit.text[a:b].split()), hit.date))
    return header(number, hit, language) + "\n" + " ".join(pieces)


def document_hit(doc: Document, score: float, rank: int) -> Hit:
    """A whole article as one passage (offsets are the document's own)."""
    return Hit(
        f"{doc.id}::doc",
        doc.id,
        doc.title,
        doc.text,
        score,
        rank,
        0,
        len(doc.text),
        doc.date,
        doc.place,
        doc.source,
        doc.url,
    )


def build_prompt(
    question: str,
    hits: Sequence[Hit],
    count_tokens: Callable[[str], int],
    budget: int,
    language: str = "it",
    history: Sequence[tuple[str, str]] = (),
    source_language: str = "it",
    similarity: Similarity | None = None,
    whole: bool = False,
) -> Prompt:
    """The chat messages for ``question`` over ``hits``; ``history`` is earlier (question, answer) pairs.

    By default the best sentences of ``hits`` within ``budget`` tokens are kept (``select_sentences``;
    ``similarity`` ranks them by meaning too); with ``whole``, every hit is given whole (use it with
    ``document_hit`` for whole articles). The sources come first and do not depend on the question or the
    history, so a prompt over the same sources starts with the same tokens and its prefill can be reused;
    for a question in the sources' language the reply instruction follows them, so only the question (and
    any earlier exchange) is read anew.
    """
    if whole:
        chosen = [(hit, sentence_spans(hit.text, source_language) or [(0, len(hit.text))]) for hit in hits]
    else:
        chosen = select_sentences(question, hits, budget, count_tokens, source_language, similarity)
    passages = [
        PromptPassage(n, hit, spans, render_passage(n, hit, spans, language))
        for n, (hit, spans) in enumerate(chosen, 1)
    ]
    words = labels(language)
    sources = "\n\n".join(p.text for p in passages)
    earlier = "".join(
        f"{EARLIER_LABEL[words][0]}: {asked}\n{EARLIER_LABEL[words][1]}: {answered}\n" for asked, answered in history
    )
    instruction = INSTRUCTION[words].format(language=LANGUAGE_NAME.get(language, language))
    # In the articles' language the instruction only restates the format: before the question, it is read
    # once with the sources. Asking for another language, it comes last, where the model follows it (the
    # 1.5B answered "Who accompanied Umerov?" with the Italian "Capo di Stato Maggiore" otherwise).
    if language == source_language:
        asked = f"{instruction}\n{earlier}{QUESTION_LABEL[words]}: {question}"
    else:
        asked = f"{earlier}{QUESTION_LABEL[words]}: {question}\n{instruction}"
    messages = [
        {"role": "system", "content": SYSTEM},
        {"role": "user", "content": f"{SOURCES_LABEL[words]}:\n{sources}\n\n{asked}"},
    ]
    kept_ids = {p.hit.chunk_id for p in passages}
    tokens = sum(count_tokens(m["content"]) + 4 for m in messages)
    return Prompt(messages, passages, tokens, [h for h in hits if h.chunk_id not in kept_ids])
