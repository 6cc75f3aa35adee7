"""An answer streamed to an HTTP client: only checked text, and the model given back the moment the client goes.

``ask_stream`` is a plain (synchronous) generator that holds the model while it runs (llama.cpp has one
context: ``LlamaCppGenerator.stream`` keeps a lock until it is closed or done). ``AnswerStream`` reads it
from the event loop, one ``next`` at a time in a worker thread, and closes it (in a worker thread too, and
never while a ``next`` runs) however the reader stops: the answer done, an error, or the client gone.
``ClosingStreamingResponse`` makes sure the server always stops the reader: Starlette cancels the body of a
response whose client hung up and leaves it to the garbage collector, which kept the model for minutes.

What is shown: ``SHOW_PARTIALS`` (one place) says whether the partial answers ``ask_stream`` yields may be
streamed as they come. Until every partial is checked (the contract of ``rag.types.Answer``), they are not:
the text is sent once the final answer is, in pieces of a sentence each, so a draft that is then refused or
corrected never reaches a client.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Callable, Iterator

import anyio
from starlette.responses import StreamingResponse

from rag.api import schemas
from rag.errors import RagError
from rag.text import sentence_spans
from rag.types import Answer

log = logging.getLogger(__name__)

# Whether a partial answer's text (done=False) may be shown as it comes. Today's ask_stream yields the
# reader's draft, so no: the answer is streamed once final. True once every partial is checked text.
SHOW_PARTIALS = False


class AnswerStream:
    """The answers of one ``ask_stream``, read from async code; ``aclose`` ends the generation at once."""

    def __init__(self, answers: Iterator[Answer]):
        self._answers = answers
        self._turn = anyio.Lock()  # a next() and the close never overlap ("generator already executing")
        self._closed = False

    async def next(self) -> Answer | None:
        """The next answer, or None when there are no more."""
        async with self._turn:
            if self._closed:
                return None
            # not abandoned on cancel: the worker's next() returns before the caller (and its close) go on
            return await anyio.to_thread.run_sync(next, self._answers, None)

    async def final(self, gone: Callable[[], object] | None = None) -> Answer | None:
        """The final answer; None if ``await gone()`` said the client left first (checked between answers)."""
        while (answer := await self.next()) is not None:
            if answer.done:
                return answer
            if gone is not None and await gone():
                log.info("the client left before the answer was done; the generation is stopped")
                return None
        return None

    async def aclose(self) -> None:
        """Stop the generation (the model is free again); shielded, so a cancelled caller still closes it."""
        with anyio.CancelScope(shield=True):
            async with self._turn:
                if not self._closed:
                    self._closed = True
                    await anyio.to_thread.run_sync(self._answers.close)


class ClosingStreamingResponse(StreamingResponse):
    """A streamed response whose body (an async generator) is closed when the response ends, however it ends:
    a client that hung up stops the body at once instead of whenever the garbage collector finds it."""

    async def __call__(self, scope, receive, send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            with anyio.CancelScope(shield=True):
                await self.body_iterator.aclose()


def pieces(text: str, language: str = "it") -> list[str]:
    """``text`` cut after each sentence; the pieces add up to ``text`` exactly (markers stay in their sentence).

    >>> pieces("Hnatov lo accompagnava [1]. Era il 3 dicembre [2].")
    ['Hnatov lo accompagnava [1].', ' Era il 3 dicembre [2].']
    """
    cuts = [span.end for span in sentence_spans(text, language)[:-1]]
    bounds = [0, *cuts, len(text)]
    return [text[a:b] for a, b in zip(bounds, bounds[1:], strict=False) if b > a]


async def events(
    first: Answer, answers: AnswerStream, model: str, usage: Callable[[Answer], dict] | None = None
) -> AsyncIterator[str]:
    """Server-sent events of one answer: the role; the checked text in pieces; the chunk with ``finish_reason``
    and the sources; the usage if asked for (``usage``); ``[DONE]``. While nothing can be shown yet, what is
    being done (``Answer.status``) goes as an SSE comment, which clients ignore and proxies see as traffic."""
    completion_id = schemas.new_id()
    yield _sse(schemas.chunk(completion_id, model, {"role": "assistant", "content": ""}))
    shown, status, answer = "", "", first
    try:
        while answer is not None:
            if answer.done:
                if answer.text.startswith(shown):
                    for piece in pieces(answer.text[len(shown) :], answer.language):
                        yield _sse(schemas.chunk(completion_id, model, {"content": piece}))
                else:  # checked partials never need taking back; if one did, "answer" below has the text whole
                    log.warning("the final answer does not continue the text streamed: %r / %r", shown, answer.text)
                yield _sse(schemas.final_chunk(completion_id, model, answer))
                if usage is not None:
                    yield _sse(schemas.usage_chunk(completion_id, model, usage(answer)))
                break
            if SHOW_PARTIALS and answer.text.startswith(shown) and len(answer.text) > len(shown):
                delta, shown = answer.text[len(shown) :], answer.text
                yield _sse(schemas.chunk(completion_id, model, {"content": delta}))
            elif answer.status and answer.status != status:
                status = answer.status
                yield f": {' '.join(status.split())}\n\n"
            answer = await answers.next()
    except RagError as e:  # the stream has started: the error goes in it
        log.warning("answer stream failed: %s", e)
        yield _sse(schemas.error(str(e), "server_error"))
    except Exception:
        log.exception("answer stream failed")
        yield _sse(schemas.error("the server failed while answering; see its log", "server_error"))
    finally:
        await answers.aclose()
    yield "data: [DONE]\n\n"


def _sse(payload: dict) -> str:
    return f"data: {json.dumps(payload, ensure_ascii=False)}\n\n"
