"""The one verifier of a fact's answer: every way an answer can be refused, in one table (``CHECKS``).

Each check has a reason (``Reason``), the stage it runs at (``retrieval``: before generating; ``answer``:
on the model's reply), what it measures, and can be switched off by name (``AskSettings.checks_off``), so
``rag bench checks`` can measure what each does on data it was not tuned on (``eval/RESULTS.md`` lists
each with its effect). ``Evidence.fired`` records every check that fired, switched off or not.

What a fact's answer shows (``verify_fact``): the short answer as the sources write it, and the sentence it
stands in, verbatim and quoted ("Andrii Hnatov — «Umerov sarà accompagnato dal …, Andrii Hnatov, …» [1]").
For a question in another language than the articles, the model's own sentence is shown (it translates),
cited to the sentence it matches, with that sentence quoted.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from rag.answer.asks import MONTH_WORDS, NUMBER_WORDS, asks_for
from rag.answer.citations import cite, ground
from rag.answer.dates import resolve_relative_dates
from rag.answer.prompt import Prompt
from rag.answer.refusal import counts_something_else, coverage, says_not_found, wrong_answer_type
from rag.answer.reply import Reply, snap, tighten
from rag.text import fold, keys, spelled_numbers
from rag.types import Citation, Evidence


class Reason(StrEnum):
    """Why an answer is refused: one value per check (the page words each in its language)."""

    WEAK_RETRIEVAL = "weak retrieval"
    UNNAMED = "the articles never name what is asked"
    MODEL_NO_ANSWER = "model found no answer"
    DOUBT = "model unsure of the answer"
    WRONG_TYPE = "answer is not the kind the question asks for"
    ADDS_NOTHING = "answer adds nothing to the question"
    NOT_VERBATIM = "the short answer is not in the sources word for word"
    NOT_GROUNDED = "answer not grounded"
    NOT_CITED = "no source sentence matches the answer"


REASONS = tuple(r.value for r in Reason)


@dataclass(frozen=True)
class Thresholds:
    """The numbers the checks compare with. ``min_dense`` None: the embedder's floor (``DENSE_FLOORS``)."""

    min_coverage: float = 0.5  # share of the question's content words in the best passage
    min_dense: float | None = None  # cosine question / best passage
    min_support: float = 0.5  # share of the answer's new words found in the passages
    max_doubt: float = 0.1  # the model's probability of starting with "don't know"

    def refuse(self, evidence: Evidence, off: frozenset[str] = frozenset()) -> bool:
        """Run every check on ``evidence``; True when one that is not ``off`` fires (``evidence.reasons``)."""
        return bool(run_checks(evidence, self, off))


@dataclass(frozen=True)
class Check:
    reason: Reason
    stage: str  # "retrieval" (before generating) or "answer" (on the reply)
    measures: str
    fires: Callable[[Evidence, Thresholds], bool]


def _weak(e: Evidence, t: Thresholds) -> bool:
    dense_weak = e.dense is None or t.min_dense is None or e.dense < t.min_dense
    return not e.cross_language and e.coverage < t.min_coverage and dense_weak


CHECKS: tuple[Check, ...] = (
    Check(Reason.WEAK_RETRIEVAL, "retrieval", "coverage and cosine of the best passage both low", _weak),
    Check(Reason.UNNAMED, "retrieval", "a name of the question the articles found never write",
          lambda e, t: bool(e.unnamed) and not e.cross_language),
    Check(Reason.MODEL_NO_ANSWER, "answer", "the model said the sources do not say", lambda e, t: e.model_refused),
    Check(Reason.DOUBT, "answer", "P(first token of 'Non lo so') at or above max_doubt",
          lambda e, t: not e.model_refused and e.doubt is not None and e.doubt >= t.max_doubt),
    Check(Reason.WRONG_TYPE, "answer", "a 'quando' answer without a date, a 'quanti' one without a number",
          lambda e, t: e.wrong_type),
    Check(Reason.ADDS_NOTHING, "answer", "the short answer's words are all the question's own",
          lambda e, t: e.adds_nothing),
    Check(Reason.NOT_VERBATIM, "answer", "the short answer is not a span of a sentence the model read",
          lambda e, t: e.verbatim is False),
    Check(Reason.NOT_GROUNDED, "answer", "share of the answer's new words in the passages below min_support",
          lambda e, t: e.support is not None and e.support < t.min_support),
    Check(Reason.NOT_CITED, "answer", "no sentence of the sources matches the answer", lambda e, t: e.cited is False),
)  # fmt: skip


def run_checks(evidence: Evidence, thresholds: Thresholds, off: frozenset[str], stage: str | None = None) -> list[str]:
    """Run the checks (of ``stage``, or all): ``evidence.fired`` gets every one that fires, and the reasons
    returned (also set as ``evidence.reasons``) are those not switched ``off``."""
    fired = [c.reason.value for c in CHECKS if (stage is None or c.stage == stage) and c.fires(evidence, thresholds)]
    evidence.fired = list(dict.fromkeys([*evidence.fired, *fired]))
    evidence.reasons = [r for r in fired if Reason(r).name not in off and r not in off]
    return evidence.reasons


def check_names(names) -> frozenset[str]:
    """``checks_off`` as given (enum names, case-insensitive, or reason texts), checked: an unknown name is an
    error naming the known ones."""
    from rag.errors import InputError

    out = set()
    for name in names or ():
        key = str(name).strip().upper().replace("-", "_").replace(" ", "_")
        if key in Reason.__members__:
            out.add(key)
        elif name in REASONS:
            out.add(Reason(name).name)
        else:
            known = ", ".join(m.lower() for m in Reason.__members__)
            raise InputError(f"unknown check {name!r}; known: {known}")
    return frozenset(out)


# ---- a fact's answer -------------------------------------------------------------------------------
_DATE_RE = re.compile(rf"\d|\b(?:{MONTH_WORDS}|oggi|ieri|domani|dopodomani|today|yesterday|tomorrow)\b", re.I)
_NUMBER_RE = re.compile(NUMBER_WORDS, re.I)


def wrong_kind(question: str, short: str, sentence: str = "") -> bool:
    """A "quando"/"da quando" short answer without a date, a "quanti" one without a number (any format) or
    with the number of something else; a bare number is read with the words that follow it in its
    ``sentence`` ("54" in "con il 54 per cento in attacco" counts a share, not the "muri" asked).

    >>> wrong_kind("Da quando Rutte è segretario generale?", "Rutte")
    True
    >>> wrong_kind("Quante firme sono state raccolte?", "1.350 firme"), wrong_kind("Quando?", "ottobre 2024")
    (False, False)
    >>> wrong_kind("Quanti soldati sono morti nella guerra?", "più di tremila giorni")
    True
    >>> wrong_kind("Quanti muri ha fatto Haak?", "54", "Haak, autrice di 27 punti, con il 54 per cento in attacco.")
    True
    """
    kind = asks_for(question)
    if kind == "date":
        return not _DATE_RE.search(short)
    if kind == "count":  # a number, and of the thing asked ("Quanti soldati…?" -> not "tremila giorni")
        if not _NUMBER_RE.search(short):
            return True
        at = fold(sentence).find(fold(short)) if sentence else -1
        counted = " ".join(sentence[at:].split()[: len(short.split()) + 3]) if at >= 0 else short
        return counts_something_else(question, counted)
    return False


def adds_nothing(question: str, short: str) -> bool:
    """Whether the short answer's content words are all the question's own (it restates the question).

    >>> adds_nothing("Dove si erano svolti i contatti con la delegazione americana?", "con la delegazione americana")
    True
    >>> adds_nothing("Chi accompagnava Umerov?", "Andrii Hnatov")
    False
    """
    said = keys(short)
    return bool(said) and said <= keys(question) and not re.search(r"\d", short)


def verify_fact(
    question: str,
    reply: Reply,
    raw: str,
    prompt: Prompt,
    evidence: Evidence,
    thresholds: Thresholds,
    off: frozenset[str],
    cross: bool,
    said: str = "",
    language: str = "it",
) -> tuple[str, list[Citation], str] | None:
    """``(text, citations, short)`` of an answer that passes the checks, or None (``evidence.reasons``)."""
    evidence.reply = raw
    evidence.model_refused = reply.dont_know or says_not_found(reply.short)
    # the sentences as the model read them: relative dates resolved ("Domani (3 febbraio 2026)")
    read = [(p, a, b, _shown(p, a, b)) for p in prompt.passages for a, b in p.spans]
    short = tighten(reply.short, question, language, said) if not evidence.model_refused else ""
    found = None if evidence.model_refused else _locate(reply.short, short, read, question, language)
    if found:
        short = found[4]
    grounded = ground(reply.sentence, question, prompt.passages, cross_language=True) if cross else None
    evidence.verbatim = None if evidence.model_refused or cross else found is not None
    evidence.adds_nothing = bool(short) and adds_nothing(question, short)  # its own words, not the chat's
    evidence.wrong_type = bool(short) and (
        wrong_kind(question, short, found[3] if found else "")
        if not cross
        else wrong_answer_type(question, f"{short}\n{reply.sentence}")
    )
    if evidence.model_refused:
        evidence.support = None
    elif found:
        evidence.support = 1.0
    elif grounded is not None:
        evidence.support = grounded.support
    else:  # not found word for word: how much of it the sources write (used when NOT_VERBATIM is off)
        spelled = {reply.short, spelled_numbers(reply.short, language)}
        supports = [ground(s, question, prompt.passages).support for s in spelled]
        evidence.support = max((x for x in supports if x is not None), default=None)
    evidence.cited = None if evidence.model_refused else bool(found or (grounded and grounded.citations))
    if run_checks(evidence, thresholds, off, stage="answer") or evidence.model_refused:
        if not evidence.reasons:  # switched off, but nothing was answered: there is nothing to show
            evidence.reasons = [Reason.MODEL_NO_ANSWER.value]
        return None
    if found:
        passage, a, b, sentence, *_ = found
        if cross and grounded and grounded.text:  # the model's translation, the original beside it
            return f"{grounded.text}\n«{sentence}» [1]", [cite(passage, a, b, 1)], short
        lead = f"{short} — " if short and fold(short) != fold(sentence) else ""
        return f"{lead}«{sentence}» [1]", [cite(passage, a, b, 1)], short
    if grounded and grounded.citations:
        first = grounded.citations[0]
        return f"{grounded.text}\n«{first.quote}»", grounded.citations, short
    # only with NOT_VERBATIM and NOT_CITED off (ablation): the model's short answer, cited nowhere
    return short or reply.short, [], short


def _shown(passage, a: int, b: int) -> str:
    return resolve_relative_dates(" ".join(passage.hit.text[a:b].split()), passage.hit.date)


# An article or preposition opening a short answer, which the article's own words may not share.
_LEADING_RE = re.compile(
    r"^(?:il|lo|la|i|gli|le|l['’]|un|uno|una|un['’]|dal|dallo|dalla|dai|dagli|dalle|del|dello|della|dei|degli|"
    r"delle|al|allo|alla|ai|agli|alle|nel|nello|nella|nei|negli|nelle|the|a|an)\s*(?<=\s|['’])",
    re.IGNORECASE,
)
# Where a short answer written as several parts splits ("Andrii Hnatov, Capo di…", "X è il Capo di…").
_PARTS_RE = re.compile(r"\s*[,;:]\s*|\s+(?:e|ed|and|è|era|sarà|is|was)\s+", re.IGNORECASE)
_NUMBER_ONLY_RE = re.compile(r"[\d.,:/-]*\d")


def _find(short: str, sentence: str) -> tuple[int, int, int] | None:
    """``snap``, except that a number is found only whole: "3" is not in "3-1", "1,09" or "2.870".

    >>> _find("3", "vinto per 3-1 davanti a 3 mila"), _find("3", "per 3-1"), _find("Haak", "Isabelle Haak")
    ((0, 24, 25), None, (0, 9, 13))
    """
    if not _NUMBER_ONLY_RE.fullmatch(short.strip()):
        return snap(short, [sentence])
    match = re.search(rf"(?<![\w.,:/-]){re.escape(short.strip())}(?![\w]|[.,:/-]\d)", sentence)
    return (0, match.start(), match.end()) if match else None


def _closed(text: str, start: int, end: int) -> str:
    """``text[start:end]`` with a bracket it opens closed, as the sentence closes it (a date the code wrote
    after a relative one: "giovedì (26 marzo 2026)", never "giovedì (26 marzo 2026").

    >>> _closed("fissati per giovedì (26 marzo 2026).", 12, 34), _closed("il 3 (tre) maggio", 3, 4)
    ('giovedì (26 marzo 2026)', '3')
    """
    piece = text[start:end]
    if piece.count("(") > piece.count(")") and (close := text.find(")", end)) >= 0:
        return text[start : close + 1]
    return piece


def _locate(short_raw: str, short: str, read, question: str, language: str):
    """Where the short answer stands in the sentences read: ``(passage, sentence start, end, sentence as
    read, the short answer as that sentence writes it)``. Tried as written, tightened, with numbers spelled
    out ("2" where the article says "due"), and as its parts ("Andrii Hnatov, Capo di Stato Maggiore") when
    one sentence holds every part; of several places, the one whose passage covers the question most (the
    first of equals: the order the model read them in)."""
    covers = {}

    def best(places):
        for i in places:
            covers.setdefault(i, coverage(question, [read[i][0].text]))
        return max(places, key=lambda i: covers[i])

    bare = _LEADING_RE.sub("", short)  # "il Capo di Stato Maggiore" where the article says "dal Capo di…"
    for candidate in dict.fromkeys([short_raw, short, spelled_numbers(short, language), bare]):
        at = {i: where for i, (*_, shown) in enumerate(read) if candidate and (where := _find(candidate, shown))}
        if at:
            i = best(list(at))
            passage, a, b, shown = read[i]
            return passage, a, b, shown, _closed(shown, at[i][1], at[i][2])
    parts = [_LEADING_RE.sub("", p) for p in _PARTS_RE.split(short_raw.strip(" .")) if p]
    parts = [p for p in parts if p]
    if len(parts) > 1:
        spans = {i: [snap(p, [shown]) for p in parts] for i, (*_, shown) in enumerate(read)}
        whole = [i for i, found in spans.items() if all(found)]
        if whole:
            i = best(whole)
            passage, a, b, shown = read[i]
            return passage, a, b, shown, ", ".join(shown[start:end] for _, start, end in spans[i])
    return None
