"""Evaluation metrics: retrieval (recall@k, MRR), answers (exact match, token F1), refusals, citations.

Retrieval works on ranked document ids; a hit is any chunk of a gold document. Answers are compared
after ``normalize_answer`` (Italian-aware; see its docstring). Undefined ratios (nothing to divide by)
are ``None``, never a made-up 0 or 1.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence

import numpy as np

from rag.answer.citations import strip_markers

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
