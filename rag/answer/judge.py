"""Judge a reply: the answer the sources back (its text, citations and short answer), or a refusal.

The short answer is placed in the sentences the model read (``_where``), the reply's sentence is
matched to them (``citations.ground``), and the refusal checks (``refusal.Thresholds``) read the
evidence gathered on the way: support, focus, the article the answer stands in, the model's own doubt.
"""

from __future__ import annotations

import dataclasses

from rag.answer.citations import cite, ground
from rag.answer.prompt import Prompt
from rag.answer.refusal import coverage, says_not_found, wrong_answer_type
from rag.answer.reply import Reply, snap, tighten
from rag.answer.settings import AskSettings
from rag.text import fold, spelled_numbers
from rag.types import Citation, Evidence


def judge(
    question: str,
    reply: Reply,
    raw: str,
    prompt: Prompt,
    evidence: Evidence,
    settings: AskSettings,
    cross: bool,
    said: str = "",
) -> tuple[str, list[Citation], str] | None:
    """``(text, citations, short)`` of an answer the sources back, or None (``evidence.reasons`` say why).

    ``said``: the earlier exchanges shown with a follow-up, whose words the short answer need not repeat."""
    evidence.reply = raw
    evidence.model_refused = reply.dont_know or says_not_found(reply.short)
    evidence.wrong_type = wrong_answer_type(question, f"{reply.short}\n{reply.sentence}")
    # the short answer in the sentences the model read: (passage, sentence start, sentence end, start, end)
    read = [(p, a, b) for p in prompt.passages for a, b in p.spans]
    grounded = ground(reply.sentence, question, prompt.passages, cross_language=cross)
    at = None if evidence.model_refused else _where(reply.short, read, grounded.citations, question)
    found = (*read[at[0]], read[at[0]][1] + at[1], read[at[0]][1] + at[2]) if at else None
    short = found[0].hit.text[found[3] : found[4]] if found else reply.short
    if evidence.model_refused:
        evidence.support = None  # nothing was answered: there is nothing to back
    elif found:  # the short answer stands in the sources word for word
        evidence.support = grounded.support if grounded.citations else 1.0
    else:  # its words must be in the sources too (a reply "italiano" when they say "olandese" is not)
        spelled = {reply.short, spelled_numbers(reply.short, settings.source_language)}  # "2": "due"
        short_supports = [ground(s, question, prompt.passages, cross_language=cross).support for s in spelled]
        short_support = max((x for x in short_supports if x is not None), default=None)
        supports = [x for x in (grounded.support, short_support) if x is not None]
        evidence.support = min(supports, default=None)
    evidence.focus = None if cross else grounded.focus  # word overlap across languages means little
    evidence.answer_article = None if cross or not found else _answer_article(question, prompt, found[0])
    evidence.cited = None if evidence.model_refused else bool(grounded.citations or found)
    thresholds = settings.thresholds
    if evidence.context == "articles":  # the model read everything: a quote off the question's words is fine
        thresholds = dataclasses.replace(thresholds, min_focus=0.0)
    if thresholds.refuse(evidence):
        return None
    tight = tighten(short, question, settings.source_language, said)  # the words that answer, not a sentence
    denies = bool(grounded.citations) and says_not_found(grounded.text)
    if grounded.citations and not denies and (not found or _mentions(grounded.text, short)):
        return grounded.text, grounded.citations, _as_written(tight, grounded.text, settings.source_language)
    if found:
        passage, a, b, *_ = found
        return f"{short} [1]", [cite(passage, a, b, 1)], tight
    # the sentence denies what the short answer says ("Le fonti non dicono quando…" beside "2 dicembre 2025",
    # which the checks above found backed): the short answer is shown, cited where the sentence matched
    return f"{tight} [{', '.join(str(c.number) for c in grounded.citations)}]", grounded.citations, tight


def _answer_article(question: str, prompt: Prompt, passage) -> float | None:
    """How much of the question the article holding the answer covers, relative to the article of the prompt
    that covers it most (None with a single article, or a question none of them shares words with)."""
    by_doc: dict[str, list[str]] = {}
    for p in prompt.passages:
        by_doc.setdefault(p.hit.doc_id, []).append(p.text)
    if len(by_doc) < 2:
        return None
    covered = {doc: coverage(question, [" ".join(texts)]) for doc, texts in by_doc.items()}
    best = max(covered.values())
    return covered[passage.hit.doc_id] / best if best > 0 else None


def _where(short: str, read, cited, question: str) -> tuple[int, int, int] | None:
    """Where ``short`` stands in the sentences read (``(index in read, start, end)`` within the sentence):
    of several places ("Africa" in three articles), one in an article the answer's sentence cites, else in
    the article whose passage covers the question most, else the first."""
    places = [(i, at) for i, (p, a, b) in enumerate(read) if (at := snap(short, [p.hit.text[a:b]]))]
    if not places:
        return None
    cited_docs = {c.doc_id for c in cited}
    holding = {id(read[i][0]): read[i][0] for i, _ in places}  # each passage once, not once per sentence
    covers = {key: coverage(question, [passage.text]) for key, passage in holding.items()}

    def rank(place):
        passage = read[place[0]][0]
        return passage.hit.doc_id in cited_docs, covers[id(passage)]

    i, (_, start, end) = max(places, key=rank)  # the first of equals: the order the model read them in
    return i, start, end


def _as_written(short: str, cited: str, language: str) -> str:
    """``short`` as the cited text writes it when the model wrote its number in digits and the text in
    words ("9" where the article says "nove nazioni"): the short answer quotes the source.

    >>> _as_written("9", "La regione comprende territori di nove nazioni.", "it")
    'nove'
    >>> _as_written("9", "Nove nazioni e 9 regioni.", "it")
    '9'
    """
    if snap(short, [cited]) is not None:
        return short
    at = snap(spelled_numbers(short, language), [cited])
    return cited[at[1] : at[2]] if at else short


def _mentions(text: str, short: str) -> bool:
    """Whether ``text`` contains the words of ``short`` (ignoring case and accents)."""
    return snap(short, [text]) is not None or fold(short) in fold(text)
