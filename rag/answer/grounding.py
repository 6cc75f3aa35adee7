"""Citations attached in code, and the decision to refuse.

The small models do not write ``[n]`` markers reliably and invent answers to questions the
sources cannot answer, so neither is left to them:

- **Citations.** Every ``[n]`` the model wrote is removed. Each sentence of the answer is matched
  against the sentences of the passages that were in the prompt, by the content words it adds to
  the question (folded, stopwords dropped, cut to 5 characters so that ``accompagnava`` matches
  ``accompagnato``). The passage with the best-matching sentence is cited after the sentence,
  with that sentence as the quote. A marker is only ever written for a passage that was in the
  prompt; markers are renumbered 1, 2, … in order of first use.
- **Refusal.** ``Evidence`` holds measurements before and after generation: how much of the
  question the best passage covers (``coverage``), the cosine between the question and the best
  passage (``dense``), how much of the answer's new content the passages contain (``support``),
  whether any answer sentence could be cited (``cited``), and whether the model itself said the
  sources lack the answer. ``Thresholds`` turns them into
  a yes/no; its defaults were calibrated on SQuAD-it (see ``eval/answer-calibration.md``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from rag.language import all_stopwords, fold
from rag.prompt import PromptPassage, resolve_relative_dates
from rag.types import Citation

_MARKER_RE = re.compile(r"\s*\[\s*\d+(?:\s*[,;]\s*\d+)*\s*\]")
_PARTIAL_MARKER_RE = re.compile(r"\s*\[[\d\s,;]*$")
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
_REFUSAL_RE = re.compile(
    r"non (?:contengono|contiene|(?:è|e') (?:possibile|specificat\w|indicat\w|menzionat\w|chiar\w|not\w)|"
    r"(?:sono|vengono) (?:presenti|disponibili|fornit\w|menzionat\w|specificat\w|indicat\w)|"
    r"(?:si |viene |vengono )?(?:menziona|specifica|dice|indica|fornisce|parla)\w*|ho (?:informazioni|dati)|"
    r"(?:sono|è) in grado|(?:c'è|ci sono) (?:informazion\w|dati|riferiment\w)|(?:è|e') (?:noto|dato sapere))|"
    r"nessuna (?:informazione|menzione|indicazione)|"
    r"(?:do|does|did) not (?:contain|mention|say|state|specify|provide|include)|"
    r"(?:is|are) not (?:mentioned|specified|provided|stated|given|available)|"
    r"no (?:information|mention)|cannot (?:answer|determine|be determined)|not possible to",
    re.IGNORECASE,
)


def keys(text: str, stop: frozenset[str] | None = None) -> set[str]:
    """Content-word keys: folded, stopwords dropped, words cut to 5 characters, numbers kept whole.

    >>> sorted(keys("Chi accompagnava Umerov a Bruxelles il 3 febbraio?"))
    ['3', 'accom', 'bruxe', 'febbr', 'umero']
    """
    stop = all_stopwords() if stop is None else stop
    out = set()
    for word in re.findall(r"\w+", fold(text)):
        if word in stop or (len(word) < 2 and not word.isdigit()):
            continue
        out.add(word if word.isdigit() else word[:5])
    return out


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
    text = _MARKER_RE.sub("", text)
    return _PARTIAL_MARKER_RE.sub("", text) if partial else text


_HOW_MANY_RE = re.compile(r"^\W*(?:quant[ioea]|how (?:many|much)|combien|cu[aá]nt[oa]s?|wie viele)\b", re.IGNORECASE)
_WHEN_RE = re.compile(r"^\W*(?:quando|when|quand|cu[aá]ndo|wann)\b", re.IGNORECASE)
_NUMBER_WORDS = (
    r"\d|\b(?:due|tre|quattro|cinque|sei|sette|otto|nove|dieci|undici|dodici|venti|trenta|cento|mille|"
    r"milion\w*|miliard\w*|decin\w|centin\w|migliai\w|one|two|three|four|five|six|seven|eight|nine|ten|"
    r"twelve|twenty|hundred|thousand|million\w*|billion\w*|dozen\w*|several|alcun\w|molt\w|poch\w|nessun\w)\b"
)
_TIME_WORDS = (
    _NUMBER_WORDS + r"|\b(?:oggi|ieri|domani|dopodomani|prossim\w|scors\w|settiman\w|mes[ei]|ann[oi]|giorn\w|sera|"
    r"mattin\w|notte|secol\w|lunedì|martedì|mercoledì|giovedì|venerdì|sabato|domenica|gennaio|febbraio|marzo|"
    r"aprile|maggio|giugno|luglio|agosto|settembre|ottobre|novembre|dicembre|primavera|estate|autunno|inverno|"
    r"today|yesterday|tomorrow|next|last|week|month|year|day|century|monday|tuesday|wednesday|thursday|friday|"
    r"saturday|sunday|january|february|march|april|may|june|july|august|september|october|november|december|"
    r"spring|summer|autumn|winter|dopo|prima|durante|after|before|during)\b"
)


def wrong_answer_type(question: str, answer: str) -> bool:
    """A "how many" answer without a number, or a "when" answer without any time expression.

    >>> wrong_answer_type("Quanti soldati sono morti?", "Il ministro ha avviato incontri a Bruxelles.")
    True
    >>> wrong_answer_type("Quando sarà Rutte a Kiev?", "Il 3 febbraio 2026.")
    False
    """
    if _HOW_MANY_RE.search(question):
        return not re.search(_NUMBER_WORDS, answer, re.IGNORECASE)
    if _WHEN_RE.search(question):
        return not re.search(_TIME_WORDS, answer, re.IGNORECASE)
    return False


def says_not_found(text: str) -> bool:
    """Whether the model's reply says the sources do not hold the answer."""
    return bool(_REFUSAL_RE.search(text))


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
class Evidence:
    """Measurements behind the refusal decision (``None``: not measurable for this answer)."""

    coverage: float = 0.0  # weighted share of the question's content words in the best passage
    dense: float | None = None  # cosine question / best passage
    support: float | None = None  # share of the answer's new content words found in the prompt passages
    focus: float | None = None  # weighted share of the question's content words in the quoted sentences
    model_refused: bool = False
    wrong_type: bool = False  # "how many"/"when" answered without any number or time expression
    cited: bool | None = None  # whether any answer sentence matched a passage sentence (None: no answer)
    cross_language: bool = False  # question and articles in different languages
    reply: str = ""  # what the model wrote (before any refusal replaced it)
    reasons: list[str] = field(default_factory=list)


# Cosine floors of the retrieval check, per embedding model: each model has its own cosine scale
# (EmbeddingGemma's question/passage cosines sit near 0.5, e5's near 0.85). Each is the floor that
# refuses the most off-topic questions while at least 98% of its refusals are right, on the
# retrieval-only check of `rag calibrate-refusal`
# (SQuAD-it dev, 400 questions asked with and without their article; eval/answer-calibration.md).
# For a model not listed, the retrieval check uses coverage alone.
DENSE_FLOORS: dict[str, float] = {
    "embeddinggemma-300m": 0.36,
    "multilingual-e5-small": 0.83,
}


@dataclass(frozen=True)
class Thresholds:
    """Refuse when retrieval is weak (``coverage`` below ``min_coverage`` and ``dense`` below
    ``min_dense``, when there is one), when the answer's support is below ``min_support``, when the quoted sentences
    cover less than ``min_focus`` of the question, when no sentence of the answer matches a passage
    sentence (nothing to cite), when a "how many"/"when" question gets no number or time, or when the
    model says the sources do not hold the answer.

    Defaults: checked on SQuAD-it dev (eval/answer-calibration.md)."""

    min_coverage: float = 0.5
    min_dense: float | None = None  # None: the embedder's floor from DENSE_FLOORS (see Assistant)
    min_support: float = 0.5
    min_focus: float = 0.2

    def weak_retrieval(self, evidence: Evidence) -> bool:
        """Coverage and cosine both low. Not applied across languages: the floors are calibrated on
        questions in the articles' language (across languages the question's words are not in the
        passages and cosines run lower), so such a question is judged after generation only."""
        if evidence.cross_language:
            return False
        dense_weak = evidence.dense is None or self.min_dense is None or evidence.dense < self.min_dense
        return evidence.coverage < self.min_coverage and dense_weak

    def refuse(self, evidence: Evidence) -> bool:
        evidence.reasons = []
        if self.weak_retrieval(evidence):
            evidence.reasons.append("weak retrieval")
        if evidence.model_refused:
            evidence.reasons.append("model found no answer")
        if evidence.wrong_type:
            evidence.reasons.append("answer is not the kind the question asks for")
        if evidence.support is not None and evidence.support < self.min_support:
            evidence.reasons.append("answer not grounded")
        if evidence.focus is not None and evidence.focus < self.min_focus:
            evidence.reasons.append("quoted sentences do not address the question")
        if evidence.cited is False and not evidence.reasons:  # said only when nothing above explains it
            evidence.reasons.append("no source sentence matches the answer")
        return bool(evidence.reasons)


# Every reason ``Thresholds.refuse`` can give (the chat page words each one in its language).
REASONS = (
    "weak retrieval",
    "model found no answer",
    "answer is not the kind the question asks for",
    "answer not grounded",
    "quoted sentences do not address the question",
    "no source sentence matches the answer",
)


def coverage(question: str, passages_text: Sequence[str]) -> float:
    """The largest share of the question's content words (rarer words weigh more) found in one passage."""
    wanted = keys(question)
    if not wanted:
        return 0.0
    found = [keys(t) for t in passages_text]
    if not found:
        return 0.0
    import math

    n = len(found)
    weight = {w: 1.0 + math.log(1 + n / (1 + sum(w in f for f in found))) for w in wanted}
    total = sum(weight.values())
    return max(sum(weight[w] for w in wanted & f) / total for f in found)


@dataclass
class Grounded:
    text: str  # the answer with [n] markers
    citations: list[Citation]
    support: float | None
    focus: float | None = None


def _passage_sentences(passage: PromptPassage) -> list[tuple[int, int, set[str]]]:
    text = passage.hit.text
    return [(a, b, keys(resolve_relative_dates(text[a:b], passage.hit.date))) for a, b in passage.spans]


def ground(
    answer: str,
    question: str,
    passages: Sequence[PromptPassage],
    cross_language: bool = False,
    min_sentence_support: float = 0.34,
) -> Grounded:
    """Attach ``[n]`` markers to ``answer`` from ``passages`` and measure how well it is supported.

    Only words the answer adds to the question count (restating the question proves nothing).
    With ``cross_language`` (answer and sources in different languages), only names and numbers count.
    """
    clean = strip_markers(answer).strip()
    asked = keys(question)
    sentences = [(a, b, *_new_words(clean[a:b], asked, cross_language)) for a, b in answer_sentences(clean)]
    indexed = [(p, _passage_sentences(p)) for p in passages]
    all_keys = set().union(*(k for _, sents in indexed for *_, k in sents)) if indexed else set()

    new_total: set[str] = set().union(*(s[2] for s in sentences)) if sentences else set()
    support = None
    if new_total:
        support = len(new_total & all_keys) / len(new_total)
    elif not cross_language and sentences:
        restated = set().union(*(s[3] for s in sentences))
        support = len(restated & all_keys) / len(restated) if restated else None

    quotes: list[str] = []
    numbers: dict[str, int] = {}  # chunk id -> marker number
    citations: list[Citation] = []
    out, last = [], 0
    for _a, b, new, every in sentences:
        target = new or every
        best = None
        for passage, sents in indexed:
            for sa, sb, skeys in sents:
                share = len(target & skeys) / len(target) if target else 0.0
                if best is None or share > best[0]:
                    best = (share, passage, sa, sb)
        out.append(clean[last:b])
        last = b
        if best is None or not target or best[0] < min_sentence_support:
            continue
        _, passage, sa, sb = best
        hit = passage.hit
        quotes.append(resolve_relative_dates(hit.text[sa:sb], hit.date))
        if hit.chunk_id not in numbers:
            numbers[hit.chunk_id] = len(numbers) + 1
            citations.append(
                Citation(
                    number=numbers[hit.chunk_id],
                    chunk_id=hit.chunk_id,
                    doc_id=hit.doc_id,
                    title=hit.title,
                    date=hit.date,
                    place=hit.place,
                    quote=" ".join(hit.text[sa:sb].split()),
                    quote_start=hit.start + sa,
                    quote_end=hit.start + sb,
                    passage=hit.text,
                    score=hit.score,
                )
            )
        marker = f" [{numbers[hit.chunk_id]}]"
        if out[-1].endswith(tuple(".!?…")) and not out[-1].endswith("..."):
            out[-1] = out[-1][:-1] + marker + out[-1][-1]
        else:
            out[-1] += marker
    out.append(clean[last:])
    focus = coverage(question, [" ".join(quotes)]) if quotes else None
    return Grounded("".join(out).strip(), citations, support, focus)


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

    return _MARKER_RE.sub(keep, text)
