"""What the HTTP API reads and writes: OpenAI chat-completion requests and responses, plus the sources.

Pure functions from the library's records (``Answer``, ``Hit``) to JSON-ready dicts; no server here.
The extra fields, beside OpenAI's own, are documented in docs/api.md:

- request: ``k`` (passages to retrieve) and ``filters`` (``date_from``, ``date_to``, ``sources``, ``doc_ids``);
- response: ``sources`` (one per [n] marker: number, doc_id, title, date, place, source, url, quote, passage,
  score), ``refused`` and ``refusal_reasons``; in a stream the chunk with the ``finish_reason`` carries them,
  with ``answer``, the whole checked text (what the stream's pieces add up to).

A refusal is OpenAI's own way too: ``message.refusal`` (``delta.refusal`` in a stream) holds its message,
which ``content`` also holds, so that any client shows it.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from rag.errors import InputError
from rag.types import Answer, Filters


class RequestError(InputError):
    """A request the API will not serve, naming the field (OpenAI's ``param``): a 400."""

    def __init__(self, param: str, message: str):
        super().__init__(f"{param}: {message}")
        self.param = param


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


class StreamOptions(BaseModel):
    model_config = ConfigDict(extra="allow")

    include_usage: bool = False


class ChatRequest(BaseModel):
    """OpenAI's chat-completion request. Sampling fields (temperature, top_p, seed…) are accepted and do not
    change the answer (it is written greedily and then checked); fields asking for what this server does not do
    (several choices, tools, a JSON reply, log-probabilities) are refused by ``check``."""

    model_config = ConfigDict(extra="allow")

    messages: list[Message]
    model: str | None = None
    stream: bool = False
    stream_options: StreamOptions | None = None
    max_tokens: int | None = Field(default=None, ge=1)
    max_completion_tokens: int | None = Field(default=None, ge=1)
    n: int | None = Field(default=None, ge=1)
    k: int | None = Field(default=None, ge=1, le=20)
    filters: FilterBody | None = None

    def check(self) -> None:
        """Refuse, naming the field, what this server cannot do rather than ignore it silently."""
        if self.n is not None and self.n > 1:
            message = f"this server writes one answer per request; send n=1 or leave it out (got {self.n})"
            raise RequestError("n", message)
        extra = self.model_extra or {}
        for name in ("tools", "functions"):
            if extra.get(name):
                raise RequestError(name, "this server does not call tools or functions; send the request without them")
        for name in ("tool_choice", "function_call"):
            if extra.get(name) not in (None, "none", "auto"):
                raise RequestError(name, "this server does not call tools or functions; leave it out")
        response_format = extra.get("response_format")
        if response_format not in (None, {"type": "text"}) and response_format != "text":
            raise RequestError("response_format", 'the answer is cited text; leave it out or send {"type": "text"}')
        if extra.get("logprobs") or extra.get("top_logprobs"):
            name = "logprobs" if extra.get("logprobs") else "top_logprobs"
            raise RequestError(name, "this server does not return log-probabilities; leave it out")

    @property
    def include_usage(self) -> bool:
        return bool(self.stream and self.stream_options and self.stream_options.include_usage)

    def conversation(self) -> tuple[str, list[tuple[str, str]]]:
        """The question (the last user message) and the earlier (question, answer) pairs."""
        turns = [m for m in self.messages if m.role in ("user", "assistant")]
        if not turns or turns[-1].role != "user" or not turns[-1].text().strip():
            raise RequestError("messages", "the last message must be the user's question")
        history, question = [], None
        for message in turns[:-1]:
            if message.role == "user":
                question = message.text()
            elif question is not None:
                history.append((question, message.text()))
                question = None
        return turns[-1].text(), history

    def prompt_text(self) -> str:
        """The text of every message sent, as ``usage.prompt_tokens`` counts it."""
        return "\n".join(m.text() for m in self.messages)


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


def usage(prompt: str, answer_text: str, count: Callable[[str], int]) -> dict:
    """OpenAI's ``usage``: ``count``'s tokens of the messages sent and of the reply."""
    prompt_tokens, completion_tokens = count(prompt), count(answer_text)
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }


def completion(answer: Answer, model: str, usage_: dict | None = None) -> dict:
    """A whole ``chat.completion`` for a finished answer."""
    message = {"role": "assistant", "content": answer.text, "refusal": answer.text if answer.refused else None}
    return {
        "id": new_id(),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": "stop"}],
        "usage": usage_,
        **_extras(answer),
    }


def chunk(completion_id: str, model: str, delta: dict, finish: str | None = None, extra: dict | None = None) -> dict:
    """One ``chat.completion.chunk`` of a stream (``usage`` is null but in the last one, when asked for)."""
    return {
        "id": completion_id,
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
        "usage": None,
        **(extra or {}),
    }


def final_chunk(completion_id: str, model: str, answer: Answer) -> dict:
    """The chunk that ends the answer: ``finish_reason``, the sources and the checked text whole."""
    delta = {"refusal": answer.text} if answer.refused else {}
    return chunk(completion_id, model, delta, "stop", {"answer": answer.text, **_extras(answer)})


def usage_chunk(completion_id: str, model: str, usage_: dict) -> dict:
    """The chunk ``stream_options.include_usage`` asks for, after the last one: no choices, the usage."""
    return {**chunk(completion_id, model, {}), "choices": [], "usage": usage_}


def new_id() -> str:
    return f"chatcmpl-{uuid.uuid4().hex[:24]}"


def error(message: str, kind: str = "invalid_request_error", param: str | None = None, code: Any = None) -> dict:
    """OpenAI's error body: ``{"error": {"message", "type", "param", "code"}}``."""
    return {"error": {"message": message, "type": kind, "param": param, "code": code}}


def model_card(model: str, created: int) -> dict:
    return {"id": model, "object": "model", "created": created, "owned_by": "rag-news"}


def hits_payload(query: str, hits: Sequence) -> dict:
    return {"query": query, "hits": [h.to_dict() for h in hits]}
