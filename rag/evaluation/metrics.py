"""Evaluation metrics: retrieval (recall@k, MRR), answers (exact match, token F1), refusals, citations, and
the scores of each question kind: facts (``answer_right``, ``fact_scores``) and news questions
(``news_verdict``: summaries, digests, lists).

Retrieval works on ranked document ids; a hit is any chunk of a gold document. Answers are compared
after ``normalize_answer`` (Italian-aware; see its docstring); key facts after ``fold_answer`` (accents
and number formats too). Undefined ratios (nothing to divide by) are ``None``, never a made-up 0 or 1.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

import numpy as np

from rag.answer.citations import MARKER_RE, strip_markers
from rag.text import MONTHS, fold

# ---- retrieval -------------------------------------------------------------------------------


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
    """Share of questions with a gold document in the top ``k``.

    >>> recall_at([1, 3, None, 7], 5)
    0.5
    """
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
    """Linear-interpolated percentile (numpy's default); 0.0 for no values."""
    return float(np.percentile(values, q)) if len(values) else 0.0


# ---- answers ---------------------------------------------------------------------------------

# Articles (Italian, and English for the English questions) removed as whole words.
ARTICLES = frozenset({"il", "lo", "la", "i", "gli", "le", "un", "uno", "una", "the", "a", "an"})
# Elided article or article+preposition glued to the next word by an apostrophe: "l'Ucraina",
# "dell'Alleanza", "all'Ucraina", "un'ora". Stripped, or the word would never match its bare form.
ELISIONS = ("l", "un", "dell", "all", "dall", "nell", "sull", "coll", "pell")
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "`": "'", "\u00b4": "'"})
_ELISION = re.compile(r"\b(?:" + "|".join(ELISIONS) + r")'(?=\w)")


def normalize_answer(text: str) -> str:
    """Lower-case, drop citation markers, elided articles, punctuation and articles; keep accents.

    Steps: Unicode NFC; lower-case; citation markers (``[1]``) removed; typographic apostrophes made
    ``'``; elided articles and articulated prepositions (``l'``, ``un'``, ``dell'``, ``all'``,
    ``dall'``, ``nell'``, ``sull'``, ``coll'``, ``pell'``) removed; every other punctuation character
    (Unicode category P*) deleted, apostrophes turned into a space; the articles ``il lo la i gli le
    un uno una`` and English ``the a an`` removed as words; whitespace collapsed. Accented letters stay
    (``è`` is not ``e``). Non-elided prepositions (``della``, ``al``) stay: they are separate words.

    >>> normalize_answer("L’Alleanza Atlantica, dell'Ucraina [1]!")
    'alleanza atlantica ucraina'
    >>> normalize_answer("Il Parlamento ucraino")
    'parlamento ucraino'
    >>> normalize_answer("Perché è così")
    'perché è così'
    """
    text = unicodedata.normalize("NFC", text).lower()
    text = strip_markers(text).translate(_APOSTROPHES)
    text = _ELISION.sub("", text)
    chars = []
    for ch in text:
        if ch == "'":
            chars.append(" ")
        elif unicodedata.category(ch).startswith("P"):
            continue
        else:
            chars.append(ch)
    return " ".join(w for w in "".join(chars).split() if w not in ARTICLES)


def exact_match(prediction: str, answers: Iterable[str]) -> float:
    """1.0 if the normalised prediction equals any normalised gold answer, else 0.0 (0.0 with no answers).

    >>> exact_match("il 3 febbraio 2026", ["3 febbraio 2026"])
    1.0
    """
    pred = normalize_answer(prediction)
    return float(any(pred == normalize_answer(a) for a in answers))


def _f1(pred_tokens: list[str], gold_tokens: list[str]) -> float:
    if not pred_tokens or not gold_tokens:
        return float(pred_tokens == gold_tokens)
    common = sum((Counter(pred_tokens) & Counter(gold_tokens)).values())
    if common == 0:
        return 0.0
    precision = common / len(pred_tokens)
    recall = common / len(gold_tokens)
    return 2 * precision * recall / (precision + recall)


def token_f1(prediction: str, answers: Iterable[str]) -> float:
    """Best SQuAD token F1 of the prediction against any gold answer (bags of normalised words).

    If the prediction or a gold answer normalises to nothing, F1 is 1.0 when both do, else 0.0.

    >>> token_f1("Mark Rutte, segretario della NATO", ["Mark Rutte"])
    0.5714285714285715
    """
    pred = normalize_answer(prediction).split()
    return max((_f1(pred, normalize_answer(a).split()) for a in answers), default=0.0)


def answer_contains(prediction: str, answers: Iterable[str]) -> float:
    """1.0 if some normalised gold answer occurs as a whole-word run inside the normalised prediction.

    For long generated answers, where exact match is near 0 by construction.

    >>> answer_contains("Sarà a Kiev il 3 febbraio 2026 [1].", ["3 febbraio 2026"])
    1.0
    >>> answer_contains("Nel 2026", ["20"])
    0.0
    """
    pred = f" {normalize_answer(prediction)} "
    for answer in answers:
        gold = normalize_answer(answer)
        if gold and f" {gold} " in pred:
            return 1.0
    return 0.0


# ---- refusals and citations --------------------------------------------------------------------


def _ratio(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


def refusal_precision_recall(
    refused: Sequence[bool], unanswerable: Sequence[bool]
) -> tuple[float | None, float | None]:
    """Refusal as the positive class: precision = refused and unanswerable / refused;
    recall = refused and unanswerable / unanswerable. ``None`` where the denominator is 0.

    >>> refusal_precision_recall([True, True, False, False], [True, False, True, False])
    (0.5, 0.5)
    """
    if len(refused) != len(unanswerable):
        raise ValueError("refused and unanswerable must have one entry per question")
    both = sum(1 for r, u in zip(refused, unanswerable, strict=True) if r and u)
    return _ratio(both, sum(map(bool, refused))), _ratio(both, sum(map(bool, unanswerable)))


def citations_correct(cited_doc_ids: Sequence[str], gold_doc_ids: Sequence[str]) -> bool:
    """True when the answer cites at least one document and every cited document is gold.

    >>> citations_correct(["a", "a"], ["a", "b"]), citations_correct([], ["a"]), citations_correct(["a", "c"], ["a"])
    (True, False, False)
    """
    return bool(cited_doc_ids) and set(cited_doc_ids) <= set(gold_doc_ids)


def citation_accuracy(cited: Sequence[Sequence[str]], gold: Sequence[Sequence[str]]) -> float | None:
    """Share of answers whose cited documents are all gold (an answer citing nothing counts as wrong).

    Give only the answers to score (the evaluator passes non-refused answers to answerable questions).

    >>> citation_accuracy([["a"], ["a", "b"], []], [["a"], ["a"], ["a"]])
    0.3333333333333333
    """
    if len(cited) != len(gold):
        raise ValueError("cited and gold must have one entry per answer")
    return _ratio(sum(citations_correct(c, g) for c, g in zip(cited, gold, strict=True)), len(cited))


def answer_right(
    refused: bool, text: str, cited_doc_ids: Sequence[str], gold_answers: Sequence[str], gold_doc_ids: Sequence[str]
) -> bool:
    """Whether a question was handled right: an unanswerable one (no gold documents) is refused; an
    answerable one is answered (not refused), the answer contains an accepted answer
    (``answer_contains``) and its citations are correct (``citations_correct``).

    >>> answer_right(False, "Andrii Hnatov [1].", ["d1"], ["Andrii Hnatov"], ["d1"])
    True
    >>> answer_right(False, "Andrii Hnatov [1].", ["d2"], ["Andrii Hnatov"], ["d1"]), answer_right(True, "", [], [], [])
    (False, True)
    """
    if not gold_doc_ids:
        return refused
    return not refused and bool(answer_contains(text, gold_answers)) and citations_correct(cited_doc_ids, gold_doc_ids)


def mean(values: Sequence[float]) -> float | None:
    """Arithmetic mean, ``None`` for no values."""
    return sum(values) / len(values) if values else None


def count(right: int, total: int) -> dict:
    """A figure as its counts and their ratio: ``{"right": 36, "of": 49, "rate": 0.7346…}`` (rate ``None`` of 0).

    >>> count(3, 4)
    {'right': 3, 'of': 4, 'rate': 0.75}
    """
    return {"right": right, "of": total, "rate": _ratio(right, total)}


def fact_scores(
    answerable: Sequence[bool], refused: Sequence[bool], right: Sequence[bool], near_miss: Sequence[bool]
) -> dict:
    """The figures of a set of fact questions (one entry per question; ``right`` is ``answer_right``), each
    as ``count``:

    - ``precision``: of the answers shown (not refused), those right and cited (an answer shown to a question
      the articles do not answer is wrong);
    - ``coverage``: of the answerable questions, those answered right and cited;
    - ``near_misses_refused``: of the near misses (on an article's subject, not answered by it), those refused;
    - ``unanswerable_refused``: of every unanswerable question (near misses and off-topic ones), those refused.

    >>> fact_scores([True, True, True, False], [False, False, True, True], [True, False, False, True], [0, 0, 0, 1])
    {'precision': {'right': 1, 'of': 2, 'rate': 0.5}, 'coverage': {'right': 1, 'of': 3, 'rate': 0.3333333333333333}, \
'near_misses_refused': {'right': 1, 'of': 1, 'rate': 1.0}, 'unanswerable_refused': {'right': 1, 'of': 1, 'rate': 1.0}}
    """
    rows = list(zip(answerable, refused, right, near_miss, strict=True))
    shown = [r for r in rows if not r[1]]
    can = [r for r in rows if r[0]]
    misses = [r for r in rows if not r[0] and r[3]]
    cannot = [r for r in rows if not r[0]]
    return {
        "precision": count(sum(bool(r[2]) for r in shown), len(shown)),
        "coverage": count(sum(bool(r[2]) for r in can), len(can)),
        "near_misses_refused": count(sum(bool(r[1]) for r in misses), len(misses)),
        "unanswerable_refused": count(sum(bool(r[1]) for r in cannot), len(cannot)),
    }


# ---- news questions: summaries, digests, lists ------------------------------------------------------

# "1 350" (a space or a narrow no-break space between groups of three) is one number, as "1.350" and "1350"
_DIGIT_GROUPS = re.compile(r"(?<![\d.,])\d{1,3}(?:[ \u00a0\u202f]\d{3})+(?![\d.,])")


def fold_answer(text: str) -> str:
    """``normalize_answer`` without accents and with one way to write a number, for key facts.

    ``Forlì`` and ``Forli`` match; "1.350", "1,350", "1350" and "1 350" are one number (``normalize_answer``
    deletes the separators; spaces between groups of three digits are joined here); ``%`` is "per cento".

    >>> fold_answer("1.350 firme a Forlì, il 2%") == fold_answer("1 350 firme a forli, il 2 per cento")
    True
    """
    text = _DIGIT_GROUPS.sub(lambda m: re.sub(r"\s", "", m[0]), text.replace("%", " per cento "))
    return fold(normalize_answer(text))


def missing_key_facts(text: str, key_facts: Sequence[Sequence[str]]) -> list[str]:
    """The key facts (each a list of alternatives) of which no alternative occurs in ``text`` as a run of whole
    words after ``fold_answer``; each named by its first alternative.

    >>> missing_key_facts("Ravenna ha vinto 88-81, 24 punti di Brambilla [1].", [["88-81"], ["Lanzi"], ["Forlì"]])
    ['Lanzi', 'Forlì']
    """
    said = f" {fold_answer(text)} "
    missing = []
    for alternatives in key_facts:
        if not any(f" {folded} " in said for a in alternatives if (folded := fold_answer(a))):
            missing.append(alternatives[0])
    return missing


_MONTH_NUMBER = {name.lower(): i for lang in ("it", "en") for i, name in enumerate(MONTHS[lang].split(), 1)}
_MONTH = "|".join(sorted(_MONTH_NUMBER, key=len, reverse=True))
_DATE = re.compile(
    r"(?P<iso>\b(?P<iy>\d{4})-(?P<im>\d{1,2})-(?P<id>\d{1,2})\b)"
    r"|(?P<num>\b(?P<nd>\d{1,2})[/.](?P<nm>\d{1,2})[/.](?P<ny>\d{4})\b)"
    rf"|(?P<dm>\b(?P<d1>\d{{1,2}})(?:°|º|st|nd|rd|th)?\s+(?P<m1>{_MONTH})\b(?:,?\s+(?P<y1>\d{{4}}))?)"
    rf"|(?P<md>\b(?P<m2>{_MONTH})\s+(?P<d2>\d{{1,2}})(?:st|nd|rd|th)?\b(?:,?\s+(?P<y2>\d{{4}}))?)",
    re.IGNORECASE,
)


def dates_in(text: str, year: int | None = None) -> list[date]:
    """The dates written in ``text``, in order: "3 marzo 2026", "1° aprile", "March 3, 2026", "2026-03-03",
    "03/03/2026". A day and month without a year take ``year`` (the year the question is asked); without
    one they are skipped.

    >>> dates_in("Il 2 aprile 2026 a Cuneo; il 27 marzo la frana", year=2026)
    [datetime.date(2026, 4, 2), datetime.date(2026, 3, 27)]
    """
    out = []
    for m in _DATE.finditer(text):
        if m["iso"]:
            parts = (m["iy"], m["im"], m["id"])
        elif m["num"]:
            parts = (m["ny"], m["nm"], m["nd"])
        else:
            day, month, given = (m["d1"], m["m1"], m["y1"]) if m["dm"] else (m["d2"], m["m2"], m["y2"])
            if given is None and year is None:
                continue
            parts = (given or year, _MONTH_NUMBER[month.lower()], day)
        try:
            out.append(date(int(parts[0]), int(parts[1]), int(parts[2])))
        except ValueError:  # "31 febbraio": not a date
            continue
    return out


def newest_first(text: str, year: int | None = None) -> bool:
    r"""Whether a digest is dated newest first: every line that cites (holds a ``[n]`` marker) has a date, its
    own first date or that of the last dated line above it (a heading), and these dates never increase down
    the text. A digest without a cited line is not one.

    >>> newest_first("2 aprile 2026 – Riaperta la strada [1]\n27 marzo 2026 – La frana [2]")
    True
    >>> newest_first("27 marzo 2026 – La frana [2]\n2 aprile 2026 – Riaperta la strada [1]")
    False
    >>> newest_first("La strada è stata riaperta [1]. La frana era caduta [2].")
    False
    """
    heading: date | None = None
    seen: list[date] = []
    for line in text.splitlines():
        own = dates_in(line, year)
        if MARKER_RE.search(line):
            when = own[0] if own else heading
            if when is None:
                return False
            seen.append(when)
        if own:
            heading = own[0]
    return bool(seen) and all(a >= b for a, b in zip(seen, seen[1:], strict=False))


class NewsProblem(StrEnum):
    """Why a summary, digest or list is not acceptable (``news_verdict``)."""

    REFUSED = "refused"  # the articles answer it, and it was refused
    ANSWERED = "answered"  # the articles do not answer it, and it was answered
    ARTICLES_MISSING = "articles missing"  # an article of the gold ``docs`` is not cited
    OTHER_ARTICLES = "other articles"  # an article not in ``docs`` is cited
    KEY_FACTS_MISSING = "key facts missing"  # a key fact is not in the answer
    NOT_NEWEST_FIRST = "not newest first"  # a digest whose cited lines are not dated newest first


@dataclass(frozen=True)
class NewsVerdict:
    acceptable: bool
    problems: tuple[NewsProblem, ...] = ()
    missing_key_facts: tuple[str, ...] = ()


def news_verdict(
    kind: str,
    refused: bool,
    text: str,
    cited_doc_ids: Sequence[str],
    docs: Sequence[str],
    key_facts: Sequence[Sequence[str]],
    year: int | None = None,
) -> NewsVerdict:
    r"""Whether a news answer (``kind``: ``summary``, ``digest`` or ``list``) is acceptable: when the articles
    answer it (``docs`` given), it is not refused, it cites every article of ``docs`` and no other, holds
    every key fact (``missing_key_facts``) and, for a digest, its cited lines are dated newest first
    (``newest_first``; ``year`` completes dates written without one); when they do not, it is refused.

    >>> news_verdict("digest", False, "2 aprile 2026 – 28 rientrati [1]\n27 marzo 2026 – 40 evacuati [2]",
    ...              ["b", "a"], ["b", "a"], [["28"], ["40"]]).acceptable
    True
    >>> news_verdict("summary", False, "La frana [1].", ["a", "c"], ["a"], [["40"]]).problems
    (<NewsProblem.OTHER_ARTICLES: 'other articles'>, <NewsProblem.KEY_FACTS_MISSING: 'key facts missing'>)
    """
    if not docs:
        return NewsVerdict(bool(refused), () if refused else (NewsProblem.ANSWERED,))
    if refused:
        return NewsVerdict(False, (NewsProblem.REFUSED,), tuple(a[0] for a in key_facts))
    problems = []
    cited, gold = set(cited_doc_ids), set(docs)
    if gold - cited:
        problems.append(NewsProblem.ARTICLES_MISSING)
    if cited - gold:
        problems.append(NewsProblem.OTHER_ARTICLES)
    missing = missing_key_facts(text, key_facts)
    if missing:
        problems.append(NewsProblem.KEY_FACTS_MISSING)
    if kind == "digest" and not newest_first(text, year):
        problems.append(NewsProblem.NOT_NEWEST_FIRST)
    return NewsVerdict(not problems, tuple(problems), tuple(missing))
