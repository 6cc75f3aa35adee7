"""The HTTP API (``rag serve``): OpenAI-compatible ``POST /v1/chat/completions`` (streaming and not),
``GET /v1/models`` and ``GET /search``, over one ``rag.answer.assistant.Assistant``.

>>> from rag.api.app import create_app
>>> app = create_app(lambda: Assistant.load("seeds"), model="qwen2.5-1.5b-instruct")  # doctest: +SKIP

Bad input is a 400 with OpenAI's error shape (``{"error": {"message", "type"}}``), one line naming the field.
"""

from __future__ import annotations

import base64
import json
import logging
import secrets
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Annotated, Protocol

from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse

from rag.api import schemas
from rag.errors import InputError, RagError
from rag.types import MODES, Answer, Filters

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 1 << 20  # a question with a long chat history is a few KB; nothing the API reads comes near 1 MB


class AssistantLike(Protocol):
    """What the API needs of ``rag.answer.assistant.Assistant`` (tests plug in a fake)."""

    retriever: object  # has .search(query, k=, filters=, mode=)

    def ask_stream(self, question, history=(), k=None, max_tokens=None, filters=None) -> Iterator[Answer]: ...


def create_app(
    assistant: Callable[[], AssistantLike],
    model: str,
    app: FastAPI | None = None,
    logins: Sequence[tuple[str, str]] = (),
) -> FastAPI:
    """The API's routes on ``app`` (a new FastAPI app if none); ``assistant()`` gives the loaded assistant
    (called at the first request that needs it; it should cache). With ``logins`` ((user, password) pairs)
    every API request must carry one: HTTP Basic, or a bearer token ``USER:PASSWORD`` (an OpenAI client's
    ``api_key``)."""
    app = app or FastAPI(title="rag-news API", description="Ask the indexed news; answers cite their sources.")
    loading = threading.Lock()

    def get() -> AssistantLike:
        with loading:
            return assistant()

    @app.middleware("http")
    async def guard(request: Request, call_next):
        """A login when one is required, and no body over ``MAX_BODY_BYTES`` (refused before it is read); the
        page guards its own routes and uploads."""
        if request.url.path.startswith(("/v1/", "/search")):
            if logins and not _logged_in(request.headers.get("authorization", ""), logins):
                reply = JSONResponse(schemas.error("a login is required: send USER:PASSWORD as the API key"), 401)
                reply.headers["WWW-Authenticate"] = 'Basic realm="rag"'
                return reply
            declared = request.headers.get("content-length")
            if declared is None and request.method == "POST":
                return JSONResponse(schemas.error("send the request with a Content-Length header"), status_code=411)
            if declared is not None and (not declared.isdigit() or int(declared) > MAX_BODY_BYTES):
                message = f"the request body has {declared} bytes; the API reads at most {MAX_BODY_BYTES}"
                return JSONResponse(schemas.error(message), status_code=413)
        return await call_next(request)

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError):
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "body")
        return JSONResponse(schemas.error(f"{where}: {first.get('msg')}"), status_code=400)

    @app.exception_handler(InputError)
    async def input_error(request: Request, exc: InputError):
        return JSONResponse(schemas.error(str(exc)), status_code=400)

    @app.exception_handler(RagError)
    async def rag_error(request: Request, exc: RagError):
        return JSONResponse(schemas.error(str(exc), "server_error"), status_code=500)

    @app.get("/v1/models")
    def models() -> dict:
        return {"object": "list", "data": [{"id": model, "object": "model", "owned_by": "rag-news"}]}

    @app.post("/v1/chat/completions")
    def chat(body: schemas.ChatRequest):
        question, history = body.conversation()
        filters = body.filters.to_filters() if body.filters else None
        options = {"k": body.k, "max_tokens": body.max_tokens or body.max_completion_tokens, "filters": filters}
        answers = get().ask_stream(question, history=history, **options)
        if not body.stream:
            return schemas.completion(next(a for a in answers if a.done), model)
        first = next(answers)  # errors in the question or the filters are a 400, before the stream starts
        return StreamingResponse(_events(first, answers, model), media_type="text/event-stream")

    @app.get("/search")
    def search(
        q: str = Query(..., description="What to search for."),
        k: int = Query(5, ge=1, le=50),
        mode: str = Query(MODES[0], description=f"One of {', '.join(MODES)}."),
        date_from: str | None = None,
        date_to: str | None = None,
        source: Annotated[list[str] | None, Query(description="Only this source (repeatable).")] = None,
        doc: Annotated[list[str] | None, Query(description="Only this document id (repeatable).")] = None,
    ) -> dict:
        filters = Filters(date_from, date_to, frozenset(doc or ()), frozenset(source or ()))
        return schemas.hits_payload(q, get().retriever.search(q, k=k, filters=filters, mode=mode))

    return app


def _events(first: Answer, answers: Iterator[Answer], model: str) -> Iterator[str]:
    """Server-sent events: the draft as it grows, then the checked answer with its sources, then [DONE]."""
    completion_id = schemas.new_id()
    yield _sse(schemas.chunk(completion_id, model, {"role": "assistant", "content": ""}))
    streamed = ""
    try:
        for answer in _chain(first, answers):
            if answer.done:
                yield _sse(schemas.final_chunk(completion_id, model, answer, streamed))
                break
            if answer.text.startswith(streamed) and len(answer.text) > len(streamed):
                delta, streamed = answer.text[len(streamed) :], answer.text
                yield _sse(schemas.chunk(completion_id, model, {"content": delta}))
    except RagError as e:  # the stream has started: the error goes in it
        log.warning("answer stream failed: %s", e)
        yield _sse(schemas.error(str(e), "server_error"))
    yield "data: [DONE]\n\n"


def _chain(first: Answer, rest: Iterator[Answer]) -> Iterator[Answer]:
    yield first
    yield from rest


def _sse(payload: dict) -> str:
    return f"data: {json.dumps(payload, ensure_ascii=False)}\n\n"


def _logged_in(header: str, logins: Sequence[tuple[str, str]]) -> bool:
    """Whether ``header`` (``Authorization``) holds one of ``logins``: Basic, or Bearer ``USER:PASSWORD``."""
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "basic":
        try:
            value = base64.b64decode(value, validate=True).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            return False
    elif scheme.lower() != "bearer":
        return False
    user, _, password = value.strip().partition(":")
    return any(  # compared in constant time, every login tried
        [
            secrets.compare_digest(user.encode(), u.encode()) & secrets.compare_digest(password.encode(), p.encode())
            for u, p in logins
        ]
    )
