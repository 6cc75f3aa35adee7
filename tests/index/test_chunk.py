import pytest

from rag.index.chunk import chunk_document
from rag.sources.ingest import load_documents, text_document
from rag.types import ChunkSettings

from tests.conftest import SEEDS


def words(text: str) -> int:
    return len(text.split())


def test_offsets_and_limits_on_seeds():
    for doc in load_documents([SEEDS]):
        chunks = chunk_document(doc, words, ChunkSettings(max_tokens=60, overlap_tokens=20))
        assert len(chunks) > 3
        for c in chunks:
            assert doc.text[c.start : c.end] == c.text
            assert words(c.text) <= 60
            assert (c.doc_id, c.title, c.date) == (doc.id, doc.title, doc.date)
        covered = set()
        for c in chunks:
            covered.update(range(c.start, c.end))
        body = {i for i, ch in enumerate(doc.text) if not ch.isspace()}
        assert body <= covered  # no text is lost between chunks


def test_overlap_repeats_whole_sentences():
    text = " ".join(f"Frase numero {i} del testo." for i in range(20))
    doc = text_document("d", text)
    chunks = chunk_document(doc, words, ChunkSettings(max_tokens=20, overlap_tokens=5))
    for a, b in zip(chunks, chunks[1:], strict=False):
        assert b.start < a.end  # overlapping
        assert doc.text[b.start : a.end].endswith(".")


def test_over_long_sentence_is_cut_at_words():
    doc = text_document("d", "parola " * 100)
    chunks = chunk_document(doc, words, ChunkSettings(max_tokens=30, overlap_tokens=0))
    assert len(chunks) == 4 and all(words(c.text) <= 30 for c in chunks)


def test_a_blob_without_spaces_is_cut_too():
    # an audit: one 200 KB "word" (a pasted base64 image) became a single chunk far above the token limit
    doc = text_document("d", "Roma, 3 marzo 2026 – Foto: " + "QUJD" * 2_000 + ". Fine.")
    chunks = chunk_document(doc, len, ChunkSettings(max_tokens=100, overlap_tokens=0))  # one token a character
    assert len(chunks) > 70 and all(len(c.text) <= 100 for c in chunks)
    assert "".join(c.text for c in chunks).replace(" ", "") == doc.text.replace(" ", "")


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match="overlap_tokens"):
        ChunkSettings(max_tokens=100, overlap_tokens=60)
