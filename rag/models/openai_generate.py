"""The reader on a server: ``OpenAIGenerator`` (``openai``) streams replies from any OpenAI-compatible
``/v1/chat/completions`` (llama.cpp's ``llama-server``, llama-cpp-python's ``python -m llama_cpp.server``,
vLLM, Ollama) over HTTP, greedy (``temperature: 0``). Chosen by name through
``rag.models.generate.load_generator`` (``rag ask --llm URL``).

What differs between servers is found out once, when the generator is made, by one 4-token request
(``_probe``):

- **The reply prefix** (``Risposta breve:``). A server that continues a final assistant message (llama.cpp's
  server by default, vLLM with ``continue_final_message``, Ollama) is sent the prefix as that message and
  the reply continues it, as in-process (``prefill="continue"``). llama-cpp-python's server closes that
  message and starts another, so there the prefix is not sent: the model writes the label itself (the
  system prompt's examples show it) and it is cut from the reply (``prefill="label"``). The model then
  follows the format by itself, which a small model does less surely than a prefix it is given.
- **Logprobs.** Where the probe's reply comes with ``top_logprobs``, ``supports_first_token`` is True and
  ``FirstToken`` is read from the first token after the prefix (the doubt check); else it is False.
- **Exact token counts.** When the served model is a built-in model or a GGUF file found here, its
  vocabulary alone (no weights, about 1 s) counts tokens as in-process (``supports_token_count``); else
  three characters count as a token.

Sent besides OpenAI's fields, for llama.cpp's servers: ``cache_prompt: true`` (the server keeps the
prompt's states: a second question about the same articles reads only what follows them; vLLM's prefix
caching needs nothing), ``repeat_penalty: 1`` and ``top_k: 1`` (llama-cpp-python's server penalises
repeats by default, which is not greedy). A server that refuses unknown fields (HTTP 400 or 422 naming
one) is asked again without them.

>>> gen = OpenAIGenerator(url="http://127.0.0.1:8080/v1")                 # doctest: +SKIP
>>> "".join(gen.stream([{"role": "user", "content": "Ciao"}], max_tokens=8))  # doctest: +SKIP
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from rag import config
from rag.errors import ModelError
from rag.models.llm import FirstToken, Generator

log = logging.getLogger(__name__)

CONNECT_TIMEOUT = 5.0  # seconds to open a connection: a server that is up answers at once
TOP_LOGPROBS = 20  # the most OpenAI's API allows
PREFILLS = ("auto", "continue", "label")
LLAMA_CPP_FIELDS = {"cache_prompt": True, "repeat_penalty": 1.0, "top_k": 1}
CONTINUE_FIELDS = {"continue_final_message": True, "add_generation_prompt": False}  # vLLM's names
_PROBE_WORD, _PROBE_START = "ABRACADABRA", "ABRACAD"  # a word cut mid-way: only a continuation ends it


def server_address(url: str) -> str:
    """``url`` checked and normalised: http or https, a host, no trailing slash; none path means ``/v1``.

    >>> server_address("http://127.0.0.1:8080"), server_address("https://gpu.lan/v1/")
    ('http://127.0.0.1:8080/v1', 'https://gpu.lan/v1')
    """
    text = (url or "").strip()
    parts = urlsplit(text)
    try:
        parts.port  # noqa: B018 (a port that is not a number raises here)
    except ValueError:
        parts = parts._replace(netloc="")
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise ModelError(
            f"--llm {shown_address(text)!r}: give the address of an OpenAI-compatible server, "
            "e.g. http://127.0.0.1:8080/v1"
        )
    return urlunsplit((parts.scheme, parts.netloc, parts.path.rstrip("/") or "/v1", "", ""))


def shown_address(url: str) -> str:
    """``url`` without the user and password it may hold (messages and logs show it).

    >>> shown_address("http://me:secret@gpu.lan:8000/v1")
    'http://gpu.lan:8000/v1'
    """
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2])) if "@" in parts.netloc else url


class OpenAIGenerator(Generator):
    """A chat model served at ``url`` by an OpenAI-compatible server (``POST {url}/chat/completions``).

    ``model``: the served model's name (None: the server's only model, from ``GET {url}/models``).
    ``api_key``: sent as ``Authorization: Bearer`` (default ``$RAG_LLM_API_KEY``); ``url`` defaults to
    ``$RAG_LLM_URL``. ``timeout``: seconds to wait for the server's next bytes, the first ones included
    (its queue and the prompt's prefill; default ``$RAG_LLM_TIMEOUT`` or 60); connecting has 5 s.
    ``prefill``: ``auto`` (probe the server), ``continue`` or ``label`` (see the module's notes).
    ``tokenizer``: a built-in model name or GGUF file whose vocabulary counts tokens (None: the served
    model's name when it is one; ``""``: estimate). Safe to share between threads: each reply is one request.
    """

    supports_prefix_cache = False  # the server may keep prompts (cache_prompt, prefix caching): out of our sight
    supports_cached_share = False

    def __init__(
        self,
        model: str | None = None,
        url: str | None = None,
        api_key: str | None = None,
        timeout: float | None = None,
        prefill: str = "auto",
        tokenizer: str | None = None,
        context_tokens: int = 4096,
    ):
        if prefill not in PREFILLS:
            raise ModelError(f"prefill={prefill!r}: choose one of {', '.join(PREFILLS)}")
        self._connect(url, api_key, timeout)
        self._extras = True  # LLAMA_CPP_FIELDS and CONTINUE_FIELDS are sent until the server refuses them
        self.context_tokens = context_tokens
        try:
            self.name = self._choose_model(model)
            continues, logprobs = self._probe()
        except BaseException:
            self._client.close()
            raise
        self.prefill = ("continue" if continues else "label") if prefill == "auto" else prefill
        self.supports_first_token = logprobs
        self._vocab = self._vocabulary(self.name if tokenizer is None else tokenizer)
        self.supports_token_count = self._vocab is not None
        log.info(
            "answer model %s at %s: reply prefix %s, logprobs %s, token counts %s",
            self.name,
            self.where,
            "continued" if self.prefill == "continue" else "written by the model and cut",
            "yes (doubt check on)" if logprobs else "no (doubt check off)",
            "exact" if self._vocab is not None else "estimated",
        )

    def _connect(self, url: str | None, api_key: str | None, timeout: float | None) -> None:
        import httpx

        url = url or config.llm_url()
        if not url:
            raise ModelError(
                "the openai backend needs the server's address: --llm URL or RAG_LLM_URL "
                "(e.g. http://127.0.0.1:8080/v1)"
            )
        self.timeout = config.llm_timeout() if timeout is None else float(timeout)
        if not 0 < self.timeout < math.inf:
            raise ModelError(f"timeout={timeout!r}: give a number of seconds above 0")
        self.url = server_address(url)
        self.where = shown_address(self.url)
        key = api_key if api_key is not None else config.llm_api_key()
        self._client_options = {
            "base_url": self.url,
            "headers": {"Authorization": f"Bearer {key}"} if key else {},
            "timeout": httpx.Timeout(self.timeout, connect=CONNECT_TIMEOUT),
            "limits": httpx.Limits(max_connections=64, max_keepalive_connections=16),
        }
        self._client = httpx.Client(**self._client_options)
        self._keyed = bool(key)

    # ---- Generator ------------------------------------------------------------------------------------
    def count_tokens(self, text: str) -> int:
        if self._vocab is None:
            return super().count_tokens(text)
        return len(self._vocab.tokenize(text.encode("utf-8"), add_bos=False, special=True))

    def stream(self, messages, max_tokens=256, stop=(), reply_prefix="", first=None):
        continuing = bool(reply_prefix) and self.prefill == "continue"
        sent = [dict(m) for m in messages]
        if continuing:
            sent.append({"role": "assistant", "content": reply_prefix})
        body = {"model": self.name, "messages": sent, "stream": True, "temperature": 0, "max_tokens": max_tokens}
        if stop:
            body["stop"] = list(stop)
        reading = first if first is not None and self.supports_first_token else None
        if reading is not None:
            body.update(logprobs=True, top_logprobs=TOP_LOGPROBS)
        reply = _Reply("" if continuing else reply_prefix, reading)
        for choice in self._choices(body, continuing):
            text = reply.add(_content(choice, self.where), _token_entries(choice))
            if text:
                yield text
        text = reply.end()
        if text:
            yield text

    def close(self) -> None:
        """Close the connections to the server."""
        self._client.close()

    # ---- what the server serves and can do -------------------------------------------------------------
    def _choose_model(self, model: str | None) -> str:
        served = self._served_models()
        if not model:
            if not served:
                raise ModelError(f"{self.where} does not list the models it serves; name one with --model")
            if len(served) > 1:
                raise ModelError(
                    f"{self.where} serves {len(served)} models ({', '.join(served[:12])}); choose one with --model"
                )
            return served[0]
        if served is not None and model not in served:
            raise ModelError(
                f"{self.where} does not serve {model!r}; it serves {', '.join(served[:12])}: choose one with --model"
            )
        return model

    def _served_models(self) -> list[str] | None:
        """The ids ``GET {url}/models`` lists (None when the server does not say)."""
        import httpx

        try:
            response = self._client.get("/models")
        except httpx.HTTPError as e:
            raise self._network_error(e) from e
        if response.status_code in (401, 403):
            raise self._http_error(response.status_code, _error_text(response.text))
        if response.status_code >= 400:
            log.debug("%s/models: HTTP %s", self.where, response.status_code)
            return None
        try:
            listed = response.json()["data"]
            return [m["id"] for m in listed if isinstance(m, dict) and isinstance(m.get("id"), str)]
        except (ValueError, KeyError, TypeError):
            log.debug("%s/models: not an OpenAI model list", self.where)
            return None

    def _probe(self) -> tuple[bool, bool]:
        """(the server continues a final assistant message, it returns top logprobs), from a 4-token reply."""
        messages = [
            {"role": "user", "content": f"Scrivi la parola {_PROBE_WORD}."},
            {"role": "assistant", "content": _PROBE_START},
        ]
        body = {"model": self.name, "messages": messages, "stream": True, "temperature": 0, "max_tokens": 4}
        for logprobs in (True, False):
            asked = {**body, "logprobs": True, "top_logprobs": TOP_LOGPROBS} if logprobs else body
            text, tops = "", False
            try:
                for choice in self._choices(asked, continuing=True):
                    text += _content(choice, self.where)
                    tops = tops or any(entry.get("top_logprobs") for entry in _token_entries(choice))
            except ModelError as e:  # refused (4xx), or failed on them (llama-cpp-python without logits_all
                if not logprobs:  # starts the stream, then breaks it): asked again without them
                    raise
                log.debug("%s gave no logprobs (%s); asking without them", self.where, e)
                if not isinstance(e, _Refused):  # the broken stream's connection is not to be used again
                    import httpx

                    self._client.close()
                    self._client = httpx.Client(**self._client_options)
                continue
            continued = (_PROBE_START + text).upper().startswith(_PROBE_WORD)
            return continued and not text.lstrip().upper().startswith(_PROBE_START), tops
        raise AssertionError("unreachable")

    def _vocabulary(self, name: str):
        """The vocabulary of ``name`` (a built-in model, or a GGUF file here) to count tokens; None if none."""
        if not name:
            return None
        from rag.models.provision import MODELS, is_ready

        spec = MODELS.get(name)
        if spec is not None and spec.kind == "file" and is_ready(spec):
            path = spec.load_path()
        elif name.endswith(".gguf") and Path(name).expanduser().is_file():
            path = Path(name).expanduser()
        else:
            return None
        try:
            import llama_cpp
            from llama_cpp._internals import LlamaModel  # the vocabulary without the weights (0.3.36, pinned)
        except ImportError:
            return None
        params = llama_cpp.llama_model_default_params()
        params.vocab_only = True
        try:
            return LlamaModel(path_model=str(path), params=params, verbose=False)
        except (ValueError, RuntimeError) as e:
            log.warning("cannot read the vocabulary of %s (%s); token counts are estimated", path.name, e)
            return None

    # ---- the HTTP exchange --------------------------------------------------------------------------------
    def _choices(self, body: dict, continuing: bool) -> Iterator[dict]:
        """POST ``body`` (streamed) and yield each chunk's first choice; errors are one ``ModelError`` line."""
        import httpx

        for attempt in range(2):
            payload = {**body, **LLAMA_CPP_FIELDS, **(CONTINUE_FIELDS if continuing else {})} if self._extras else body
            try:
                with self._client.stream("POST", "/chat/completions", json=payload) as response:
                    if response.status_code >= 400:
                        detail = _error_text(response.read().decode("utf-8", "replace"))
                        extra = [name for name in (*LLAMA_CPP_FIELDS, *CONTINUE_FIELDS) if name in detail]
                        if not attempt and self._extras and response.status_code in (400, 422) and extra:
                            log.info("%s refuses %s; asking without such fields", self.where, ", ".join(extra))
                            self._extras = False
                            continue
                        raise self._http_error(response.status_code, detail)
                    yield from self._parse(response)
                    return
            except httpx.HTTPError as e:
                raise self._network_error(e) from e

    def _parse(self, response) -> Iterator[dict]:
        kind = response.headers.get("content-type", "")
        if "text/event-stream" not in kind:
            raw = response.read().decode("utf-8", "replace")
            if "json" not in kind:
                raise self._garbage(raw or f"an empty reply of type {kind or 'none'}")
            yield self._choice(_loads(raw, self), streamed=False)  # a server that does not stream
            return
        finished = False
        for line in response.iter_lines():
            field, _, value = line.partition(":")
            if field != "data":  # blank lines, comments (": ping"), event:, id:
                continue
            value = value.strip()
            if value == "[DONE]":
                break
            data = _loads(value, self)
            if isinstance(data, dict) and data.get("choices") == []:  # a usage chunk
                continue
            choice = self._choice(data, streamed=True)
            finished = finished or bool(choice.get("finish_reason"))
            yield choice
        if not finished:  # no finish_reason: cut, or given up for another request
            raise ModelError(
                f"the answer server at {self.where} stopped the reply before its end; it may have stopped, "
                "restarted, or given it up for another request (llama-cpp-python's server does unless started "
                "with --interrupt_requests False): retry, and check the server's log"
            )

    def _choice(self, data, streamed: bool) -> dict:
        if isinstance(data, dict) and "error" in data:
            raise ModelError(f"the answer server at {self.where} failed: {_error_text(json.dumps(data))}")
        choices = data.get("choices") if isinstance(data, dict) else None
        choice = choices[0] if isinstance(choices, list) and choices else None
        part = choice.get("delta" if streamed else "message") if isinstance(choice, dict) else None
        if not isinstance(part, dict):
            raise self._garbage(json.dumps(data)[:120])
        return choice if streamed else {**choice, "delta": part}

    def _garbage(self, sample: str) -> ModelError:
        return ModelError(
            f"the answer server at {self.where} sent something that is not an OpenAI-compatible reply "
            f"({_clean(sample)[:80]!r}); check that --llm is the server's OpenAI address (usually ending in /v1)"
        )

    def _http_error(self, status: int, detail: str) -> ModelError:
        said = f"HTTP {status}" + (f": {detail}" if detail else "")
        if status in (401, 403):
            fix = "give the right one" if self._keyed else "give one"
            return _Refused(f"the answer server at {self.where} refused the API key ({said}); {fix} with --api-key "
                            "or RAG_LLM_API_KEY")  # fmt: skip
        if status == 404:
            return _Refused(
                f"the answer server at {self.where} has no such endpoint or model ({said}); give its OpenAI "
                "address (usually ending in /v1) with --llm, and a model it serves with --model"
            )
        if status < 500:
            return _Refused(f"the answer server at {self.where} refused the request ({said})")
        return ModelError(f"the answer server at {self.where} failed ({said}); check its log, then retry")

    def _network_error(self, e: Exception) -> ModelError:
        import httpx

        why = _clean(str(e)) or type(e).__name__
        if isinstance(e, httpx.ConnectError | httpx.ConnectTimeout):
            return ModelError(
                f"cannot reach the answer server at {self.where} ({why}); start it, or check --llm / RAG_LLM_URL"
            )
        if isinstance(e, httpx.TimeoutException):
            return ModelError(
                f"the answer server at {self.where} sent nothing for {self.timeout:g} s; it is busy or stuck: "
                "retry, or wait longer with RAG_LLM_TIMEOUT=SECONDS"
            )
        if isinstance(e, httpx.RemoteProtocolError | httpx.ReadError | httpx.WriteError):
            return ModelError(
                f"the answer server at {self.where} closed the connection mid-reply ({why}); it may have "
                "stopped or restarted: retry, and check the server's log"
            )
        return ModelError(f"talking to the answer server at {self.where} failed ({why}); retry")


def served_model(url: str | None = None, model: str | None = None, api_key: str | None = None) -> str:
    """The name of the model to ask the server at ``url`` for: ``model`` when it serves it (or does not list
    its models), else its only model; ``ModelError`` in one line when it is down, serves several (naming
    them) or not ``model``. Quick (one ``GET /models``): commands name the model before loading anything."""
    server = OpenAIGenerator.__new__(OpenAIGenerator)
    server._connect(url, api_key, None)
    try:
        return server._choose_model(model)
    finally:
        server.close()


class _Refused(ModelError):
    """The server answered the request with an HTTP error of the client's (4xx)."""


_MARKUP = re.compile(r"\s*[*_#]*\s*")


class _Reply:
    """The reply as it streams in. With ``label`` (the prefix the server did not continue), the label the
    model wrote itself is cut; with ``first``, its probability is read from the first answer token's top
    logprobs.

    >>> reply = _Reply("Risposta breve:", None)
    >>> reply.add("Risposta", []), reply.add(" breve: Andrii", []), reply.add(" Hnatov", []), reply.end()
    ('', ' Andrii', ' Hnatov', '')
    >>> _Reply("Risposta breve:", None).add("Andrii Hnatov", [])
    'Andrii Hnatov'
    >>> _Reply("Short answer:", None).add("**Short answer:** No", [])
    ' No'

    """

    def __init__(self, label: str, first: FirstToken | None):
        self.label = label.strip().casefold()
        self.first = first
        self.raw = ""
        self.start: int | None = None if self.label else 0  # where the answer starts in ``raw``
        self.shown = 0  # characters of ``raw`` given out
        self.tokens: list[tuple[int, dict]] = []  # (position in raw, logprob entry) of the first tokens

    def add(self, text: str, entries: Sequence[dict]) -> str:
        position = len(self.raw)
        for entry in entries:
            token = entry.get("token") if isinstance(entry.get("token"), str) else ""
            if self.first is not None and self.first.probability is None and len(self.tokens) < 64:
                self.tokens.append((position, entry))
            position += len(token)
        self.raw += text
        if self.start is None:
            self.start = self._label_end()
            if self.start is None:
                return ""
            self.shown = self.start
        self._read_first()
        out, self.shown = self.raw[self.shown :], len(self.raw)
        return out

    def end(self) -> str:
        if self.start is None:  # the reply stopped inside the label: it holds no answer
            self.start = self.shown = len(self.raw)
        self._read_first()
        return ""

    def _label_end(self) -> int | None:
        skipped = _MARKUP.match(self.raw).end()  # spaces, and Markdown's ** or ## around a label
        head = self.raw[skipped:]
        if head[: len(self.label)].casefold() == self.label:
            end = skipped + len(self.label)
            return end + len(re.match(r"[*_]*", self.raw[end:]).group(0))
        if self.label.startswith(head.casefold()):  # may still become the label
            return None
        return 0  # no label: the whole reply is the answer

    def _read_first(self) -> None:
        if self.first is None or self.first.probability is not None or self.start is None:
            return
        for position, entry in self.tokens:
            token = entry.get("token") if isinstance(entry.get("token"), str) else ""
            if position + len(token) <= self.start:
                continue
            target = self.raw[position : self.start] + self.first.text
            self.first.probability = _probability(entry, target, at_reply_start=position == 0)
            return


def _probability(entry: dict, target: str, at_reply_start: bool) -> float | None:
    """The probability of ``target``'s first token among the top logprobs of ``entry``: the longest token
    that starts ``target`` (at the reply's start, also ``target`` without its leading space). A token outside
    the top ones is less likely than every one of them: the least of them bounds it.

    >>> entry = {"top_logprobs": [{"token": " N", "logprob": -3.0}, {"token": " Non", "logprob": -1.0},
    ...                           {"token": " Andrii", "logprob": -0.5}]}
    >>> round(_probability(entry, " Non lo so", False), 4), _probability({"top_logprobs": []}, "x", False)
    (0.3679, None)
    """
    tops = [
        (top["token"], float(top["logprob"]))
        for top in entry.get("top_logprobs") or []
        if isinstance(top, dict) and isinstance(top.get("token"), str) and isinstance(top.get("logprob"), int | float)
    ]
    if not tops:
        return None
    for wanted in (target, target.lstrip()) if at_reply_start else (target,):
        matching = [(len(token), logprob) for token, logprob in tops if token and wanted.startswith(token)]
        if matching:
            return math.exp(max(matching)[1])
    return math.exp(min(logprob for _, logprob in tops))


def _content(choice: dict, where: str) -> str:
    text = choice["delta"].get("content")
    if text is None:
        return ""
    if not isinstance(text, str):
        raise ModelError(f"the answer server at {where} sent a reply whose content is not text; check --llm")
    return text


def _token_entries(choice: dict) -> list[dict]:
    logprobs = choice.get("logprobs")
    entries = logprobs.get("content") if isinstance(logprobs, dict) else None
    return [e for e in entries if isinstance(e, dict)] if isinstance(entries, list) else []


def _loads(text: str, generator: OpenAIGenerator):
    try:
        return json.loads(text)
    except ValueError:
        raise generator._garbage(text) from None


def _error_text(body: str) -> str:
    """The message of an error reply (OpenAI's ``error.message``, FastAPI's ``detail``), cleaned and cut."""
    try:
        data = json.loads(body)
    except ValueError:
        data = None
    if isinstance(data, dict):
        error = data.get("error")
        found = error.get("message") if isinstance(error, dict) else error or data.get("detail") or data.get("message")
        if found:
            body = found if isinstance(found, str) else json.dumps(found)
    return _clean(body)[:300]


def _clean(text: str) -> str:
    return " ".join(re.sub(r"[\x00-\x1f\x7f]", " ", text).split())
