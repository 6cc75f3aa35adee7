"""A newspaper's sections ("sport", "cronaca", "cultura", "economia"…): the news of a field.

A reader asks for "le notizie di sport" or "novità dal mondo della cultura", and the articles rarely write
the field's name (a basketball match report never says "sport"). A question whose topic is a section's
name gets the articles of that section: each article goes to the section whose description the embedding
model puts closest to one of its passages. The descriptions are a newsroom's plain definitions; two were
amended on reading articles they missed ("trasporti" added for a bike lane and a metro line, books and
literary prizes named in culture's), as docs/question-kinds.md says.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from rag.index.retriever import Retriever
from rag.text import fold
from rag.types import Filters


@dataclass(frozen=True)
class Section:
    name: str
    words: tuple[str, ...]  # how a question names it, one word each, folded ("sanita", "sports")
    description: str  # what its articles are about (embedded as a query)
    part_of: str = ""  # the larger section whose news include this one's ("lavoro" is "economia" news too)


SECTIONS: tuple[Section, ...] = (
    Section("cronaca", ("cronaca", "nera", "giudiziaria", "crime", "crimes"),
            "Cronaca: reati, arresti, furti e rapine, indagini di carabinieri e polizia, processi, condanne, "
            "incidenti stradali"),
    Section("politica", ("politica", "politics", "political"),
            "Politica: governo, parlamento, consiglio regionale e comunale, leggi, elezioni, partiti, ministri"),
    Section("economia", ("economia", "economy", "economic", "business", "finanza", "finance", "imprese", "aziende",
                         "industria"),
            "Economia: aziende e industria, prezzi e inflazione, banche e tassi, acquisizioni, mercati, commercio"),
    Section("lavoro", ("lavoro", "labour", "labor", "jobs", "occupazione", "sindacati", "sindacale", "sindacali"),
            "Lavoro: lavoratori e sindacati, esuberi e licenziamenti, scioperi, contratti, cassa integrazione, "
            "vertenze", part_of="economia"),
    Section("esteri", ("esteri", "estero", "international", "internazionale", "internazionali", "foreign"),
            "Esteri: paesi stranieri, guerra, diplomazia, capi di Stato, relazioni internazionali"),
    Section("cultura", ("cultura", "culture", "arte", "art", "arts", "spettacoli", "spettacolo", "entertainment"),
            "Cultura e spettacoli: mostre e musei, opere d'arte, libri e scrittori, premi letterari, teatro, musica, "
            "cinema, festival"),
    Section("sport", ("sport", "sports", "sportive", "sportivo"),
            "Sport: partite, campionati, squadre, allenatori, atleti, gol e punti, calcio, basket, pallavolo, "
            "ciclismo"),
    Section("salute", ("salute", "sanita", "health", "healthcare", "medicina", "medicine"),
            "Salute e sanità: ospedali, medici, malattie, vaccini, pazienti, cure"),
    Section("ambiente", ("ambiente", "environment", "clima", "climate", "meteo", "weather", "maltempo"),
            "Ambiente e meteo: clima, siccità, piogge e alluvioni, frane, inquinamento, animali, natura"),
    Section("trasporti", ("trasporti", "transport", "mobilita", "mobility", "traffico", "traffic"),
            "Trasporti e mobilità: treni, metropolitane, autobus, strade e autostrade, piste ciclabili, aeroporti, "
            "scioperi dei trasporti"),
    Section("scienza", ("scienza", "science", "tecnologia", "technology", "tech", "ricerca", "research",
                        "innovazione"),
            "Scienza e tecnologia: ricerca, università, scienziati, spazio e satelliti, innovazione, startup, "
            "internet"),
)  # fmt: skip

_BY_WORD = {word: section for section in SECTIONS for word in section.words}
# words around a field's name in a question: "il mondo della cultura", "in tema di ambiente", "world news"
_AROUND = frozenset("mondo settore campo ambito fronte tema news world and e".split())


def section_asked(topic: str) -> Section | None:
    """The section a news question's topic names, if it names one and nothing else (``rag.answer.kinds``
    has taken the articles and question words out: "il mondo della cultura" -> "mondo cultura").

    >>> section_asked("sport").name, section_asked("mondo cultura").name, section_asked("Sanità").name
    ('sport', 'cultura', 'salute')
    >>> section_asked("science technology").name, section_asked("cronaca nera").name
    ('scienza', 'cronaca')
    >>> section_asked("Murgia Matera") is None, section_asked("sport Matera") is None, section_asked("mondo") is None
    (True, True, True)
    """
    words = [w for w in fold(topic).replace("'", " ").split() if w not in _AROUND]
    found = {_BY_WORD.get(w) for w in words}
    if len(found) != 1 or None in found:
        return None
    return found.pop()


# Articles looked at for one field question, newest first: a page of news, not the archive.
SECTION_CANDIDATES = 60


def of_section(retriever: Retriever, section: Section, doc_ids: Sequence[str], filters: Filters) -> list[str]:
    """Those of ``doc_ids`` (newest first) whose closest section is ``section`` or a part of it, in order.

    Each article's closeness to a section is the cosine of its passage closest to the section's
    description (one dense search per section, restricted to these articles)."""
    doc_ids = list(doc_ids)[:SECTION_CANDIDATES]
    if not doc_ids:
        return []
    within = replace(filters, doc_ids=frozenset(doc_ids))
    best: dict[str, tuple[float, str]] = {}
    for candidate in SECTIONS:
        for hit in retriever.search(candidate.description, k=8 * len(doc_ids), filters=within, mode="dense"):
            if hit.score > best.get(hit.doc_id, (-2.0, ""))[0]:
                best[hit.doc_id] = (hit.score, candidate.name)
    parent = {s.name: s.part_of for s in SECTIONS}
    closest = {d: best[d][1] for d in best}
    return [d for d in doc_ids if section.name in (closest.get(d), parent.get(closest.get(d, "")))]
