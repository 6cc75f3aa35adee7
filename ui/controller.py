"""The chat page's callbacks as plain methods: ``ChatController``, wired to the page by ``rag.ui.app``.

Answering is ``Assistant.ask_stream``, rendering is ``rag.ui.view``, the everyday tools are ``rag.ui.tools``,
adding articles is ``rag.ui.uploads``. Nothing here imports gradio, so tests drive the callbacks with a fake
assistant and no server.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from rag.ui import tools
from rag.ui.assistants import Assistants, redact
from rag.ui.strings import LENGTHS, MODEL_NAMES, strings
from rag.ui.uploads import UploadLimits, Uploads
from rag.ui.view import (
    Turn,
    chat_messages,
    empty_html,
    history_pairs,
    md_escape,
    pending_html,
    source_refs,
    sources_html,
    status_line,
)

from rag.errors import RagError
from rag.index import catalog

log = logging.getLogger("rag.ui")

# Where the page's reader may be changed from: this machine (the page's administrator), never a visitor elsewhere.
LOCAL_CLIENTS = frozenset({"127.0.0.1", "::1", "localhost"})


@dataclass
class IndexView:
    """What the page shows of an index (``ChatController.catalog``)."""

    rows: list[list[str]]  # the documents: title, date, source, id; latest first
    choices: list[tuple[str, str]]  # the delete picker's (label, id)
    sources: list[str]  # the sources filter's choices: none, no filter shown
    examples: list[str]  # example questions that fit the index
    dated: bool  # whether any document has a date: none, no date filters shown
    status: str  # the status line: index, article count, model


class ChatController:
    """The page's callbacks as plain methods (no Gradio objects needed to call them)."""

    def __init__(self, assistants: Assistants, lang: str = "it", limits: UploadLimits | None = None):
        self.assistants = assistants
        self.lang = lang
        self.t = strings(lang)
        self.uploads = Uploads(assistants, self.t, limits or UploadLimits())
        self.local_models = assistants.models  # the models offered while no server answers
        self.served: str | None = None  # the model a server chosen on the page serves (``use_server``)

    def respond(
        self,
        question: str,
        turns: list[Turn] | None,
        index: str,
        k: int,
        model: str,
        length: str,
        date_from: str | None = None,
        date_to: str | None = None,
        sources: list[str] | None = None,
    ) -> Iterator[tuple[list[dict], str, list[Turn], str]]:
        """Stream an answer: yields (chat messages, sources panel HTML, turns, text box value).

        ``date_from``/``date_to`` (YYYY-MM-DD) and ``sources`` restrict the articles searched."""
        t, turns = self.t, list(turns or [])
        question = (question or "").strip()
        if not question:
            yield chat_messages(turns, t), (turns[-1].sources if turns else empty_html(t)), turns, ""
            return
        history = history_pairs(turns)
        turn = Turn(question)
        turns.append(turn)
        note = t["searching"]
        if not self.assistants.is_loaded(index, model):
            note = t["loading_model"].format(model=model)
        yield chat_messages(turns, t), pending_html(question, "", t, note), turns, ""
        try:
            filters = tools.parse_filters(date_from, date_to, sources, t)
            assistant = self.assistants.get(index, model)
            final = None
            options = {"k": int(k), "max_tokens": LENGTHS[length], "filters": filters or None}
            for answer in assistant.ask_stream(question, history=history, **options):
                if answer.done:
                    final = answer
                    break
                # A partial answer holds only checked text (``Answer``'s contract); until there is some, the
                # page shows what is being done (``status``), never a draft that could still be refused.
                turn.answer, turn.note = answer.text, answer.status
                note = answer.status or (t["writing"] if answer.text else t["searching"])
                yield chat_messages(turns, t), pending_html(question, answer.query, t, note), turns, ""
            if final is None:
                raise RagError("the answer pipeline stopped without a final answer")
        except RagError as e:
            turn.status, turn.answer, turn.sources, turn.note = "error", redact(str(e)), empty_html(t), ""
            yield chat_messages(turns, t), turn.sources, turns, ""
            return
        except Exception as e:  # shown on the page (without server paths) and logged with its traceback
            log.exception("answering %r failed", question)
            turn.status, turn.answer, turn.note = "error", redact(f"{type(e).__name__}: {e}"), ""
            turn.sources = empty_html(t)
            yield chat_messages(turns, t), turn.sources, turns, ""
            return
        turn.answer, turn.query, turn.short, turn.note = final.text, final.query, final.short, ""
        turn.status = "refused" if final.refused else "answered"
        turn.citations = [c.number for c in final.citations]
        turn.refs = source_refs(final)
        turn.sources = sources_html(final, t, self.lang)
        yield chat_messages(turns, t), turn.sources, turns, ""

    def show_sources(self, turns: list[Turn] | None, message_index) -> str:
        """The sources panel of the turn a clicked chat message belongs to (two messages per turn)."""
        turns = turns or []
        if isinstance(message_index, list | tuple):
            message_index = message_index[0]
        if not isinstance(message_index, int) or not 0 <= message_index // 2 < len(turns):
            return turns[-1].sources if turns else empty_html(self.t)
        turn = turns[message_index // 2]
        return turn.sources or pending_html(turn.question, turn.query, self.t, self.t["writing"])

    def clear(self) -> tuple[list[dict], str, list[Turn], str]:
        return [], empty_html(self.t), [], ""

    # ---- the everyday tools (rag.ui.tools) ----------------------------------------------------------
    def restore(self, saved) -> tuple[list[dict], str, list[Turn]]:
        """The conversation kept in this browser, shown again after a reload."""
        turns = tools.restored(saved)
        return chat_messages(turns, self.t), (turns[-1].sources if turns else empty_html(self.t)), turns

    def export(self, turns: list[Turn] | None) -> tuple[str | None, str]:
        """(path of the Markdown file, status line)."""
        done = [turn for turn in turns or [] if turn.status != "pending"]
        if not done:
            return None, f"⚠ {self.t['export_empty']}"
        return str(tools.export_file(done, self.t, self.lang)), ""

    def catalog(self, index: str, model: str) -> IndexView:
        """What the page shows of the index: documents, delete choices, sources, examples, the status line (which
        says what is wrong when the index cannot be read; the rest is then empty)."""
        try:
            assistant = self.assistants.get(index, model)
            store = assistant.retriever.store
            rows = tools.documents_rows(store, self.lang)
        except RagError as e:
            return IndexView([], [], [], [], False, f"⚠ {redact(str(e))}")
        return IndexView(
            rows=rows,
            choices=tools.document_choices(store),
            sources=catalog.sources(store),
            examples=catalog.examples_for(store, self.lang),
            dated=any(row[1] for row in rows),
            status=status_line(index, *self.reader(model, assistant), len(rows), self.t),
        )

    def status(self, index: str, model: str) -> str:
        """The status line for ``index`` and ``model``, without loading anything: the article count is the one
        of an assistant already loaded on ``index`` (left out when there is none)."""
        try:
            self.assistants.check(index, model)
        except RagError as e:
            return f"⚠ {redact(str(e))}"
        loaded = [self.assistants.get(i, m) for i, m in self.assistants.loaded() if i == index]
        count = len(loaded[-1].retriever.store.doc_ids()) if loaded else None
        mine = self.assistants.get(index, model) if self.assistants.is_loaded(index, model) else None
        return status_line(index, *self.reader(model, mine), count, self.t)

    def use_server(
        self, url: str | None, api_key: str | None, index: str, model: str, client: str | None
    ) -> tuple[str, str | None, str]:
        """Answer, for every visitor of the page, with the model the OpenAI-compatible server at ``url`` serves
        (empty: with this machine's models again). Returns (message, the model the page now uses or None when
        nothing changed, status line).

        Only a request from this machine (``client``, the browser's address) may do it: the choice holds for
        everyone, and makes this machine send requests to the address given. The server is asked for its
        model (one, or the page says which it serves) and the assistant is loaded before anything changes
        for the others; a server that is down, refuses the key or serves several models is one line and
        nothing changes. The key is never shown or kept beyond the assistants' use of it.
        """
        t = self.t
        if client not in LOCAL_CLIENTS:
            return f"⚠ {t['llm_only_here']}", None, self.status(index, model)
        text = (url or "").strip()
        if not text:
            self.assistants.use_server(None)
            self.assistants.models, self.served = self.local_models, None
            local = model if self.local_models is None or model in self.local_models else self.local_models[0]
            return f"✓ {t['llm_local']}", local, self.status(index, local)
        from rag.models.openai_generate import served_model, server_address

        key = (api_key or "").strip() or None
        try:
            name = served_model(server_address(text), None, key)
        except RagError as e:
            return f"⚠ {redact(str(e))}", None, self.status(index, model)
        self.assistants.use_server(text, key)
        self.assistants.models, self.served = (name,), name
        try:
            assistant = self.assistants.get(index, name)
        except RagError as e:  # reached a moment ago, failing now: back to this machine, said
            _, local, status = self.use_server("", None, index, model, client)
            return f"⚠ {redact(str(e))} {t['llm_local']}", local, status
        shown, host = self.reader(name, assistant)
        said = t["llm_served"].format(model=md_escape(shown), host=md_escape(host))
        return f"✓ {said}", name, self.status(index, name)

    def reader(self, model: str, assistant=None) -> tuple[str, str]:
        """(name, host) of the reader the status line names. A served reader (its generator has a ``url``, as
        ``rag.models.openai_generate.OpenAIGenerator``) is named by the server's model and its host (never the
        user or password a URL may hold); any other by ``model_name``."""
        generator = getattr(assistant, "generator", None)
        url = getattr(generator, "url", None)
        if not isinstance(url, str) or not url:
            return self.model_name(model), ""
        parts = urlsplit(url)
        host = parts.hostname or ""
        host = f"[{host}]" if ":" in host else host  # an IPv6 address, as written in a URL
        if parts.port:
            host += f":{parts.port}"
        return str(getattr(generator, "name", "") or model), host

    @staticmethod
    def model_name(model: str) -> str:
        """The name the page shows for ``model``: a short one for the offered models, else the file or folder name."""
        return MODEL_NAMES.get(model) or Path(model).name or model

    def delete(self, doc_ids: list[str] | None, index: str, model: str) -> str:
        """Remove the chosen documents from ``index``; returns the status line."""
        try:
            assistant = self.assistants.get(index, model)
            status = tools.delete_documents(assistant.retriever.store.path, doc_ids or [], index, self.t)
            assistant.retriever.reload()
        except RagError as e:
            return f"⚠ {e}"
        self.assistants.reload_index(index, done=assistant)
        return f"✓ {status}"

    def add_files(self, files, index: str, model: str, progress=None) -> str:
        """Add uploaded files to ``index``; returns the Markdown status line shown under the upload box."""
        *_, status = self.uploads.run(files, index, model, progress=progress, poll=0.05)
        return status
