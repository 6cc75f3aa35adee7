"""The HTTP API (``rag serve``): OpenAI-compatible ``POST /v1/chat/completions`` (streaming and not),
``GET /v1/models`` and ``GET /v1/models/{id}``, ``GET /search``, and its reference at ``/docs`` (served
from here, offline), over one ``rag.answer.assistant.Assistant``.

>>> from rag.api.app import create_app
>>> app = create_app(lambda: Assistant.load("seeds"), model="qwen2.5-1.5b-instruct")  # doctest: +SKIP

Every error, whatever its status, is one line in OpenAI's shape (``{"error": {"message", "type", "param",
"code"}}``); the API's paths answer their own 404 and 405 even with the chat page mounted beside them.
``usage`` counts, with the served model's tokenizer, the messages sent and the reply (the articles the model
reads besides are not in it). How an answer is streamed is ``rag.api.streaming``.
"""

from __future__ import annotations

import base64
import logging
import re
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Annotated, Protocol

from fastapi import FastAPI, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match, Route

from rag.api import docs, schemas
from rag.api.streaming import AnswerStream, ClosingStreamingResponse, events
from rag.errors import InputError, RagError
from rag.logins import Throttle, client_address, matches
from rag.types import MODES, Answer, Filters

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 1 << 20  # a question with a long chat history is a few KB; nothing the API reads comes near 1 MB

# The API's paths, and its description (/docs, /redoc, /openapi.json: a browser asks for the login itself).
GUARDED = ("/v1/", "/search", "/docs", "/redoc", "/openapi.json")

# OpenAI's error type and code for each status the API answers.
_KINDS = {
    401: ("invalid_request_error", "invalid_api_key"),
    404: ("invalid_request_error", "not_found"),
    405: ("invalid_request_error", "method_not_allowed"),
    429: ("requests", "rate_limit_exceeded"),
}


class AssistantLike(Protocol):
    """What the API needs of ``rag.answer.assistant.Assistant`` (tests plug in a fake). ``usage`` counts with
    the assistant's ``generator.count_tokens`` where it has one."""

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
    app = app or FastAPI(
        title="rag-news API",
        description="Ask the indexed news; answers cite their sources.",
        docs_url=None,  # FastAPI's pages load their scripts from a CDN; /docs is served below
        redoc_url=None,
    )
    loading = threading.Lock()
    started = int(time.time())

    def get() -> AssistantLike:
        with loading:
            return assistant()

    app.add_middleware(_Guard, logins=tuple(logins), throttle=throttle or Throttle(), routes=app.router.routes)
    _error_handlers(app)

    @app.get("/v1/models")
    def models() -> dict:
        """The answer model served."""
        return {"object": "list", "data": [schemas.model_card(model, started)]}

    @app.get("/v1/models/{model_id:path}")
    def model_card(model_id: str):
        """The served model's card; any other id is a 404."""
        if model_id != model:
            message = f"the model {model_id!r} is not served here; this server answers with {model!r}"
            return _error(404, message, param="model", code="model_not_found")
        return schemas.model_card(model, started)

    @app.post("/v1/chat/completions")
    async def chat(body: schemas.ChatRequest, request: Request):
        """Answer the last user message, with the earlier ones as the conversation: OpenAI's chat completion,
        streamed (server-sent events) or not. Only checked text is sent; "sources" lists what [n] cites."""
        body.check()
        question, history = body.conversation()
        filters = body.filters.to_filters() if body.filters else None
        options = {"k": body.k, "max_tokens": body.max_tokens or body.max_completion_tokens, "filters": filters}
        loaded = await run_in_threadpool(get)
        count = _token_counter(loaded)

        def usage(answer: Answer) -> dict:
            return schemas.usage(body.prompt_text(), answer.text, count)

        answers = AnswerStream(loaded.ask_stream(question, history=history, **options))
        if not body.stream:
            try:
                final = await answers.final(gone=request.is_disconnected)
            finally:
                await answers.aclose()
            if final is None:  # the client left: nobody reads this (499: nginx's "client closed request")
                return Response(status_code=499)
            return schemas.completion(final, model, usage(final))
        try:  # errors in the question or the filters are a 400, before the stream starts
            first = await answers.next()
            if first is None:
                raise RagError("the assistant gave no answer")
        except BaseException:
            await answers.aclose()
            raise
        stream = events(first, answers, model, usage if body.include_usage else None)
        return ClosingStreamingResponse(stream, media_type="text/event-stream")

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
        """The passages that best match ``q``, best first."""
        filters = Filters(date_from, date_to, frozenset(doc or ()), frozenset(source or ()))
        return schemas.hits_payload(q, get().retriever.search(q, k=k, filters=filters, mode=mode))

    @app.get("/docs", include_in_schema=False)
    @app.get("/redoc", include_in_schema=False)
    def reference() -> HTMLResponse:
        return HTMLResponse(docs.page(app.openapi()))

    return app


def _error(status: int, message: str, kind: str | None = None, param: str | None = None, code=None, headers=None):
    fallback = ("server_error" if status >= 500 else "invalid_request_error", None)
    default_kind, default_code = _KINDS.get(status, fallback)
    body = schemas.error(message, kind or default_kind, param, code or default_code)
    return JSONResponse(body, status_code=status, headers=headers)


def _error_handlers(app: FastAPI) -> None:
    """Every error the API answers in OpenAI's shape."""

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError):
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "body")
        return _error(400, f"{where}: {first.get('msg')}", param=where or None)

    @app.exception_handler(schemas.RequestError)
    async def refused_request(request: Request, exc: schemas.RequestError):
        return _error(400, str(exc), param=exc.param)

    @app.exception_handler(InputError)
    async def input_error(request: Request, exc: InputError):
        return _error(400, str(exc))

    @app.exception_handler(RagError)
    async def rag_error(request: Request, exc: RagError):
        return _error(500, str(exc), "server_error")

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        return _error(exc.status_code, str(exc.detail), headers=exc.headers)

    @app.exception_handler(Exception)
    async def failure(request: Request, exc: Exception):  # the traceback goes to the log, not to the client
        if not request.url.path.startswith(GUARDED):  # the page mounted beside: its own plain reply
            return PlainTextResponse("Internal Server Error", status_code=500)
        return _error(500, "the server failed; its log has the details", "server_error")


def _token_counter(assistant: AssistantLike) -> Callable[[str], int]:
    """The served model's tokenizer; for an assistant without one (tests' fakes), words and marks."""
    generator = getattr(assistant, "generator", None)
    return generator.count_tokens if generator is not None else lambda text: len(re.findall(r"\w+|[^\w\s]", text))


class _Guard:
    """ASGI middleware on the API's paths only (the page guards its own routes and uploads): a login when one is
    required (a client sending wrong ones must wait: ``rag.logins.Throttle``); a 404 or 405 for what the API
    does not route, rather than the page's; no body over ``MAX_BODY_BYTES``, refused before it is read. All
    in OpenAI's error shape. Other paths pass untouched."""

    def __init__(self, app, logins: tuple[tuple[str, str], ...], throttle: Throttle, routes: list):
        self.app, self.logins, self.throttle, self.routes = app, logins, throttle, routes

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and scope["path"].startswith(GUARDED):
            headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
            refusal = (
                self._login(scope, headers) or _unrouted(self.routes, scope) or _too_large(scope["method"], headers)
            )
            if refusal is not None:
                return await refusal(scope, receive, send)
        return await self.app(scope, receive, send)

    def _login(self, scope, headers: dict[str, str]) -> JSONResponse | None:
        if not self.logins:
            return None
        client = client_address(scope)
        wait = self.throttle.wait(client)
        if wait > 0:
            seconds = max(1, round(wait + 0.5))
            message = f"Too many wrong logins: try again in {seconds} s. / "
            message += f"Troppi accessi errati: riprova tra {seconds} s."
            return _error(429, message, headers={"Retry-After": str(seconds)})
        given = headers.get("authorization", "")
        if _logged_in(given, self.logins):
            return None
        if given:  # only a login that was tried counts: not a probe or a CORS preflight without one
            self.throttle.failed(client)
        message = "a login is required: send USER:PASSWORD as the API key"
        return _error(401, message, headers={"WWW-Authenticate": 'Basic realm="rag"'})


def _unrouted(routes: list, scope) -> JSONResponse | None:
    """A 404 or 405 for a request on the API's paths that none of its routes takes (the page mounted at / would
    otherwise answer it, in its own way)."""
    allowed: set[str] = set()
    for route in routes:
        if not isinstance(route, Route):  # the page's Mount
            continue
        match, _ = route.matches(scope)
        if match is Match.FULL:
            return None
        if match is Match.PARTIAL:
            allowed |= route.methods or set()
    if allowed:
        message = f"{scope['method']} is not allowed on {scope['path']}; use {', '.join(sorted(allowed))}"
        return _error(405, message, headers={"Allow": ", ".join(sorted(allowed))})
    return _error(404, f"no such route: {scope['path']}; see /docs for the API's routes")


def _too_large(method: str, headers: dict[str, str]) -> JSONResponse | None:
    declared = headers.get("content-length")
    if declared is None and method == "POST":
        return _error(411, "send the request with a Content-Length header")
    if declared is not None and (not declared.isdigit() or int(declared) > MAX_BODY_BYTES):
        return _error(413, f"the request body has {declared} bytes; the API reads at most {MAX_BODY_BYTES}")
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
