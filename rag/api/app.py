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
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Annotated, Protocol

from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse

from rag.api import schemas
from rag.errors import InputError, RagError
from rag.logins import Throttle, client_address, matches, send_too_many
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
    throttle: Throttle | None = None,
) -> FastAPI:
    """The API's routes on ``app`` (a new FastAPI app if none); ``assistant()`` gives the loaded assistant
    (called at the first request that needs it; it should cache). With ``logins`` ((user, password) pairs)
    every API request must carry one: HTTP Basic, or a bearer token ``USER:PASSWORD`` (an OpenAI client's
    ``api_key``); a client that keeps sending wrong ones must wait (``throttle``: pass the page's to share one
    count between them)."""
    app = app or FastAPI(title="rag-news API", description="Ask the indexed news; answers cite their sources.")
    loading = threading.Lock()

    def get() -> AssistantLike:
        with loading:
            return assistant()

    app.add_middleware(_Guard, logins=tuple(logins), throttle=throttle or Throttle())

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


# The API's paths, and its description (/docs, /redoc, /openapi.json: a browser asks for the login itself).
GUARDED = ("/v1/", "/search", "/docs", "/redoc", "/openapi.json")


class _Guard:
    """ASGI middleware on the API's paths only (the page guards its own routes and uploads): a login when one is
    required (a client sending wrong ones must wait: ``rag.logins.Throttle``), and no body over
    ``MAX_BODY_BYTES``, refused before it is read. Other paths pass untouched."""

    def __init__(self, app, logins: tuple[tuple[str, str], ...], throttle: Throttle):
        self.app, self.logins, self.throttle = app, logins, throttle

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and scope["path"].startswith(GUARDED):
            headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
            if self.logins:
                client = client_address(scope)
                wait = self.throttle.wait(client)
                if wait > 0:
                    return await send_too_many(send, wait)
                given = headers.get("authorization", "")
                if not _logged_in(given, self.logins):
                    if given:  # only a login that was tried counts: not a probe or a CORS preflight without one
                        self.throttle.failed(client)
                    message = "a login is required: send USER:PASSWORD as the API key"
                    asked = {"WWW-Authenticate": 'Basic realm="rag"'}
                    return await JSONResponse(schemas.error(message), 401, headers=asked)(scope, receive, send)
            refusal = _too_large(scope["method"], headers)
            if refusal is not None:
                return await refusal(scope, receive, send)
        return await self.app(scope, receive, send)


def _too_large(method: str, headers: dict[str, str]) -> JSONResponse | None:
    declared = headers.get("content-length")
    if declared is None and method == "POST":
        return JSONResponse(schemas.error("send the request with a Content-Length header"), status_code=411)
    if declared is not None and (not declared.isdigit() or int(declared) > MAX_BODY_BYTES):
        message = f"the request body has {declared} bytes; the API reads at most {MAX_BODY_BYTES}"
        return JSONResponse(schemas.error(message), status_code=413)
    return None


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
    user, _, password = value.partition(":")  # exactly as given: "segreta\n" is not "segreta"
    return matches(user, password, logins)
