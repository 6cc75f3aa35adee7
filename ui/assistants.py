"""The assistants the chat page answers with: loaded on first use, shared by every session, bounded.

Only indexes under the index folder (``$RAG_INDEX_DIR``) and the models offered on the page can be
chosen, whatever a browser or an API call sends; at most one assistant is kept per model and at most
``max_models`` models, the least recently used freed first, so choosing index after index does not
load model after model into memory.
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
from rag.errors import InputError
from rag.stores.meta import index_names

log = logging.getLogger("rag.ui")

AssistantFactory = Callable[[str, str], object]  # (index name, model) -> Assistant


def load_assistant(index: str, model: str):
    """The real factory: ``rag.answer.assistant.Assistant.load``."""
    from rag.answer.assistant import Assistant

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
        self._loaded: OrderedDict[str, tuple[str, object]] = OrderedDict()  # model -> (index, assistant)
        self._lock = threading.Lock()

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
        return self._loaded.get(model, (None,))[0] == index

    def loaded(self) -> list[tuple[str, str]]:
        """(index, model) of the assistants in memory, least recently used first."""
        return [(index, model) for model, (index, _) in self._loaded.items()]

    def get(self, index: str, model: str):
        self.check(index, model)
        with self._lock:
            found = self._loaded.get(model)
            if found and found[0] == index:
                self._loaded.move_to_end(model)
                return found[1]
            self._free(model)
            while len(self._loaded) >= self.max_models:
                self._free(next(iter(self._loaded)))
            log.info("loading assistant for index %s, model %s", index, model)
            assistant = self.factory(index, model)
            self._loaded[model] = (index, assistant)
            return assistant

    def _free(self, model: str) -> None:
        if model in self._loaded:
            index, _ = self._loaded.pop(model)
            log.info("freeing the assistant for index %s, model %s", index, model)
            gc.collect()  # the model's memory goes back now, once any answer still using it is done

    def reload_index(self, index: str, done: object = None) -> None:
        """After the index on disk changed, make every other assistant on it see the change."""
        for name, assistant in list(self._loaded.values()):
            if name == index and assistant is not done:
                assistant.retriever.reload()
