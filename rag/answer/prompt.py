"""Build the chat prompt: the best sentences of the retrieved passages, with title and date, in a token budget.

Prefill dominates time to first token on a CPU (README: answer speed), so whole chunks are not
pasted in: each passage is split into sentences, sentences are
ranked by the question's content words (weighted by rarity among the candidates), by how much closer
to the question they are than the other candidates in the embedding model's space (``similarity``),
and by passage rank, and the best ones are kept, in document order, until ``budget`` tokens. Relative dates are
resolved against the article's date in the text itself (``Domani`` in an article of 2 February
becomes ``Domani (3 febbraio 2026)``), which a small model cannot be trusted to compute.

The system message is fixed so that llama.cpp can keep its evaluated tokens between questions.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from rag.text import format_date, keys
from rag.types import Hit

SYSTEM = (
    "You answer questions about news articles using only the numbered sources given. "
    "Answer briefly and precisely, with the names, dates and figures found in the sources. "
    "When the article date matters, use the dates written in the sources."
)

# The instruction closing the prompt: answer language and length.
INSTRUCTION = {
    "it": "Rispondi in italiano, in una o due frasi, usando solo le fonti.",
    "en": "Answer in English, in one or two sentences, using only the sources.",
    "fr": "Réponds en français, en une ou deux phrases, en utilisant seulement les sources.",
    "es": "Responde en español, en una o dos frases, usando solo las fuentes.",
    "de": "Antworte auf Deutsch, in ein oder zwei Sätzen, nur anhand der Quellen.",
}

QUESTION_LABEL = {"it": "Domanda", "en": "Question", "fr": "Question", "es": "Pregunta", "de": "Frage"}
SOURCES_LABEL = {"it": "Fonti", "en": "Sources", "fr": "Sources", "es": "Fuentes", "de": "Quellen"}

# word -> (days from the article date, or None for "some days after"; language the date is written in)
_RELATIVE = {
    "oggi": (0, "it"),
    "stamattina": (0, "it"),
    "stamane": (0, "it"),
    "stasera": (0, "it"),
    "stanotte": (0, "it"),
    "ieri": (-1, "it"),
    "domani": (1, "it"),
    "dopodomani": (2, "it"),
    "l'altro ieri": (-2, "it"),
    "l’altro ieri": (-2, "it"),
    "altroieri": (-2, "it"),
    "nei prossimi giorni": (None, "it"),
    "la prossima settimana": (None, "it"),
    "in the coming days": (None, "en"),
    "today": (0, "en"),
    "tonight": (0, "en"),
    "yesterday": (-1, "en"),
    "tomorrow": (1, "en"),
}
_RELATIVE_RE = re.compile(
    r"(?<!\w)(" + "|".join(sorted(map(re.escape, _RELATIVE), key=len, reverse=True)) + r")(?!\w)", re.IGNORECASE
)


def resolve_relative_dates(text: str, article_date: str | None) -> str:
    """Write the calendar date after words like ``domani``/``ieri``/``tomorrow``, from the article's date.

    >>> resolve_relative_dates("Domani Rutte sarà a Kiev.", "2026-02-02")
    'Domani (3 febbraio 2026) Rutte sarà a Kiev.'
    """
    if not article_date:
        return text
    try:
        day = date.fromisoformat(article_date[:10])
    except ValueError:
        return text

    def annotate(match: re.Match) -> str:
        delta, language = _RELATIVE[match.group(1).lower()]
        if delta is None:  # vague: say only that it is after the article date
            after = "dopo il" if language == "it" else "after"
            return f"{match.group(1)} ({after} {format_date(day.isoformat(), language)})"
        return f"{match.group(1)} ({format_date((day + timedelta(days=delta)).isoformat(), language)})"

    return _RELATIVE_RE.sub(annotate, text)


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
    from rag.index.chunk import sentence_spans as spans

    return [(s.start, s.end) for s in spans(text, language)]


def _weights(question_keys: set[str], sentence_keys: list[set[str]]) -> dict[str, float]:
    n = len(sentence_keys)
    return {q: math.log(1 + n / (1 + sum(q in keys for keys in sentence_keys))) for q in question_keys}


# Weight of a sentence's semantic closeness (in standard deviations above the candidates' mean cosine)
# against its rarity-weighted shared words; chosen with `rag bench context` (README: context recall).
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


def render_passage(number: int, hit: Hit, spans: Sequence[tuple[int, int]], language: str = "it") -> str:
    pieces = []
    for j, (a, b) in enumerate(spans):
        if j and spans[j - 1][1] < a and hit.text[spans[j - 1][1] : a].strip():
            pieces.append("…")
        pieces.append(resolve_relative_dates(" ".join(hit.text[a:b].split()), hit.date))
    when = format_date(hit.date, language)
    header = f"[{number}] {_title(hit.title)}" + (f" ({when})" if when else "")
    return header + "\n" + " ".join(pieces)


def build_prompt(
    question: str,
    hits: Sequence[Hit],
    count_tokens: Callable[[str], int],
    budget: int,
    language: str = "it",
    history: Sequence[tuple[str, str]] = (),
    source_language: str = "it",
    similarity: Similarity | None = None,
) -> Prompt:
    """The chat messages for ``question`` over ``hits``; ``history`` is earlier (question, answer) pairs;
    ``similarity`` ranks sentences by meaning too (see ``select_sentences``)."""
    chosen = select_sentences(question, hits, budget, count_tokens, source_language, similarity)
    passages = [
        PromptPassage(n, hit, spans, render_passage(n, hit, spans, language))
        for n, (hit, spans) in enumerate(chosen, 1)
    ]
    messages: list[dict[str, str]] = [{"role": "system", "content": SYSTEM}]
    for asked, answered in history:
        messages.append({"role": "user", "content": asked})
        messages.append({"role": "assistant", "content": answered})
    sources = "\n\n".join(p.text for p in passages)
    asked = f"{QUESTION_LABEL[language]}: {question}\n{INSTRUCTION[language]}"
    messages.append({"role": "user", "content": f"{SOURCES_LABEL[language]}:\n{sources}\n\n{asked}"})
    kept_ids = {p.hit.chunk_id for p in passages}
    tokens = sum(count_tokens(m["content"]) + 4 for m in messages)
    return Prompt(messages, passages, tokens, [h for h in hits if h.chunk_id not in kept_ids])
