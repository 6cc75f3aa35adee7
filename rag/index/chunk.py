"""Sentence-aware chunking sized in tokens of the embedder's tokenizer, with overlap.

Lines are split into sentences (sentencex, Italian abbreviations); sentences are packed greedily into chunks of at
most ``max_tokens``; each new chunk starts with the last sentences of the previous one, up to
``overlap_tokens``. A sentence longer than a chunk is cut at word boundaries. Every chunk keeps
character offsets into ``Document.text`` so a caller can highlight the quoted span.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from rag.text import Span, sentence_spans
from rag.types import Chunk, ChunkSettings, Document

TokenCounter = Callable[[str], int]


DEFAULT_CHUNKING = ChunkSettings()


def _split_long(text: str, span: Span, count: TokenCounter, max_tokens: int) -> list[Span]:
    """Cut one over-long sentence at word boundaries into pieces of at most ``max_tokens``; a "word" longer
    than ``max_tokens`` characters (a pasted blob with no spaces) is cut every ``max_tokens`` characters."""
    words = [
        Span(span.start + m.start(), span.start + m.end())
        for m in re.finditer(rf"\S{{1,{max_tokens}}}", text[span.start : span.end])
    ]
    pieces: list[Span] = []
    first = 0
    while first < len(words):
        last = first
        while last + 1 < len(words) and count(text[words[first].start : words[last + 1].end]) <= max_tokens:
            last += 1
        pieces.append(Span(words[first].start, words[last].end))
        first = last + 1
    return pieces


def chunk_document(doc: Document, count: TokenCounter, settings: ChunkSettings | None = None) -> list[Chunk]:
    settings = settings or DEFAULT_CHUNKING
    units: list[Span] = []
    for span in sentence_spans(doc.text, settings.language):
        if count(doc.text[span.start : span.end]) > settings.max_tokens:
            units.extend(_split_long(doc.text, span, count, settings.max_tokens))
        else:
            units.append(span)
    sizes = [count(doc.text[u.start : u.end]) for u in units]

    groups: list[tuple[int, int]] = []  # [first, last] unit index of each chunk
    first = 0
    while first < len(units):
        last, total = first, sizes[first]
        while last + 1 < len(units) and total + sizes[last + 1] <= settings.max_tokens:
            last += 1
            total += sizes[last]
        groups.append((first, last))
        if last + 1 >= len(units):
            break
        nxt, overlap = last + 1, 0  # step back over whole sentences while they fit in the overlap
        while nxt - 1 > first and overlap + sizes[nxt - 1] <= settings.overlap_tokens:
            nxt -= 1
            overlap += sizes[nxt]
        first = nxt

    chunks = []
    for ordinal, (a, b) in enumerate(groups):
        start, end = units[a].start, units[b].end
        chunks.append(
            Chunk(
                id=f"{doc.id}::{ordinal}",
                doc_id=doc.id,
                ordinal=ordinal,
                text=doc.text[start:end],
                start=start,
                end=end,
                title=doc.title,
                date=doc.date,
                place=doc.place,
                source=doc.source,
                url=doc.url,
            )
        )
    return chunks
