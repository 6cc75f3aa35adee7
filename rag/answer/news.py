"""The questions of a newsroom that are not a single fact: a summary of one article, a dated digest of the
news of a time or topic, a list of the countries, people or other things an article names.

Every line shown is the articles' own words: a summary is the article's lead and the sentences after it,
a digest line an article's date, title and lead, a list item a name as the article writes it. Each is
cited to the sentence it comes from (only our own fixed words, such as a digest's last line saying how
many articles it left out, are not), so what is shown is backed by construction and comes at once (no
generation, except the list of names the model proposes and the code then finds in the article).
Relative dates are resolved against the article's date ("Domani (3 febbraio 2026)"), so a reader sees
when things happen whatever today is.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date
from functools import lru_cache

from rag.answer.citations import cite
from rag.answer.dates import resolve_relative_dates
from rag.answer.gazetteers import comuni_in, people_in
from rag.answer.kinds import Asked, Kind
from rag.answer.prompt import PromptPassage, document_hit
from rag.answer.reply import snap
from rag.answer.sections import of_section, section_asked
from rag.index.catalog import documents
from rag.index.retriever import Retriever
from rag.sources.dateline import other_opening_end, read_head
from rag.text import all_stopwords, fold, format_date, keys, sentence_spans
from rag.types import Citation, Document, Filters

SUMMARY_SENTENCES = 5  # the lead and the four sentences after it (3-5 asked; fewer in a short article)
DIGEST_ARTICLES = 8  # at most this many articles in a digest of the latest news (the newest)
PERIOD_ARTICLES = 20  # at most this many in a digest of the days a question names ("a marzo"): all, up to a page
_SENTENCE_END = tuple('.!?…"”»)')


@dataclass
class NewsReply:
    """What a news question gets: its text with ``[n]`` markers and their citations, or why it gets none."""

    text: str
    citations: list[Citation]
    reason: str = ""  # non-empty: nothing to show (a refusal), this says why
    lines: list[str] | None = None  # a digest, line by line (for streaming)


WORDS = {
    "it": {
        "summary": "In sintesi, «{title}»{when}:",
        "when": " ({date})",
        "list": "{what} citat{ending} in «{title}»:",
        "digest_none": "Nessun articolo {range}.",
        "range": "tra il {start} e il {end}",
        "day": "del {start}",
        "newest": " L'articolo più recente è del {date}.",
        "more": "…e altri {n} articoli, non mostrati: restringi la domanda a un argomento o a meno giorni.",
        "more_one": "…e un altro articolo, non mostrato: restringi la domanda a un argomento o a meno giorni.",
        "more_on_topic": "…e almeno altri {n} articoli, non mostrati: restringi la domanda a meno giorni.",
        "more_one_on_topic": "…e almeno un altro articolo, non mostrato: restringi la domanda a meno giorni.",
    },
    "en": {
        "summary": "In short, “{title}”{when}, in the article's own words:",
        "when": " ({date})",
        "list": "{what} named in “{title}”:",
        "digest_none": "No article {range}.",
        "range": "between {start} and {end}",
        "day": "of {start}",
        "newest": " The newest article is of {date}.",
        "more": "…and {n} more articles, not shown: narrow the question to a topic or to fewer days.",
        "more_one": "…and one more article, not shown: narrow the question to a topic or to fewer days.",
        "more_on_topic": "…and at least {n} more articles, not shown: narrow the question to fewer days.",
        "more_one_on_topic": "…and at least one more article, not shown: narrow the question to fewer days.",
    },
}
THINGS = {
    "it": {"countries": "Paesi", "people": "Persone", "places": "Luoghi", "organisations": "Organizzazioni"},
    "en": {"countries": "Countries", "people": "People", "places": "Places", "organisations": "Organisations"},
}
REASONS = {
    "no_article_in_dates": "no article in the dates asked",
    "no_article_on_topic": "no article about what is asked",
    "nothing_to_list": "the article names none of what is asked",
}


def _words(language: str) -> dict[str, str]:
    return WORDS.get(language, WORDS["en"])


# ---- choosing the articles --------------------------------------------------------------------------
def newest_date(retriever: Retriever) -> date | None:
    """The date of the index's newest dated article."""
    for info in documents(retriever.store):
        if info.date:
            return date.fromisoformat(info.date)
    return None


def articles_about(
    retriever: Retriever,
    asked: Asked,
    question: str,
    filters: Filters | None,
    limit: int,
    min_dense: float | None = None,
) -> tuple[list[tuple[Document, float]], int]:
    """The articles a news question is about, at most ``limit``, most relevant first, with their relevance
    (0-1): those in the days it names, and about its topic when it has one; and how many are about it in all
    (for a topic, of those its search reached).

    Without a topic every article of those days is relevant. With one, an article is relevant when it
    holds the topic's words (title, place, source and text count), else when the embedding model puts it
    as close to the topic as the closest article (``closest``) and at least ``min_dense`` (the
    retrieval check's floor, ``Thresholds.min_dense``): "Sanremo" finds nothing. A topic that names a section
    ("sport", "il mondo della cultura") gets the articles of that section (``rag.answer.sections``). A summary
    or list of the latest ("l'ultimo aggiornamento su X") puts first the newest article holding all its words.
    """
    filters = _within(filters, asked)
    store = retriever.store
    section = section_asked(asked.topic)
    if not asked.topic or section is not None:  # the days' articles, newest first; of a section ("lo sport")
        ids = [i.id for i in documents(store) if _passes(i.id, i.date, i.source, filters)]
        if section is not None:
            ids = of_section(retriever, section, ids, filters)
        docs = [d for d in (store.document(doc_id) for doc_id in ids[: max(limit, 1)]) if d is not None]
        return [(d, 1.0 if section is None else 0.5) for d in docs], len(ids)
    hits = retriever.search(asked.topic, k=max(4 * limit, 12), filters=filters)
    by_doc: dict[str, float] = {}
    for hit in hits:
        by_doc.setdefault(hit.doc_id, hit.score)
    found = [d for d in (store.document(doc_id) for doc_id in by_doc) if d is not None]
    if not found:
        return [], 0
    lexical = {d.id: held(asked.topic, f"{d.title}\n{d.place or ''}\n{d.source or ''}\n{d.text}") for d in found}
    titled = {d.id: held(asked.topic, f"{d.title}\n{d.place or ''}") for d in found}
    close = set() if any(v >= 0.5 for v in lexical.values()) else closest(_dense_by_doc(retriever, asked.topic, found))
    chosen = []
    for d in found:
        if lexical[d.id] >= 0.5:
            relevance = 0.5 + 0.25 * lexical[d.id] + 0.25 * titled[d.id]
        elif d.id in close and (min_dense is None or close[d.id] >= min_dense):
            relevance = 0.4
        else:
            continue
        chosen.append((d, relevance))
    chosen.sort(key=lambda pair: (-pair[1], -by_doc[pair[0].id]))
    if asked.latest and asked.kind is not Kind.DIGEST:  # "l'ultimo aggiornamento su X": one article, the newest
        whole = sorted((p for p in chosen if lexical[p[0].id] == 1.0), key=lambda p: p[0].date or "", reverse=True)
        chosen = whole + [p for p in chosen if lexical[p[0].id] < 1.0]
    return chosen[:limit], len(chosen)


def closest(cosines: dict[str, float]) -> dict[str, float]:
    """The articles as close to a topic as the closest one, by the embedding model: those above the largest
    drop between one article's cosine and the next (no margin to set: a story told twice sits together).

    >>> closest({"a": 0.857, "b": 0.833, "c": 0.775, "d": 0.753, "e": 0.751})
    {'a': 0.857, 'b': 0.833}
    >>> closest({"a": 0.90, "b": 0.84, "c": 0.835})
    {'a': 0.9}
    """
    ranked = sorted(cosines.items(), key=lambda pair: -pair[1])
    if len(ranked) <= 1:
        return dict(ranked)
    drops = [ranked[i][1] - ranked[i + 1][1] for i in range(len(ranked) - 1)]
    return dict(ranked[: drops.index(max(drops)) + 1])


def _dense_by_doc(retriever: Retriever, topic: str, docs: Sequence[Document]) -> dict[str, float]:
    """Per article, the cosine between the topic and its best chunk (empty if the store gives no vectors)."""
    rows = retriever.search(topic, k=max(8, 3 * len(docs)), mode="dense")
    if not rows:
        return {}
    try:
        vectors = retriever.store.vectors_of([h.chunk_id for h in rows])
    except RuntimeError:
        return {}
    if not len(vectors):
        return {}
    cosines = vectors @ retriever.embedder.embed_query(topic)
    out: dict[str, float] = {}
    for hit, cosine in zip(rows, cosines, strict=False):
        out[hit.doc_id] = max(out.get(hit.doc_id, -1.0), float(cosine))
    return out


def held(topic: str, text: str) -> float:
    """The share of the topic's words ``text`` holds, by their first five letters (``keys``); a name (a
    capitalised word) only as a word at most two letters longer: "Italian" is held by "italiano", "Matera"
    not by "materiale".

    >>> held("Murgia Matera", "Il materiale esplodente della banda"), held("Italian", "il governo italiano")
    (0.0, 1.0)
    """
    shortest: dict[str, int] = {}
    for word in re.findall(r"\w+", fold(text)):
        key = word if word.isdigit() else word[:5]
        shortest[key] = min(shortest.get(key, len(word)), len(word))
    stop = all_stopwords()
    words = {w: fold(w) for w in re.findall(r"\w+", topic) if fold(w) not in stop and (len(w) > 1 or w.isdigit())}
    if not words:
        return 0.0
    found = [
        w for w, f in words.items()
        if (f if f.isdigit() else f[:5]) in shortest and (not w[0].isupper() or shortest[f[:5]] <= len(f) + 2)
    ]  # fmt: skip
    return len(found) / len(words)


def _share(wanted: set[str], found: set[str]) -> float:
    return len(wanted & found) / len(wanted) if wanted else 0.0


def _within(filters: Filters | None, asked: Asked) -> Filters:
    """The user's filters narrowed to the days the question names."""
    filters = filters or Filters()
    start = max(d for d in (filters.date_from, asked.date_from, "") if d is not None) or None
    ends = [d for d in (filters.date_to, asked.date_to) if d]
    end = min(ends) if ends else None
    if start and end and start > end:
        start, end = end, end  # the two ranges do not meet: nothing can pass the question's own days
    return Filters(start, end, filters.doc_ids, filters.sources, filters.exclude_doc_ids)


def _passes(doc_id: str, day: str | None, source: str | None, filters: Filters) -> bool:
    if filters.doc_ids and doc_id not in filters.doc_ids or doc_id in filters.exclude_doc_ids:
        return False
    if filters.sources and source not in filters.sources:
        return False
    if filters.date_from or filters.date_to:
        if not day:
            return False
        if filters.date_from and day < filters.date_from or filters.date_to and day > filters.date_to:
            return False
    return True


# ---- the sentences of an article ------------------------------------------------------------------
def lead_span(doc: Document) -> tuple[int, int] | None:
    """The article's first real sentence (after its title and dateline), as offsets into its text.

    Where ingestion reads a dateline ("Ravenna, 19 marzo 2026 – "), the lead starts after it, so nothing of
    the headline, kicker or subtitle above it is taken (however long the headline, whatever full stops it
    holds). Otherwise the lead is the first sentence of six words or more that is not part of the title.
    """
    spans = _sentences(doc)
    dateline = read_head(doc.text).dateline
    body = dateline.end if dateline else 0
    title = " ".join(doc.title.split())
    for a, b in spans:
        if b <= body:
            continue
        start = max(a, body)
        text = doc.text[start:b]
        in_title = " ".join(text.split()) in title  # the headline, or a part of one ("… al menisco. Arriva Lanzi")
        if not text.rstrip().endswith(_SENTENCE_END) or in_title:
            continue
        opening = 0 if dateline else other_opening_end(text)  # "Kyiv, February 2, 2026 – ", "Roma – "
        if opening and len(text[opening:].split()) >= 6:
            return start + opening, b
        if len(text.split()) >= 6:
            return start, b
    return spans[0] if spans else None


def summary_spans(doc: Document, count: int = SUMMARY_SENTENCES) -> list[tuple[int, int]]:
    """The article's first ``count`` whole sentences from its lead on: a news article puts what matters
    first (on the dev set's tune half they held more of the facts asked about than its most central ones).
    """
    lead = lead_span(doc)
    if lead is None:
        return []
    rest = [
        (a, b)
        for a, b in _sentences(doc)
        if a >= lead[1] and doc.text[a:b].rstrip().endswith(_SENTENCE_END) and len(doc.text[a:b].split()) >= 6
    ]
    return [lead, *rest[: count - 1]]


@lru_cache(maxsize=256)
def _sentences_of(text: str) -> tuple[tuple[int, int], ...]:
    return tuple((s.start, s.end) for s in sentence_spans(text))


def _sentences(doc: Document) -> list[tuple[int, int]]:
    return list(_sentences_of(doc.text))


def shown(doc: Document, span: tuple[int, int]) -> str:
    """A sentence as shown: the article's words, spaces tidied, relative dates resolved against its date."""
    return resolve_relative_dates(" ".join(doc.text[span[0] : span[1]].split()), doc.date)


# ---- the replies ----------------------------------------------------------------------------------
class _Cites:
    """Numbers citations in order of first use, one per quoted sentence."""

    def __init__(self):
        self.citations: list[Citation] = []
        self._numbers: dict[tuple[str, int, int], int] = {}

    def marker(self, doc: Document, span: tuple[int, int], score: float = 1.0) -> str:
        key = (doc.id, *span)
        if key not in self._numbers:
            number = len(self.citations) + 1
            hit = document_hit(doc, score, number)
            passage = PromptPassage(number, hit, [span], doc.text)
            self.citations.append(cite(passage, span[0], span[1], number))
            self._numbers[key] = number
        return f"[{self._numbers[key]}]"


def summary(doc: Document, language: str) -> NewsReply:
    """The article in 3-5 of its own sentences, each cited."""
    cites = _Cites()
    spans = summary_spans(doc)
    words = _words(language)
    when = words["when"].format(date=format_date(doc.date, language)) if doc.date else ""
    lines = [f"{shown(doc, s)} {cites.marker(doc, s)}" for s in spans]
    text = words["summary"].format(title=doc.title, when=when) + "\n\n" + " ".join(lines)
    return NewsReply(text, cites.citations)


def digest(
    docs: Sequence[tuple[Document, float]],
    asked: Asked,
    language: str,
    today: date,
    question: str = "",
    total: int = 0,
) -> NewsReply:
    """One dated line per article, newest first: its title and lead, cited; for a topic, also the sentence
    that speaks of it when the lead does not. When ``total`` articles are about it and fewer are shown, a
    last line says how many were left out."""
    cites = _Cites()
    ordered = sorted(docs, key=lambda pair: pair[0].date or "", reverse=True)
    one = _one_asked(asked, question) and not asked.date_from  # "la notizia più recente": one, on purpose
    if one:
        ordered = ordered[:1]
    lines = []
    wanted = set() if section_asked(asked.topic) else keys(asked.topic)  # a section's name is in no lead
    for doc, relevance in ordered[: digest_limit(asked)]:
        day = f"**{format_date(doc.date, language)}**" if doc.date else "**—**"  # rag.render.bold_days reads it
        lead = lead_span(doc)
        line = f"{day} — «{doc.title}»"
        if lead:
            line += f": {shown(doc, lead)} {cites.marker(doc, lead, relevance)}"
        if wanted and lead and not wanted & keys(doc.text[lead[0] : lead[1]]):
            extra = _best_sentence(doc, wanted, exclude=lead)
            if extra:
                line += f" {shown(doc, extra)} {cites.marker(doc, extra, relevance)}"
        lines.append(line)
    left_out = 0 if one else total - len(lines)
    if left_out > 0:  # for a topic, a count of the articles its search reached: at least that many
        key = ("more_one" if left_out == 1 else "more") + ("_on_topic" if asked.topic else "")
        lines.append(_words(language)[key].format(n=left_out))
    return NewsReply("\n".join(lines), cites.citations, lines=lines)


_SEVERAL_RE = re.compile(r"\b(?:notizie|novità|novita|articoli|aggiornamenti|news|stories|articles|updates)\b", re.I)


def _one_asked(asked: Asked, question: str) -> bool:
    """ "La notizia più recente": one article; "le ultime notizie": the latest few.

    >>> from rag.answer.kinds import read_question
    >>> day = date(2026, 4, 15)
    >>> questions = ("Qual è la notizia più recente?", "Quali sono le ultime notizie?")
    >>> [_one_asked(read_question(q, day), q) for q in questions]
    [True, False]
    """
    return asked.latest and not asked.topic and not _SEVERAL_RE.search(question)


def digest_limit(asked: Asked) -> int:
    """How many articles a digest shows: all those of the days the question names, up to a page; else the
    latest few."""
    return PERIOD_ARTICLES if asked.date_from else DIGEST_ARTICLES


def _best_sentence(doc: Document, wanted: set[str], exclude: tuple[int, int]) -> tuple[int, int] | None:
    best, best_share = None, 0.0
    for a, b in _sentences(doc):
        if (a, b) == exclude or not doc.text[a:b].rstrip().endswith(_SENTENCE_END):
            continue
        share = _share(wanted, keys(doc.text[a:b]))
        if share > best_share:
            best, best_share = (a, b), share
    return best


def _nothing_found(asked: Asked, language: str, retriever: Retriever, filters: Filters | None) -> NewsReply:
    """No article answers a news question: when none at all falls in the days it names ("l'articolo del 3
    dicembre", "notizie di marzo"), it says so and names the newest; otherwise none is about its topic."""
    if asked.date_from and not articles_about(retriever, replace(asked, topic=""), "", filters, 1)[1]:
        return NewsReply(no_article(asked, language, newest_date(retriever)), [], REASONS["no_article_in_dates"])
    return NewsReply("", [], REASONS["no_article_on_topic"])


def no_article(asked: Asked, language: str, newest: date | None) -> str:
    """The honest reply when no article falls in the days asked."""
    words = _words(language)
    start = format_date(asked.date_from, language) if asked.date_from else ""
    end = format_date(asked.date_to, language) if asked.date_to else ""
    span = words["day"].format(start=start) if start == end else words["range"].format(start=start, end=end)
    text = words["digest_none"].format(range=span)
    if newest:
        text += words["newest"].format(date=format_date(newest.isoformat(), language))
    return text


# ---- lists ------------------------------------------------------------------------------------------
@lru_cache(maxsize=1)
def _countries() -> dict[str, str]:
    """Country names in Italian and English (from Babel's CLDR data) and a few common short forms."""
    from babel import Locale

    names: dict[str, str] = {}
    for lang in ("it", "en"):
        for code, name in Locale(lang).territories.items():
            if len(code) == 2 and code.isalpha() and code not in {"EU", "EZ", "UN", "QO", "ZZ", "XA", "XB"}:
                names[name] = code
    names.update({"Olanda": "NL", "USA": "US", "Usa": "US", "America": "US", "Gran Bretagna": "GB", "UK": "GB"})
    return names


def countries_in(doc: Document) -> list[tuple[str, tuple[int, int]]]:
    """The countries the article names, as it writes them, each with the first sentence naming it."""
    found: dict[str, tuple[int, str, tuple[int, int]]] = {}  # country code -> (position, as written, sentence)
    spans = _sentences(doc)
    for name, code in _countries().items():
        for match in re.finditer(rf"(?<![\w-]){re.escape(name)}(?![\w-])", doc.text):
            sentence = next(((a, b) for a, b in spans if a <= match.start() < b), None)
            if sentence and (code not in found or match.start() < found[code][0]):
                found[code] = (match.start(), match.group(), sentence)
            break
    return [(written, sentence) for _, written, sentence in sorted(found.values())]


def names_in(doc: Document, proposed: Sequence[str], people: bool) -> list[tuple[str, tuple[int, int]]]:
    """The items the model proposed that the article writes, as it writes them, with their sentence; for
    people, names of two to five capitalised words; an item inside a longer one kept once."""
    spans = _sentences(doc)
    found: dict[str, tuple[int, str, tuple[int, int]]] = {}
    for item in proposed:
        item = item.strip(' -•*0123456789.)\t"«»')
        if not item or len(item) > 80:
            continue
        at = snap(item, [doc.text])
        if at is None:
            continue
        written = doc.text[at[1] : at[2]]
        if people and not _looks_like_a_name(written):
            continue
        sentence = next(((a, b) for a, b in spans if a <= at[1] < b), None)
        if sentence:
            found.setdefault(written.casefold(), (at[1], written, sentence))
    items = sorted(found.values())
    kept = [i for i in items if not any(i[1] != j[1] and i[1].casefold() in j[1].casefold() for j in items)]
    return [(written, sentence) for _, written, sentence in kept]


_NAME_WORD_RE = re.compile(r"^(?:[A-ZÀ-Ý][\w'’.-]+|de|di|da|del|della|van|von|der|le|la|bin|al)$")


def _looks_like_a_name(text: str) -> bool:
    words = text.split()
    return (
        2 <= len(words) <= 5
        and all(_NAME_WORD_RE.match(w) for w in words)
        and words[0][0].isupper()
        and words[-1][0].isupper()
        and text not in _countries()
    )


def listing(doc: Document, things: str, items: Sequence[tuple[str, tuple[int, int]]], language: str) -> NewsReply:
    """The items, one a line, each cited to the sentence that names it."""
    if not items:
        return NewsReply("", [], REASONS["nothing_to_list"])
    cites = _Cites()
    what = THINGS.get(language, THINGS["en"]).get(things, things.capitalize())
    lines = [f"- {written} {cites.marker(doc, sentence)}" for written, sentence in items]
    named = _words(language)["list"].format(what=what, title=doc.title, ending="e" if _feminine(what) else "i")
    return NewsReply(named + "\n" + "\n".join(lines), cites.citations)


def _feminine(plural: str) -> bool:
    """Whether an Italian plural noun is feminine, for the agreement of "citati"/"citate" (most plurals in
    -e, -zioni, -sioni, and the invariable ones in -tà are).

    >>> _feminine("Persone"), _feminine("Sindacati"), _feminine("Organizzazioni"), _feminine("Località")
    (True, False, True, True)
    """
    word = fold(plural.split()[0])
    return word.endswith(("e", "zioni", "sioni", "gioni", "ta"))


# Of the prompts tried on the dev set's tune half, the one whose lists held the most key facts (4 of 8
# lists acceptable; the question itself as the prompt: 3; "Elenca … citati": 3).
LIST_PROMPT = {
    "it": "Scrivi tutti i nomi di {what} che compaiono nell'articolo qui sotto, uno per riga, copiati esattamente "
    "come sono scritti, senza numeri né commenti. Se non ce ne sono, scrivi: nessuno.",
    "en": "Write every name of {what} that appears in the article below, one per line, copied exactly as written, "
    "with no numbers or comments. If there are none, write: none.",
}
LIST_WHAT = {
    "it": {"people": "persone (nome e cognome)", "places": "luoghi (città, regioni, quartieri)", "organisations":
           "organizzazioni (enti, aziende, associazioni)"},
    "en": {"people": "people (first and last name)", "places": "places (cities, regions, districts)", "organisations":
           "organisations (bodies, companies, associations)"},
}  # fmt: skip


def list_messages(doc: Document, things: str, language: str) -> list[dict[str, str]]:
    """The chat messages that ask the model for the items of ``things`` in ``doc`` (the article first, so a
    second list over the same article reuses its prefill)."""
    words = "it" if language == "it" else "en"
    what = LIST_WHAT[words].get(things, things)
    article = f"«{doc.title}»\n{resolve_relative_dates(doc.text, doc.date)}"
    return [
        {"role": "system", "content": "You extract names from news articles, copying them exactly."},
        {"role": "user", "content": f"{article}\n\n{LIST_PROMPT[words].format(what=what)}"},
    ]


def proposed_items(reply: str) -> list[str]:
    r"""The items of the model's reply: one a line, and the pieces of a line that lists several ("Verona,
    Legnago e Cerea"); the article decides which are real (``names_in``).

    >>> proposed_items("- Verona, Legnago e Cerea\n2. San Bonifacio")
    ['Verona, Legnago e Cerea', 'Verona', 'Legnago', 'Cerea', 'San Bonifacio']
    """
    items = []
    for line in reply.splitlines():
        line = line.strip(' -•*0123456789.)\t"«»')
        if not line:
            continue
        items.append(line)
        pieces = [p.strip() for p in re.split(r",\s*|;\s*|\s+(?:e|ed|and)\s+", line) if p.strip()]
        if len(pieces) > 1:
            items.extend(pieces)
    return items


def answer_news(
    asked: Asked,
    question: str,
    language: str,
    retriever: Retriever,
    today: date,
    filters: Filters | None = None,
    propose: Callable[[list[dict[str, str]]], str] | None = None,
    min_dense: float | None = None,
) -> NewsReply:
    """The reply to a summary, digest or list question (``propose`` asks the model for a list's items;
    ``min_dense``: the cosine an article must reach to be about a topic whose words it does not write)."""
    limit = digest_limit(asked) if asked.kind is Kind.DIGEST else DIGEST_ARTICLES if asked.latest else 1
    docs, total = articles_about(retriever, asked, question, filters, limit, min_dense)
    if not docs:
        return _nothing_found(asked, language, retriever, filters)
    if asked.kind is Kind.DIGEST:
        return digest(docs, asked, language, today, question, total)
    doc = docs[0][0]
    if asked.kind is Kind.SUMMARY:
        return summary(doc, language)
    if asked.things == "countries":
        return listing(doc, asked.things, countries_in(doc), language)
    proposed = proposed_items(propose(list_messages(doc, asked.things, language)) if propose else "")
    if asked.things == "people":  # and every name the article writes after a known first name
        proposed += people_in(doc.text)
    elif asked.things in ("places", "comuni"):  # and every Italian comune it names
        proposed += comuni_in(doc.text)
    return listing(doc, asked.things, names_in(doc, proposed, asked.things == "people"), language)
