"""The assistants the chat page answers with: loaded on first use, shared by every session, bounded.

Only indexes under the index folder (``$RAG_INDEX_DIR``) and the models offered on the page can be
chosen, whatever a browser or an API call sends; at most one assistant is kept per model and at most
``max_models`` models, the least recently used freed first, so choosing index after index does not
load model after model into memory.

The model may run in this process or be served by an OpenAI-compatible server (``Assistants.use_server``,
``rag ui --llm URL``): an assistant is then kept per (model, server address), and the key is never shown.
"""

from __future__ import annotations

import gc
import logging
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from pathlib import Path

from rag.ui.strings import strings

from rag.config import index_root
from rag.errors import InputError, RagError
from rag.stores.meta import index_names

log = logging.getLogger("rag.ui")

AssistantFactory = Callable[..., object]  # (index name, model) -> Assistant; with a server also url=, api_key=


def load_assistant(index: str, model: str | None, url: str | None = None, api_key: str | None = None):
    """The real factory: ``rag.answer.assistant.Assistant.load``; with ``url``, the model that OpenAI-compatible
    server serves (``model`` None: its only one)."""
    from rag.answer.assistant import Assistant

    if url:
        return Assistant.load(index=index, model=model, backend="openai", url=url, api_key=api_key)
    return Assistant.load(index=index, model=model)


def available_indexes(current: str) -> list[str]:
    """Index names under ``$RAG_INDEX_DIR`` (folders with a ``meta.json``, no working copies), plus the current one."""
    names = index_names(index_root())
    return names if current in names else [current, *names]


_PATH = re.compile(r"(?<![\w.])(?:~|\.{1,2})?(?:/[\w.@+~-]+){2,}/?")


def redact(message: str) -> str:
    """``message`` without server paths: each absolute path is cut to its last part (``…/seeds``)."""
    return _PATH.sub(lambda m: "…/" + Path(m.group(0).rstrip("/")).name, message)


class Assistants:
    """Assistants by (index, model), each loaded once and shared by every session.

    ``index`` must be one of the index folder's indexes (or ``start_index``, the one the page was
    started with) and ``model`` one of ``models``; anything else raises ``InputError`` (no path is
    ever opened from a request). Keeps one assistant per model and ``max_models`` models.
    """

    def __init__(
        self,
        factory: AssistantFactory,
        models: Iterable[str] | None = None,
        start_index: str | None = None,
        max_models: int = 2,
        lang: str = "it",
    ):
        self.factory = factory
        self.models = tuple(models) if models is not None else None
        self.start_index = start_index
        self.max_models = max(1, max_models)
        self.t = strings(lang)
        self._loaded: OrderedDict[tuple[str, str | None], tuple[str, object]] = OrderedDict()
        # (model, server address or None) -> (index, assistant)
        self._lock = threading.Lock()
        self._url: str | None = None
        self._api_key: str | None = None

    # ---- the server answering (None: the model runs in this process) -------------------------------------
    def use_server(self, url: str | None, api_key: str | None = None) -> str | None:
        """Answer from now on with the models the OpenAI-compatible server at ``url`` serves (None or "": the
        models in this process again); returns the address as it may be shown (no password).

        The address is checked here (``InputError`` in one line, nothing changed) and the server is reached
        when an assistant is next loaded (``get``): a server that is down or refuses the key is then one
        ``ModelError`` line and the assistants already loaded keep working. Assistants are kept per (model,
        address), so going back to a server or to the local model finds its assistant still loaded.
        Whoever may call this makes this machine send requests to the address given: offer it only to the
        page's administrator (``rag ui --llm URL`` sets it at start).
        """
        from rag.models.openai_generate import server_address, shown_address

        text = (url or "").strip()
        if not text:
            self._url = self._api_key = None
            return None
        try:
            address = server_address(text)
        except RagError as e:
            raise InputError(str(e)) from None
        self._url, self._api_key = address, ((api_key or "").strip() or None)
        return shown_address(address)

    def server(self) -> str | None:
        """The address of the server answering, as it may be shown (no password); None: this process."""
        from rag.models.openai_generate import shown_address

        return shown_address(self._url) if self._url else None

    def _key(self, model: str) -> tuple[str, str | None]:
        return (model, self._url)

    def names(self) -> list[str]:
        names = index_names(index_root())
        if self.start_index and self.start_index not in names:
            names.insert(0, self.start_index)
        return names

    def check(self, index: str, model: str) -> None:
        """Raise ``InputError`` (in the page's language) unless ``index`` and ``model`` may be chosen."""
        if self.models is not None and model not in self.models:
            raise InputError(self.t["no_model"].format(model=model, names=", ".join(self.models)))
        names = self.names()
        if not isinstance(index, str) or index not in names:
            raise InputError(self.t["no_index"].format(index=index, names=", ".join(names) or "—"))

    def is_loaded(self, index: str, model: str) -> bool:
        return self._loaded.get(self._key(model), (None,))[0] == index

    def loaded(self) -> list[tuple[str, str]]:
        """(index, model) of the assistants in memory for the current server (or this process), least
        recently used first."""
        return [(index, model) for (model, url), (index, _) in self._loaded.items() if url == self._url]

    def get(self, index: str, model: str):
        self.check(index, model)
        with self._lock:
            key, url, api_key = self._key(model), self._url, self._api_key
            found = self._loaded.get(key)
            if found and found[0] == index:
                self._loaded.move_to_end(key)
                return found[1]
            self._free(key)
            while len(self._loaded) >= self.max_models:
                self._free(next(iter(self._loaded)))
            where = f" at {self.server()}" if url else ""
            log.info("loading assistant for index %s, model %s%s", index, model, where)
            assistant = self.factory(index, model, url=url, api_key=api_key) if url else self.factory(index, model)
            self._loaded[key] = (index, assistant)
            return assistant

    def _free(self, key: tuple[str, str | None]) -> None:
        if key in self._loaded:
            index, _ = self._loaded.pop(key)
            log.info("freeing the assistant for index %s, model %s", index, key[0])
            gc.collect()  # the model's memory goes back now, once any answer still using it is done

    def reload_index(self, index: str, done: object = None) -> None:
        """After the index on disk changed, make every other assistant on it see the change."""
        for name, assistant in list(self._loaded.values()):
            if name == index and assistant is not done:
                assistant.retriever.reload()
