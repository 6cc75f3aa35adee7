"""What kind of question a news reader asks, read from its words: a single fact, a summary of one
article, the news of a time or a topic (a digest), or a list of things an article names.

Each kind gets its own retrieval and reply (``rag.answer.news`` for the three that are not a fact). The
time a question names is read against ``today`` ("questa settimana", "a marzo", "ieri", "la notizia più
recente"); the topic is what is left once the words of the kind and the time are taken out.

>>> from datetime import date
>>> read_question("Riassumi l'articolo su Umerov", date(2026, 3, 1)).kind
<Kind.SUMMARY: 'summary'>
>>> asked = read_question("Quali notizie sono state pubblicate a marzo 2026?", date(2026, 4, 10))
>>> asked.kind, asked.date_from, asked.date_to, asked.topic
(<Kind.DIGEST: 'digest'>, '2026-03-01', '2026-03-31', '')
>>> read_question("Quali sono le ultime notizie su Valtronic?", date(2026, 4, 10)).topic
'Valtronic'
>>> read_question("Quali paesi sono citati nell'articolo su Umerov?", date(2026, 4, 10)).things
'countries'
>>> read_question("Chi accompagnava Umerov a Bruxelles?", date(2026, 4, 10)).kind
<Kind.FACT: 'fact'>
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from rag.text import MONTHS, all_stopwords, fold


class Kind(StrEnum):
    FACT = "fact"
    SUMMARY = "summary"
    DIGEST = "digest"
    LIST = "list"


@dataclass(frozen=True)
class Asked:
    """What a question asks for: its kind, its topic, the days it names, and for a list what to list."""

    kind: Kind
    topic: str = ""  # the question's words once the kind's and the time's are taken out ("Valtronic")
    date_from: str | None = None  # ISO days, inclusive
    date_to: str | None = None
    latest: bool = False  # "la notizia più recente", "le ultime notizie": newest first, fewest needed
    things: str = ""  # for a list: "countries", "people", "places", "organisations", or the noun asked


_I = re.IGNORECASE
# A summary of one article.
_ARTICLE = (
    r"(?:l'\s*(?:ultimo\s+)?articolo|l'ultima notizia|la notizia|il pezzo|quest'\s*articolo|questo articolo|"
    r"questa notizia|the (?:latest )?(?:article|story|news))"
)
# "Riassumi", "Puoi riassumere…", "Summarize…": asked anywhere, unless the question asks a fact of it.
_SUMMARY_WORD_RE = re.compile(
    r"\b(?:riassum(?:i|ere|imi|ermi|ete|eresti)|riassunto|riepiloga(?:mi)?|riepilogo|sintetizza(?:re|mi)|"
    r"summari[sz]e|summary)\b|^\W*(?:sintetizza|sintesi)\b",
    _I,
)
_SUMMARY_RE = re.compile(
    rf"\b(?:una|in|la) sintesi\b.*\b(?:articol|notizi|pezzo)|^\W*in breve\b.*\b{_ARTICLE}|"
    r"^\W*(?:qual\s*(?:è|e')|what(?:'s| is))\s+(?:il|the)\s+(?:riassunto|succo|summary|gist)\b|"
    r"^\W*(?:raccontami|raccontaci|spiegami)\b|"
    r"^\W*(?:(?:puoi|potresti|mi|fammi|dimmi|vorrei sapere)\s+)?(?:"
    r"di (?:che |cosa |che cosa )(?:si )?(?:parla|tratta)|(?:che )?cosa (?:sappiamo|si sa)\b|"
    rf"(?:che )?cosa (?:dice|racconta|riporta) {_ARTICLE}|(?:che )?cosa si dice (?:di|del|della|dell|sul|sulla)\w*\b|"
    rf"(?:che )?cos[a'’]\s*(?:è|e') {_ARTICLE}|"
    r"give (?:me )?a summary|(?:a )?summary of|what (?:do we know|is known) about|tell me about|"
    r"what (?:is|'s) the (?:article|story|news) (?:about|on)|what does the (?:article|story) say)",
    _I,
)
# News by time or topic: a digest across articles.
_DIGEST_RE = re.compile(
    r"\b(?:ultim[ae] notizi\w*|ultim[ei] novit\w*|novit[àa]\b|notizi[ae] (?:di|del|della|dei|delle|su|sul|sull\w*|"
    r"da|dal|dall\w*|in|nel|nell\w*|più recent\w*|pubblicat\w*|uscit\w*)|notizia più recente|"
    r"(?:che )?cos[a'’]\s*(?:è|e') success\w*|cosa (?:è |e' )?success\w*|che (?:cosa )?(?:è |e' )?success\w*|"
    r"cosa (?:è|e') accadut\w*|cosa succede|aggiornamenti|ultimo aggiornamento|aggiornami|mi aggiorni|"
    r"(?:quali|che) notizie|qualcosa di nuovo|cosa dicono (?:gli articoli|le notizie)|^\W*(?:notizie|news|novità)\W*$|"
    r"notizie (?:principali|più importanti)|(?:principali|più importanti) notizie|(?:fammi|fai|facciamo) il punto|"
    r"c['’]\s*è di nuovo|ultime (?:da|dal|dalla|dall\w*|su|sul|sulla|sull\w*|dai|dagli|dalle)\b|"
    r"what'?s new|latest news|(?:the )?latest (?:on|about|from)|latest developments|any (?:\w+\s+){0,2}news|"
    r"what happened|\w+ news\W*$|"
    r"news (?:of|from|about|on|in)|most recent (?:news|story))",
    _I,
)
# "Cosa è successo prima: …?", "Cosa succede quando …?": a fact about events, not the news of a time.
_EVENT_FACT_RE = re.compile(
    r"\b(?:success\w*|succede|accad\w*|happen\w*)\s+(?:prima|dopo|quando|mentre|se|before|after|when|if)\b", _I
)
# The words that ask a fact ("qual…" is added by each use: as the opening, "quale"; anywhere, any form).
_FACT_WORDS = r"chi|quando|dove|quant\w*|perch\w*|come|who|when|where|how|why|which|what"
# A question that opens with a fact's question word asks a fact, unless what it asks for is the news itself.
_FACT_OPENING_RE = re.compile(
    r"^\W*(?:(?:da|in|a|di|per|con|su|entro|fino a|from|in|on|by)\s+)?"
    rf"(?:{_FACT_WORDS}|qual[ei]?)\b"
    r"|^\W*(?:in|a|da|di|per)\s+che\s+(?!cosa\b)\w+|^\W*(?:quand|dov)'",  # "In che data…?", "Dov'è…?"
    _I,
)
# A fact's question word anywhere in a question ("Notizie di marzo: chi ha vinto?").
_ASKS_A_FACT_RE = re.compile(rf"\b(?:{_FACT_WORDS}|qual\w*|cosa|che (?:ora|data|giorno|anno))\b|\b(?:quand|dov)'", _I)
_WHAT_IS_RE = re.compile(r"^\W*(?:che\s+)?cos[a']\s*(?:è|e'|sono)|^\W*su\s+(?:che\s+)?cosa\b", _I)
_ASKS_THE_NEWS_RE = re.compile(
    r"^\W*(?:qual\w*|what|which)(?:\s+|'\s*)"
    r"(?:(?:è|e'|è stata|è stato|era|sono|sono stati|sono state|erano|is|are|was|were|s|have been)\s+)?"
    r"(?:(?:l[aeo]|gli|i|the)\s+|l'\s*)?(?:"
    r"(?:(?:ultim\w+|principal\w+|più recent\w+|recent\w*|latest|main|top|most recent|newest)\s+)?"
    r"(?:notizie|novità|novita|news|aggiornamenti|articoli|articles|stories|updates|developments|latest)|"
    r"(?:ultim\w+|principal\w+|più recent\w+|latest|main|top|most recent|newest)\s+(?:notizia|articolo|story|update)|"
    r"(?:notizia|articolo|story)\s+(?:più recente|del giorno|most recent))\b"
    r"|^\W*what\s+(?:has\s+|have\s+)?happened|^\W*what(?:'s| is) new",
    _I,
)
_LATEST_RE = re.compile(
    r"\b(?:ultim[aeio]|più recent[ei]|recentissim\w*|latest|most recent|newest|what'?s new|novit)", _I
)
# A list of things an article names (plural question word + plural noun, or "elenca").
_LIST_RE = re.compile(
    r"^\W*(?:(?:quali|which|what)\s+(?:sono\s+(?:stat[ie]\s+)?(?:i|gli|le)\s+)?(\w+)|"
    r"(?:elenca\w*\s+(?:quali\s+)?(?:i|gli|le|tutt[ie]\s+\w+)?|"
    r"(?:(?:fammi|dammi|mi\s+fai|fai|mi\s+dai)\s+)?(?:un|una|l'|la)\s*(?:elenco|lista)\s+d\w+)\s*(\w+)|"
    r"(?:list|name)\s+(?:the\s+|all\s+(?:the\s+)?)?(\w+)|chi\s+sono\s+(?:i|gli|le)\s+(\w+))",
    _I,
)
# "Chi viene citato nell'articolo…?", "Who is mentioned…?": the people an article names.
_WHO_NAMED_RE = re.compile(
    r"^\W*(?:chi\s+(?:viene|vengono|è|e'|sono|è\s+stato|sono\s+stati)\s+(?:citat|nominat|menzionat|intervistat)\w*|"
    r"who\s+(?:is|are|was|were)\s+(?:mentioned|named|cited|quoted|interviewed))"
    r"\s*(?:[?.]|$|nell|nella|nel\b|negli|in the\b|in this\b)",  # not "nominato presidente", "citato in giudizio"
    _I,
)
# What makes "Quali musei … ?" a list of what an article names, not a fact ("Quali organismi hanno cloroplasti?").
_NAMED_RE = re.compile(
    r"\b(?:citat|nominat|menzionat|elencat|coinvolt|compai|intervistat|mentioned|named|cited|listed|quoted|"
    r"involved|appear)\w*|\bnell['’]\s*(?:articolo|aggiornamento)|\bnella notizia|\bnel pezzo|"
    r"\bin the (?:article|story)",
    _I,
)
_THINGS = {
    "countries": r"paesi|nazioni|stati|countries|nations|states",
    "people": r"persone|personaggi|protagonisti|politici|people|persons",
    "places": r"città|luoghi|localit\w+|cities|places|towns",
    "organisations": r"organizzazioni|enti|istituzioni|organi[sz]ations|institutions",
}
_THINGS_RE = {name: re.compile(rf"^(?:{words})$", _I) for name, words in _THINGS.items()}
# A list's noun must be plural to mean "several": Italian plural endings, or English -s.
_PLURAL_RE = re.compile(r"^\w+[ie]$|^città$|^società$|^novità$", _I)  # after "quali"
_PLURAL_EN_RE = re.compile(r"^\w+s$|^people$", _I)  # after "which", "what"
# Plural words after "quali" that ask for news or a fact, not a list of things an article names.
_NOT_THINGS = set(
    "notizie novita aggiornamenti articoli ultime ultimi recenti news articles stories updates latest are were "
    "have did do does happened".split()
)

_MONTH_NAMES = {
    fold(name): number
    for names in (MONTHS["it"], MONTHS["en"].lower())
    for number, name in enumerate(names.split(), start=1)
}
_MONTH_RE = re.compile(
    r"\b(?:(?:a|ad|di|del mese di|nel mese di|nel|in|durante|for|of|during)\s+)?(" + "|".join(_MONTH_NAMES) + r")"
    r"(?:\s+(?:del\s+|of\s+)?(\d{4}))?\b",
    _I,
)
_MONTH_ALT = "|".join(_MONTH_NAMES)
# "tra il 16 e il 20 marzo", "dal 28 febbraio al 3 marzo 2026", "between 16 and 20 March"
_RANGE_RE = re.compile(
    rf"\b(?:tra il|fra il|tra l['’]|fra l['’]|dal|dall['’]|from|between)\s*(\d{{1,2}})[°º]?(?:\s+({_MONTH_ALT}))?\s+"
    rf"(?:e il|e l['’]|al|all['’]|to|and)\s*(\d{{1,2}})[°º]?\s+({_MONTH_ALT})(?:\s+(\d{{4}}))?\b",
    _I,
)
_DAY_RE = re.compile(r"\b(\d{1,2})[°º]?\s+(" + "|".join(_MONTH_NAMES) + r")(?:\s+(\d{4}))?\b", _I)  # "1° ottobre"
_RELATIVE_RANGES = [  # pattern -> (days back from today to the range's start, days back to its end) or a name
    (re.compile(r"\b(?:oggi|today)\b", _I), (0, 0)),
    (re.compile(r"\b(?:ieri|yesterday)\b", _I), (1, 1)),
    (re.compile(r"\b(?:questa settimana|this week|in settimana)\b", _I), "this week"),
    (re.compile(r"\b(?:la )?settimana scorsa|(?:la )?scorsa settimana|last week\b", _I), "last week"),
    (re.compile(r"\b(?:questo mese|this month)\b", _I), "this month"),
    (re.compile(r"\b(?:(?:il )?mese scorso|(?:lo )?scorso mese|last month)\b", _I), "last month"),
    (re.compile(r"\b(?:negli )?ultimi (\d+|due|tre|sette|dieci|quindici|trenta) giorni|last (\d+) days\b", _I), "days"),
]
_SMALL = {"due": 2, "tre": 3, "sette": 7, "dieci": 10, "quindici": 15, "trenta": 30}
# Words that say what kind of question it is, or that it is about "the news", not what it is about.
_FRAME_WORDS = set(
    "riassumi riassunto riassumere sintetizza sintesi fammi parla parlano sappiamo sa dice racconta notizia notizie "
    "articolo articoli pezzo novità novita ultime ultimi ultima ultimo recente recenti recentissime più piu successo "
    "successa accaduto accade succede aggiornamenti aggiornamento pubblicate pubblicati pubblicato uscite cosa "
    "che quali quale qual chi sono stati state stata è e stato citati citate nominati nominate menzionati "
    "menzionate coinvolti "
    "elenca elencami tutti tutte summarize summarise summary give article story news latest new what whats "
    "happened known know about mentioned named cited list all the most recent newest which is are were "
    "questa settimana scorsa mese scorso oggi ieri today yesterday week month last this days giorni "
    "puoi potresti farmi fammi fai dimmi vorrei breve aggiornami nuovo nuove nuovi principali importanti tratta "
    "trattano riepiloga riepilogo elenco viene vengono citato citata nominato nominata menzionato menzionata "
    "intervistati intervistate tell me give please name quoted developments any riassumimi riepilogami "
    "sintetizzami compaiono compare coinvolte elencati elencate dammi mostrami dirmi spiegami raccontami "
    "raccontaci vedere dicono qualche qualcosa show stories story top main punto lista".split()
)


def read_question(question: str, today: date, newest: date | None = None) -> Asked:
    """The kind, topic and days of ``question`` asked on ``today`` (``newest``: the index's newest article,
    the anchor of "la notizia più recente" when it is older than today)."""
    question = question.replace("’", "'")  # one apostrophe for every pattern
    date_from, date_to = _days(question, today)
    latest = bool(_LATEST_RE.search(question))
    if _SUMMARY_RE.search(question) or (
        _SUMMARY_WORD_RE.search(question) and not _FACT_OPENING_RE.search(question) and not _WHAT_IS_RE.search(question)
    ):
        kind = Kind.SUMMARY
    elif (listed := _list_kind(question))[0] is Kind.LIST:  # "Quali comuni … nell'aggiornamento del 4 febbraio"
        return Asked(Kind.LIST, _topic(question, listed[1]), date_from, date_to, latest, listed[1])
    elif _asks_news(question) or (date_from and _names_no_fact(question)):
        kind = Kind.DIGEST
    else:
        kind = Kind.FACT
    several = r"\bnotizie\b|\bnews\b|success|accadut|happened"
    if kind is Kind.SUMMARY and (date_from or latest) and re.search(several, question, _I):
        kind = Kind.DIGEST  # "riassumi le notizie di marzo": several articles
    return Asked(kind, _topic(question) if kind is not Kind.FACT else "", date_from, date_to, latest)


def _asks_news(question: str) -> bool:
    """The news of a time or a topic, not a fact that mentions the news.

    >>> [_asks_news(q) for q in ("Quali sono le ultime notizie su Valtronic?", "Aggiornami sulla frana",
    ...     "Da quale città è datata la notizia sulla BCE?", "Cosa è successo prima: A o B?",
    ...     "Come sta andando il Matera? Dammi le ultime notizie.")]
    [True, True, False, False, True]
    """
    return any(_asks_news_in(part) for part in re.split(r"(?<=[?.!])\s+", question.strip()))


def _asks_news_in(sentence: str) -> bool:
    """``_asks_news`` of one sentence ("Come sta andando X? Dammi le ultime notizie." asks it in its second)."""
    if _EVENT_FACT_RE.search(sentence):
        return False
    if _ASKS_THE_NEWS_RE.search(sentence):  # "Quali articoli sono usciti ieri?", "Qual è stata l'ultima notizia…?"
        return True
    return bool(_DIGEST_RE.search(sentence)) and not _FACT_OPENING_RE.search(sentence)


def _names_no_fact(question: str) -> bool:
    """A question that names a time but asks no fact of it ("Marzo 2026?", "Notizie di ieri")."""
    return not _ASKS_A_FACT_RE.search(question)


def _list_kind(question: str) -> tuple[Kind, str]:
    """A list and what to list: a country, person, place or organisation asked in the plural; anything else
    asked in the plural as what the article names ("Quali sindacati sono citati…?"), or after "elenca".

    >>> [_list_kind(q)[1] for q in ("Quali paesi hanno firmato?", "Chi viene citato nell'articolo sulla BCE?",
    ...     "Quali sindacati sono citati nell'articolo?", "Quali organismi hanno cloroplasti?", "Elenca i comuni")]
    ['countries', 'people', 'sindacati', '', 'comuni']
    """
    if _WHO_NAMED_RE.search(question):
        return Kind.LIST, "people"
    match = _LIST_RE.search(question)
    if not match:
        return Kind.FACT, ""
    noun = next(g for g in match.groups() if g)
    if match.group(4) and not _NAMED_RE.search(question):  # "Chi sono gli Houthi?"
        return Kind.FACT, ""
    for name, pattern in _THINGS_RE.items():
        if pattern.match(noun):
            return Kind.LIST, name
    if fold(noun) in _NOT_THINGS or fold(noun) in all_stopwords():  # "Quali notizie…", "What are…"
        return Kind.FACT, ""
    if match.group(2) or match.group(3):  # "elenca …", "un elenco dei …", "list …": whatever follows
        return Kind.LIST, noun.lower()
    plural = _PLURAL_EN_RE if re.match(r"^\W*(?:which|what)\b", question, _I) else _PLURAL_RE
    if plural.match(noun) and _NAMED_RE.search(question):  # "Quali opere sono citate…?"
        return Kind.LIST, noun.lower()
    return Kind.FACT, ""


def _topic(question: str, things: str = "") -> str:
    """The question's own words, less those of its kind and time: what the news is about.

    >>> _topic("Che cosa è successo nello sport?")
    'sport'
    >>> _topic("Di cosa parla la notizia da Padova?")
    'Padova'
    >>> _topic("Quali notizie sono uscite negli ultimi dieci giorni su Valtronic?")
    'Valtronic'
    """
    text = question
    for pattern in (_RANGE_RE, _DAY_RE, *(p for p, _ in _RELATIVE_RANGES)):  # the days it names are no topic
        text = pattern.sub(" ", text)
    text = _MONTH_RE.sub(" ", text)
    text = re.sub(r"\b\d{4}\b|\b\d{1,2}\b", " ", text)
    stop = all_stopwords() | _FRAME_WORDS | {fold(w) for w in _THINGS.get(things, things).split("|")}
    words = [w for w in re.findall(r"[\w’'-]+", text) if fold(w).strip("'’") not in stop and len(w) > 1]
    words = [re.sub(r"^(?:\w{1,4}['’])", "", w) for w in words]  # "sull'Ucraina" -> "Ucraina"
    return " ".join(w for w in words if w and fold(w) not in stop)


def _days(question: str, today: date) -> tuple[str | None, str | None]:
    """The days ``question`` names, as inclusive ISO dates (None, None when it names none).

    >>> _days("Che cosa è successo tra il 16 e il 20 marzo 2026?", date(2026, 4, 15))
    ('2026-03-16', '2026-03-20')
    >>> _days("Notizie dal 28 febbraio al 3 marzo?", date(2026, 4, 15))
    ('2026-02-28', '2026-03-03')
    """
    span = _RANGE_RE.search(question)
    if span:
        end_month = _MONTH_NAMES[fold(span.group(4))]
        start_month = _MONTH_NAMES[fold(span.group(2))] if span.group(2) else end_month
        year = int(span.group(5)) if span.group(5) else _year_for(end_month, today)
        try:
            start = date(year - (start_month > end_month), start_month, int(span.group(1)))
            end = date(year, end_month, int(span.group(3)))
        except ValueError:
            return None, None
        if start <= end:
            return start.isoformat(), end.isoformat()
    day = _DAY_RE.search(question)
    if day:
        year = int(day.group(3)) if day.group(3) else _year_for(_MONTH_NAMES[fold(day.group(2))], today)
        try:
            one = date(year, _MONTH_NAMES[fold(day.group(2))], int(day.group(1)))
        except ValueError:
            return None, None
        return one.isoformat(), one.isoformat()
    for pattern, span in _RELATIVE_RANGES:
        match = pattern.search(question)
        if not match:
            continue
        if isinstance(span, tuple):
            return (today - timedelta(days=span[0])).isoformat(), (today - timedelta(days=span[1])).isoformat()
        if span == "this week":
            return (today - timedelta(days=today.weekday())).isoformat(), today.isoformat()
        if span == "last week":
            monday = today - timedelta(days=today.weekday() + 7)
            return monday.isoformat(), (monday + timedelta(days=6)).isoformat()
        if span == "this month":
            return today.replace(day=1).isoformat(), today.isoformat()
        if span == "last month":
            end = today.replace(day=1) - timedelta(days=1)
            return end.replace(day=1).isoformat(), end.isoformat()
        count = next(g for g in match.groups() if g)
        days = int(count) if count.isdigit() else _SMALL[fold(count)]
        return (today - timedelta(days=days)).isoformat(), today.isoformat()
    month = _MONTH_RE.search(question)
    if month and (month.group(2) or re.search(r"\b(?:notizi|news|success|happen|accad|pubblicat|mese)", question, _I)):
        number = _MONTH_NAMES[fold(month.group(1))]
        year = int(month.group(2)) if month.group(2) else _year_for(number, today)
        last = calendar.monthrange(year, number)[1]
        return date(year, number, 1).isoformat(), date(year, number, last).isoformat()
    return None, None


def _year_for(month: int, today: date) -> int:
    """The year of the latest ``month`` not after ``today`` ("a marzo" asked in April 2026: March 2026)."""
    return today.year if month <= today.month else today.year - 1
