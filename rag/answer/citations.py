"""Citations attached in code: the model's own ``[n]`` markers are discarded, and each answer sentence
is matched to the passage sentence that contains its words.

Each sentence of the answer is matched against the sentences of the passages that were in the
prompt, by the content words it adds to the question (folded, stopwords dropped, cut to 5
characters so that ``accompagnava`` matches ``accompagnato``). The passage with the best-matching
sentence is cited after the sentence, with that sentence as the quote. A marker is only ever
written for a passage that was in the prompt; markers are renumbered 1, 2, … in order of first use.
``ground`` also measures how much of the answer the passages support (see ``rag.answer.refusal``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from rag.answer.dates import resolve_relative_dates
from rag.answer.prompt import PromptPassage
from rag.text import keys
from rag.types import Citation

MARKER_RE = re.compile(r"\s*\[\s*\d+(?:\s*[,;\-–]\s*\d+)*\s*\]")
_PARTIAL_MARKER_RE = re.compile(r"\s*\[[\d\s,;\-–]*$")

# Words an answer uses to talk about the sources rather than the news: they need no grounding.
_META = {
    "fonte",
    "fonti",
    "artic",
    "passa",
    "testo",
    "secon",
    "infor",
    "menzi",
    "sourc",
    "accor",
    "speci",
    "indic",
    "conte",
    "conta",
    "stato",
    "state",
    "risul",
    "rifer",
}


def names_and_numbers(text: str) -> set[str]:
    """Keys of capitalised words that do not start a sentence, and of numbers: what survives translation."""
    found = set()
    for match in re.finditer(r"\w+", text):
        word = match.group()
        before = text[: match.start()].rstrip()
        starts_sentence = not before or before[-1] in ".!?:\n"
        if word.isdigit() or (word[0].isupper() and not starts_sentence):
            found |= keys(word)
    return found


def strip_markers(text: str, partial: bool = False) -> str:
    """Remove ``[n]`` markers; with ``partial``, also a marker still being written at the end."""
    text = MARKER_RE.sub("", text)
    return _PARTIAL_MARKER_RE.sub("", text) if partial else text


def answer_sentences(text: str) -> list[tuple[int, int]]:
    spans, start = [], 0
    for match in re.finditer(r"(?<=[.!?…])\s+(?=\S)|\n+", text):
        if text[start : match.start()].strip():
            spans.append((start, match.start()))
        start = match.end()
    if text[start:].strip():
        spans.append((start, len(text.rstrip())))
    return spans


@dataclass
class Grounded:
    text: str  # the answer with [n] markers
    citations: list[Citation]
    support: float | None


def _passage_sentences(passage: PromptPassage) -> list[tuple[int, int, set[str]]]:
    text = passage.hit.text
    return [(a, b, keys(resolve_relative_dates(text[a:b], passage.hit.date))) for a, b in passage.spans]


def cite(passage: PromptPassage, start: int, end: int, number: int) -> Citation:
    """The citation of ``passage`` quoting its text ``[start:end]`` (offsets into the passage's hit text)."""
    hit = passage.hit
    return Citation(
        number=number,
        chunk_id=hit.chunk_id,
        doc_id=hit.doc_id,
        title=hit.title,
        date=hit.date,
        place=hit.place,
        quote=" ".join(hit.text[start:end].split()),
        quote_start=hit.start + start,
        quote_end=hit.start + end,
        passage=hit.text,
        score=hit.score,
    )


def ground(
    answer: str,
    question: str,
    passages: Sequence[PromptPassage],
    cross_language: bool = False,
    min_sentence_support: float = 0.34,
) -> Grounded:
    """Attach ``[n]`` markers to ``answer`` from ``passages`` and measure how well it is supported.

    Every sentence of the answer must match a passage sentence: one that matches none is removed (text
    the sources do not back is never shown, even beside a cited sentence). Only words the answer adds to
    the question count (restating the question proves nothing); with ``cross_language`` (answer and
    sources in different languages), only names and numbers count. ``support`` is measured on the
    sentences kept.
    """
    clean = strip_markers(answer).strip()
    asked = keys(question)
    sentences = [(a, b, *_new_words(clean[a:b], asked, cross_language)) for a, b in answer_sentences(clean)]
    indexed = [(p, _passage_sentences(p)) for p in passages]
    all_keys = set().union(*(k for _, sents in indexed for *_, k in sents)) if indexed else set()

    quotes: list[str] = []
    numbers: dict[str, int] = {}  # chunk id -> marker number
    citations: list[Citation] = []
    out: list[str] = []
    kept: list[tuple[set[str], set[str]]] = []
    for a, b, new, every in sentences:
        target = new or every
        best = None
        for passage, sents in indexed:
            for sa, sb, skeys in sents:
                share = len(target & skeys) / len(target) if target else 0.0
                if best is None or share > best[0]:
                    best = (share, passage, sa, sb)
        if best is None or not target or best[0] < min_sentence_support:
            continue  # nothing in the sources backs this sentence: it is not shown
        _, passage, sa, sb = best
        hit = passage.hit
        kept.append((new, every))
        quotes.append(resolve_relative_dates(hit.text[sa:sb], hit.date))
        if hit.chunk_id not in numbers:
            numbers[hit.chunk_id] = len(numbers) + 1
            citations.append(cite(passage, sa, sb, numbers[hit.chunk_id]))
        sentence, marker = clean[a:b].strip(), f" [{numbers[hit.chunk_id]}]"
        if sentence.endswith(tuple(".!?…")) and not sentence.endswith("..."):
            out.append(sentence[:-1] + marker + sentence[-1])
        else:
            out.append(sentence + marker)
    support = _support([k for k in kept] or [(s[2], s[3]) for s in sentences], all_keys, cross_language)
    return Grounded(" ".join(out), citations, support)


def _support(sentences: list[tuple[set[str], set[str]]], all_keys: set[str], cross_language: bool) -> float | None:
    """Share of the new content words of ``sentences`` ((new, every) keys) found in the passages."""
    new_total: set[str] = set().union(*(new for new, _ in sentences)) if sentences else set()
    if new_total:
        return len(new_total & all_keys) / len(new_total)
    if not cross_language and sentences:
        restated = set().union(*(every for _, every in sentences))
        return len(restated & all_keys) / len(restated) if restated else None
    return None


def _new_words(sentence: str, asked: set[str], cross_language: bool) -> tuple[set[str], set[str]]:
    every = names_and_numbers(sentence) if cross_language else keys(sentence)
    every -= _META
    return every - asked, every


def check_markers(text: str, citations: Sequence[Citation]) -> str:
    """Remove any ``[n]`` whose number is not a citation's (defensive: ``ground`` writes only valid ones)."""
    valid = {c.number for c in citations}

    def keep(match: re.Match) -> str:
        numbers = [int(n) for n in re.findall(r"\d+", match.group())]
        good = [n for n in numbers if n in valid]
        return f" [{', '.join(map(str, good))}]" if good else ""

    return MARKER_RE.sub(keep, text)
