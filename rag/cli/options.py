"""Options shared by several commands, defined once. Choices are read from the backend registries."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field, replace
from pathlib import Path

import click

from rag.config import DEFAULT_LLM
from rag.errors import RagError


def _writable(folder: bool):
    def check(ctx: click.Context, param: click.Parameter, value):
        """The folder (or a file's folder) that the option names is created now, so that a path that cannot be
        written is said before any work, not after a long run whose results it would lose."""
        if value is None:
            return value
        path = Path(value)
        try:
            (path if folder else path.parent).mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise click.BadParameter(f"{path}: cannot be written there ({e.strerror or e})") from e
        if not folder and path.is_dir():
            raise click.BadParameter(f"{path} is a folder; give a file name")
        return value

    return check


writable_file = _writable(folder=False)  # callback= of an option naming a file to write
writable_folder = _writable(folder=True)  # callback= of an option naming a folder to write into


def out_file_option(help: str):
    """``--out FILE``: a file to write, checked before any work (``writable_file``)."""
    return click.option("--out", type=click.Path(path_type=Path), callback=writable_file, default=None, help=help)


def listen_options(port: int):
    """``--host`` and ``--port`` of a server command, checked before any model loads: a port out of range or
    already taken is said in one line, not after a minute of loading."""

    def check(ctx: click.Context, param: click.Parameter, value: int) -> int:
        import socket

        host = ctx.params.get("host", "127.0.0.1")
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the servers do: TIME_WAIT is fine
            try:
                probe.bind((host, value))
            except OSError as e:
                raise click.BadParameter(f"cannot listen on {host}:{value} ({e.strerror}); choose another port") from e
        return value

    def decorate(func):
        func = click.option(
            "--port",
            default=port,
            show_default=True,
            type=click.IntRange(1, 65535),
            callback=check,
            help="Port to listen on.",
        )(func)
        return click.option(
            "--host",
            default="127.0.0.1",
            show_default=True,
            is_eager=True,  # read before --port, whose check needs it
            help="Address to listen on (0.0.0.0 for the LAN).",
        )(func)

    return decorate


def index_option(
    default: str | None = "seeds", help: str = "Index name under ./index or $RAG_INDEX_DIR (or a path)."
) -> callable:
    return click.option("--index", "-i", "index", default=default, show_default=default is not None, help=help)


def llm_option(func):
    return click.option(
        "--model",
        "-m",
        default=DEFAULT_LLM,
        show_default=True,
        help="Answer model: built-in name, GGUF file or HF folder.",
    )(func)


@dataclass(frozen=True)
class Reader:
    """The answer model a command was told to use: ``model`` run by ``backend`` in this process, or served by
    an OpenAI-compatible server at ``url`` (``backend`` ``openai``; ``model`` None: the server's only one).
    ``api_key`` is never shown (not in ``repr``, nor in ``str``)."""

    model: str | None
    backend: str = "llama-cpp"
    url: str | None = None
    api_key: str | None = field(default=None, repr=False)

    def settings(self) -> dict:
        """Keyword arguments for ``Assistant.load`` (and ``load_generator``): model, backend, url, api_key."""
        served = {"url": self.url, "api_key": self.api_key} if self.url else {}
        return {"model": self.model, "backend": self.backend, **served}

    def served(self) -> Reader:
        """With ``url``: this reader naming the model the server serves (asked now, one ``GET /models``, so a
        server that is down or refuses the key is said before anything loads). Without: itself."""
        if not self.url:
            return self
        from rag.models.openai_generate import served_model

        return replace(self, model=served_model(self.url, self.model, self.api_key))

    def __str__(self) -> str:
        if not self.url:
            return str(self.model)
        from rag.models.openai_generate import shown_address

        return f"{self.model or 'the model'} served at {shown_address(self.url)}"


def server_option_list() -> list:
    """``--llm URL`` ($RAG_LLM_URL) and ``--api-key`` ($RAG_LLM_API_KEY, never shown): one definition."""
    return [
        click.option(
            "--llm",
            "llm_url",
            envvar="RAG_LLM_URL",
            show_envvar=True,
            metavar="URL",
            help="Answer with the model an OpenAI-compatible server serves at URL (llama.cpp server, vLLM, Ollama), "
            "e.g. http://127.0.0.1:8080/v1; see docs/serving.md.",
        ),
        click.option(
            "--api-key",
            envvar="RAG_LLM_API_KEY",
            show_envvar=True,
            show_default=False,
            metavar="KEY",
            help="API key of the --llm server (sent as a Bearer token; never printed).",
        ),
    ]


def server_options(func):
    """``--llm`` and ``--api-key`` alone (for a command whose ``--model`` is its own), given to the command as
    ``server``: ``{"backend": "openai", "url": ..., "api_key": ...}`` (checked), or ``{}`` without ``--llm``."""

    @functools.wraps(func)
    def wrapper(*args, llm_url, api_key, **kwargs):
        return func(*args, server=_served(llm_url, api_key), **kwargs)

    for option in reversed(server_option_list()):
        wrapper = option(wrapper)
    return wrapper


def _served(llm_url: str | None, api_key: str | None) -> dict:
    url = (llm_url or "").strip()
    if not url:
        return {}
    from rag.models.openai_generate import server_address

    try:
        url = server_address(url)
    except RagError as e:
        raise click.BadParameter(str(e).removeprefix("--llm "), param_hint="--llm") from None
    return {"backend": "openai", "url": url, "api_key": (api_key or "").strip() or None}


MODEL_HELP = (
    "Answer model: built-in name, GGUF file or HF folder; with --llm, the name the server serves it under "
    "(default: its only model)."
)


def reader_options(func=None, *, backend: bool = True, model_help: str = MODEL_HELP):
    """``--model``, ``--backend`` (with ``backend=True``), ``--llm URL`` ($RAG_LLM_URL) and ``--api-key``
    ($RAG_LLM_API_KEY), given to the command as one ``reader`` (a ``Reader``). With ``--llm`` the answers
    come from that OpenAI-compatible server (backend ``openai``), and ``--model`` names the served model."""
    if func is None:
        return functools.partial(reader_options, backend=backend, model_help=model_help)
    from rag.backends import REGISTRY  # imports no model library (llama_cpp, torch, transformers)

    backends = list(REGISTRY["generator"])
    options = [
        click.option("--model", "-m", default=None, help=f"{model_help} [default: {DEFAULT_LLM}]"),
        *server_option_list(),
    ]
    if backend:
        options.insert(
            1,
            click.option(
                "--backend",
                type=click.Choice(backends),
                default=None,
                help=f"How the answer model runs. [default: {backends[0]}; openai with --llm]",
            ),
        )

    @functools.wraps(func)  # keeps the options declared below this decorator (click's __click_params__)
    def wrapper(*args, model, llm_url, api_key, **kwargs):
        chosen = kwargs.pop("backend", None) if backend else None
        url = (llm_url or "").strip() or None
        if chosen == "openai" and not url:
            raise click.BadParameter(
                "the openai backend needs the server's address: give --llm URL", param_hint="--backend"
            )
        if url and chosen not in (None, "openai"):
            raise click.BadParameter(
                f"--llm answers with a served model; drop --backend {chosen}", param_hint="--backend"
            )
        if url:
            served = _served(url, api_key)
            reader = Reader(model or None, "openai", served["url"], served["api_key"])
        else:
            reader = Reader(model or DEFAULT_LLM, chosen or backends[0])
        return func(*args, reader=reader, **kwargs)

    for option in reversed(options):
        wrapper = option(wrapper)
    return wrapper


def backend_option(func):
    from rag.backends import REGISTRY  # imports no model library (llama_cpp, torch, transformers)

    return click.option(
        "--backend",
        type=click.Choice(list(REGISTRY["generator"])),
        default=next(iter(REGISTRY["generator"])),
        show_default=True,
        help="How the answer model runs.",
    )(func)


def passage_tokens_option(func):
    from rag.answer.settings import AskSettings

    return click.option(
        "--passage-tokens",
        type=click.IntRange(min=20),
        default=AskSettings.passage_tokens,
        show_default=True,
        help="Prompt budget for passage text in tokens (fewer answers sooner).",
    )(func)


def filter_options(func):
    """--date-from/--date-to/--doc/--source, given to the command as ``filters`` (a ``rag.types.Filters``)."""
    day = click.DateTime(formats=["%Y-%m-%d"])
    options = [
        click.option("--date-from", type=day, help="Only articles dated on or after this day (YYYY-MM-DD)."),
        click.option("--date-to", type=day, help="Only articles dated on or before this day (YYYY-MM-DD)."),
        click.option("--doc", "doc_ids", multiple=True, help="Only this document id (repeatable)."),
        click.option("--source", "sources", multiple=True, help="Only this source (repeatable)."),
    ]

    @functools.wraps(func)  # keeps the options declared below this decorator (click's __click_params__)
    def wrapper(*args, date_from, date_to, doc_ids, sources, **kwargs):
        from rag.types import Filters

        days = [d.date().isoformat() if d else None for d in (date_from, date_to)]
        return func(*args, filters=Filters(*days, doc_ids, sources), **kwargs)

    for option in reversed(options):
        wrapper = option(wrapper)
    return wrapper
