"""Typed records passed between the stages: ingest -> chunk -> embed/store -> retrieve -> answer."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from datetime import date
from typing import Literal

from rag.errors import InputError

Mode = Literal["hybrid", "dense", "lexical"]
MODES: tuple[str, ...] = ("hybrid", "dense", "lexical")  # search modes; the first is the default
Ranked = list[tuple[int, float]]  # (chunk row, score), best first: what a store's search returns


@dataclass(frozen=True)
class ChunkSettings:
    """How articles are cut into chunks: at most ``max_tokens`` of the embedder's tokens, overlapping."""

    max_tokens: int = 200
    overlap_tokens: int = 40
    language: str = "it"

    def __post_init__(self):
        if self.max_tokens < 16:
            raise ValueError(f"max_tokens must be at least 16, got {self.max_tokens}")
        if not 0 <= self.overlap_tokens < self.max_tokens // 2:
            raise ValueError(f"overlap_tokens must be in [0, max_tokens/2), got {self.overlap_tokens}")


@dataclass(frozen=True)
class Document:
    """One article (or one SQuAD paragraph) as read from disk.

    ``id`` is stable: the file name for files, the given id for JSONL,
    ``<title>#<paragraph index>`` for SQuAD.
    """

    id: str
    text: str
    title: str
    date: str | None = None  # ISO date, YYYY-MM-DD
    place: str | None = None
    source: str | None = None
    url: str | None = None

    def metadata(self) -> dict:
        return {k: v for k, v in asdict(self).items() if k != "text"}


@dataclass(frozen=True)
class Chunk:
    """A passage of a document; ``start``/``end`` are character offsets into ``Document.text``."""

    id: str  # "<doc id>::<ordinal>"
    doc_id: str
    ordinal: int
    text: str
    start: int
    end: int
    title: str
    date: str | None = None
    place: str | None = None
    source: str | None = None
    url: str | None = None


@dataclass(frozen=True)
class Hit:
    """One search result: the chunk, its score and its 1-based rank."""

    chunk_id: str
    doc_id: str
    title: str
    text: str
    score: float
    rank: int
    start: int
    end: int
    date: str | None = None
    place: str | None = None
    source: str | None = None
    url: str | None = None

    @classmethod
    def from_chunk(cls, chunk: Chunk, score: float, rank: int) -> Hit:
        return cls(
            chunk_id=chunk.id,
            doc_id=chunk.doc_id,
            title=chunk.title,
            text=chunk.text,
            score=float(score),
            rank=rank,
            start=chunk.start,
            end=chunk.end,
            date=chunk.date,
            place=chunk.place,
            source=chunk.source,
            url=chunk.url,
        )

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Filters:
    """Restrict a search: ISO dates are inclusive; ``doc_ids``/``sources`` keep only those;
    ``exclude_doc_ids`` hides those documents."""

    date_from: str | None = None
    date_to: str | None = None
    doc_ids: frozenset[str] = field(default_factory=frozenset)
    sources: frozenset[str] = field(default_factory=frozenset)
    exclude_doc_ids: frozenset[str] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        for name in ("date_from", "date_to"):
            value = getattr(self, name)
            if isinstance(value, date):  # a datetime.date given in a notebook
                value = value.isoformat()[:10]
                object.__setattr__(self, name, value)
            if value is not None:
                try:
                    date.fromisoformat(value)
                except (TypeError, ValueError) as e:
                    raise InputError(f"{name} {value!r} is not a date; write it as YYYY-MM-DD") from e
        if self.date_from and self.date_to and self.date_from > self.date_to:
            raise InputError(f"date_from {self.date_from} is after date_to {self.date_to}; swap them")
        for name in ("doc_ids", "sources", "exclude_doc_ids"):  # a list or a set given by hand is fine too
            value = getattr(self, name)
            if isinstance(value, str):  # one id or source, not its characters
                value = (value,)
            try:
                object.__setattr__(self, name, frozenset(value or ()))
            except TypeError as e:
                raise InputError(f"{name} must be a list of strings, got {value!r}") from e

    @classmethod
    def of(cls, value: Filters | dict | None) -> Filters:
        """``value`` as ``Filters``: itself, one made from a dict of its fields, or none (no filter)."""
        if value is None or isinstance(value, Filters):
            return value or cls()
        if isinstance(value, dict):
            unknown = set(value) - {f.name for f in fields(cls)}
            if unknown:
                known = ", ".join(f.name for f in fields(cls))
                raise InputError(f"unknown filter(s) {', '.join(sorted(unknown))}; use {known}")
            return cls(**value)
        raise InputError(f"filters must be a Filters or a dict of its fields, got {type(value).__name__}")

    def accepts(self, chunk: Chunk) -> bool:
        if self.doc_ids and chunk.doc_id not in self.doc_ids:
            return False
        if chunk.doc_id in self.exclude_doc_ids:
            return False
        if self.sources and chunk.source not in self.sources:
            return False
        if self.date_from or self.date_to:
            if chunk.date is None:
                return False
            if self.date_from and chunk.date < self.date_from:
                return False
            if self.date_to and chunk.date > self.date_to:
                return False
        return True

    def __bool__(self) -> bool:
        return bool(self.date_from or self.date_to or self.doc_ids or self.sources or self.exclude_doc_ids)


@dataclass(frozen=True)
class Citation:
    """A numbered source of an answer: ``[number]`` in ``Answer.text`` points here.

    ``quote`` is the sentence(s) of the passage that support the answer; ``quote_start``/``quote_end``
    are its character offsets in the document text (for highlighting).
    """

    number: int
    chunk_id: str
    doc_id: str
    title: str
    date: str | None
    place: str | None
    quote: str
    quote_start: int
    quote_end: int
    passage: str
    score: float


@dataclass
class Evidence:
    """Measurements behind an answer's refusal decision (``None``: not measurable for this answer);
    the checks of ``rag.answer.verify`` turn them into a yes/no."""

    coverage: float = 0.0  # weighted share of the question's content words in the best passage
    dense: float | None = None  # cosine question / best passage
    support: float | None = None  # share of the answer's new content words found in the prompt passages
    model_refused: bool = False
    wrong_type: bool = False  # "how many"/"when" answered without any number or time expression
    cited: bool | None = None  # whether any answer sentence matched a passage sentence (None: no answer)
    doubt: float | None = None  # the model's probability of starting its reply with "don't know" (None: unknown)
    cross_language: bool = False  # question and articles in different languages
    unnamed: list[str] = field(default_factory=list)  # names in the question the articles found never mention
    context: str = ""  # what the model read: "sentences" (the best ones of the passages) or "articles" (whole)
    escalated: bool = False  # the sentences gave no backed answer, so the whole articles were read
    reply: str = ""  # what the model wrote (before any refusal replaced it)
    adds_nothing: bool = False  # the short answer's words are all the question's own
    verbatim: bool | None = None  # the short answer is a span of a sentence read (None: not asked)
    reasons: list[str] = field(default_factory=list)  # the checks that refused it
    fired: list[str] = field(default_factory=list)  # every check that fired, also those switched off


@dataclass
class Answer:
    """The result of asking a question. While streaming, ``done`` is False and only ``text`` grows.

    Every ``Answer`` an assistant yields holds only text that has passed its checks: a stream may show
    ``text`` as it grows and ``status`` (what is being done, "Leggo 3 articoli…") while it waits, and never
    needs to take anything back.
    """

    question: str
    text: str
    citations: list[Citation] = field(default_factory=list)
    refused: bool = False
    refusal_reasons: list[str] = field(default_factory=list)  # why it was refused, e.g. "weak retrieval"
    query: str = ""  # what was searched (the question, or its rewrite with the conversation)
    language: str = "it"
    passages: list[Hit] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)  # seconds: retrieve, first_token, generate, total
    evidence: Evidence | None = None  # what the refusal decision was based on
    short: str = ""  # the words that answer, as the sources write them when they do ("Andrii Hnatov")
    done: bool = True
    status: str = ""  # while streaming: what is being done, in the question's language (never an answer)

    def to_dict(self) -> dict:
        return asdict(self)

    def __repr__(self) -> str:  # the question, the answer, its citations; ``to_dict()`` has everything
        from rag.render import answer_text

        return answer_text(self)

    def _repr_html_(self) -> str:
        from rag.render import answer_html

        return answer_html(self)
