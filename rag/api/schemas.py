"""What the HTTP API reads and writes: OpenAI chat-completion requests and responses, plus the sources.

Pure functions from the library's records (``Answer``, ``Hit``) to JSON-ready dicts; no server here.
The extra fields, beside OpenAI's own, are documented in README.md ("HTTP API"):

- request: ``k`` (passages to retrieve) and ``filters`` (``date_from``, ``date_to``, ``sources``, ``doc_ids``);
- response: ``sources`` (one per [n] marker: number, doc_id, title, date, place, source, url, quote, passage,
  score), ``refused`` and ``refusal_reasons``; in a stream the last chunk carries them, with ``answer``,
  the checked text with its [n] markers (or the refusal), which replaces the draft streamed before it.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict, Field

from rag.errors import InputError
from rag.types import Answer, Filters


class ContentPart(BaseModel):
    """One part of a message's content (``{"type": "text", "text": ...}``; other types carry no text)."""

    model_config = ConfigDict(extra="allow")

    type: str = "text"
    text: str | None = None


class Message(BaseModel):
    model_config = ConfigDict(extra="allow")

    role: str
    content: str | list[ContentPart] | None = None

    def text(self) -> str:
        if isinstance(self.content, list):  # [{"type": "text", "text": ...}, ...]
            return " ".join(part.text for part in self.content if part.text)
        return self.content or ""


class FilterBody(BaseModel):
    date_from: str | None = None
    date_to: str | None = None
    sources: list[str] = Field(default_factory=list)
    doc_ids: list[str] = Field(default_factory=list)

    def to_filters(self) -> Filters:
        return Filters(self.date_from, self.date_to, frozenset(self.doc_ids), frozenset(self.sources))


class ChatRequest(BaseModel):
    """OpenAI's chat-completion request; fields it has and we do not use (temperature, top_p…) are ignored."""

    model_config = ConfigDict(extra="allow")

    messages: list[Message]
    model: str | None = None
    stream: bool = False
    max_tokens: int | None = Field(default=None, ge=1)
    max_completion_tokens: int | None = Field(default=None, ge=1)
    k: int | None = Field(default=None, ge=1, le=20)
    filters: FilterBody | None = None

    def conversation(self) -> tuple[str, list[tuple[str, str]]]:
        """The question (the last user message) and the earlier (question, answer) pairs."""
        turns = [m for m in self.messages if m.role in ("user", "assistant")]
        if not turns or turns[-1].role != "user" or not turns[-1].text().strip():
            raise InputError("messages: the last message must be the user's question")
        history, question = [], None
        for message in turns[:-1]:
            if message.role == "user":
                question = message.text()
            elif question is not None:
                history.append((question, message.text()))
                question = None
        return turns[-1].text(), history


def sources(answer: Answer) -> list[dict]:
    """One entry per citation marker, with the article's source and address from the retrieved passage."""
    hits = {h.chunk_id: h for h in answer.passages}
    out = []
    for c in sorted(answer.citations, key=lambda c: c.number):
        hit = hits.get(c.chunk_id)
        out.append(
            {
                "number": c.number,
                "doc_id": c.doc_id,
                "title": c.title,
                "date": c.date,
                "place": c.place,
                "source": hit.source if hit else None,
                "url": hit.url if hit else None,
                "quote": c.quote,
                "passage": c.passage,
                "score": c.score,
            }
        )
    return out


def _extras(answer: Answer) -> dict:
    return {"sources": sources(answer), "refused": answer.refused, "refusal_reasons": list(answer.refusal_reasons)}


def completion(answer: Answer, model: str) -> dict:
    """A whole ``chat.completion`` for a finished answer."""
    return {
        "id": new_id(),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": answer.text}, "finish_reason": "stop"}],
        **_extras(answer),
    }


def chunk(completion_id: str, model: str, delta: dict, finish: str | None = None, extra: dict | None = None) -> dict:
    """One ``chat.completion.chunk`` of a stream."""
    return {
        "id": completion_id,
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        **(extra or {}),
    }


def final_chunk(completion_id: str, model: str, answer: Answer, streamed: str) -> dict:
    """The last chunk: the rest of the text if the checked answer continues the draft, and the extras."""
    rest = answer.text[len(streamed) :] if answer.text.startswith(streamed) else ""
    extra = {"answer": answer.text, **_extras(answer)}
    return chunk(completion_id, model, {"content": rest} if rest else {}, "stop", extra)


def new_id() -> str:
    return f"chatcmpl-{uuid.uuid4().hex[:24]}"


def error(message: str, kind: str = "invalid_request_error") -> dict:
    return {"error": {"message": message, "type": kind}}


def hits_payload(query: str, hits: Sequence) -> dict:
    return {"query": query, "hits": [h.to_dict() for h in hits]}
