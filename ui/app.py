"""The chat page: a thin Gradio shell over ``rag.answer.assistant.Assistant``.

Callbacks only wire page inputs to the library: answering is ``Assistant.ask_stream``, rendering is
``rag.ui.view``, adding articles is ``rag.index.indexer.add_files``. ``ChatController`` holds the
callbacks as plain methods so tests drive them with a fake assistant and no server.

    rag ui --index seeds
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # offline: no telemetry calls

import gradio as gr  # noqa: E402
from rag.ui import tools  # noqa: E402
from rag.ui.assistants import AssistantFactory, Assistants, available_indexes, load_assistant, redact  # noqa: E402
from rag.ui.strings import LENGTHS, UPLOAD_KINDS, strings  # noqa: E402
from rag.ui.uploads import UploadLimits, Uploads  # noqa: E402
from rag.ui.view import (  # noqa: E402
    Turn,
    chat_messages,
    empty_html,
    history_pairs,
    pending_html,
    source_refs,
    sources_html,
)

from rag.answer.settings import AskSettings  # noqa: E402
from rag.config import DEFAULT_LLM, FAST_LLM  # noqa: E402
from rag.errors import RagError  # noqa: E402
from rag.index import catalog  # noqa: E402

log = logging.getLogger("rag.ui")


class ChatController:
    """The page's callbacks as plain methods (no Gradio objects needed to call them)."""

    def __init__(self, assistants: Assistants, lang: str = "it", limits: UploadLimits | None = None):
        self.assistants = assistants
        self.lang = lang
        self.t = strings(lang)
        self.uploads = Uploads(assistants, self.t, limits or UploadLimits())

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
                turn.answer = answer.text
                yield chat_messages(turns, t), pending_html(question, answer.query, t, t["writing"]), turns, ""
            if final is None:
                raise RagError("the answer pipeline stopped without a final answer")
        except RagError as e:
            turn.status, turn.answer, turn.sources = "error", redact(str(e)), empty_html(t)
            yield chat_messages(turns, t), turn.sources, turns, ""
            return
        except Exception as e:  # shown on the page (without server paths) and logged with its traceback
            log.exception("answering %r failed", question)
            turn.status, turn.answer, turn.sources = "error", redact(f"{type(e).__name__}: {e}"), empty_html(t)
            yield chat_messages(turns, t), turn.sources, turns, ""
            return
        turn.answer, turn.query, turn.short = final.text, final.query, final.short
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

    def catalog(self, index: str, model: str) -> tuple[list[list[str]], list, list[str], list[str]]:
        """What the page shows of the index: (documents table, delete choices, sources, example questions)."""
        store = self.assistants.get(index, model).retriever.store
        return (
            tools.documents_rows(store, self.lang),
            tools.document_choices(store),
            catalog.sources(store),
            catalog.examples_for(store, self.lang),
        )

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


CSS = (Path(__file__).parent / "app.css").read_text(encoding="utf-8")  # the page's own styles


def theme():
    # System fonts: the default theme fetches Google Fonts, which an offline machine cannot reach.
    return gr.themes.Soft(
        primary_hue="blue",
        font=["system-ui", "Segoe UI", "Roboto", "sans-serif"],
        font_mono=["ui-monospace", "monospace"],
    )


def build_app(
    assistant_factory: AssistantFactory = load_assistant,
    index: str = "seeds",
    model: str = DEFAULT_LLM,
    lang: str = "it",
    preload: bool = True,
    limits: UploadLimits | None = None,
) -> gr.Blocks:
    """The page, wired to ``assistant_factory(index, model)``; with ``preload`` the first assistant loads now.

    Only the indexes under the index folder (and ``index``) and the models offered can be chosen.
    """
    assistants = Assistants(
        assistant_factory, models=dict.fromkeys([model, DEFAULT_LLM, FAST_LLM]), start_index=index, lang=lang
    )
    if preload:
        assistants.get(index, model)
    controller = ChatController(assistants, lang, limits)
    t = controller.t
    doc_rows, doc_choices, source_names, examples = controller.catalog(index, model) if preload else ([], [], [], [])

    with gr.Blocks(title=t["page_title"]) as demo:
        demo.controller = controller  # for tests and notebooks
        gr.Markdown(f"# {t['page_title']}\n{t['subtitle']}", elem_id="header")
        turns = gr.State([])
        saved = gr.BrowserState([], storage_key="rag-news-chat")  # the conversation, kept across reloads
        with gr.Row(equal_height=False):
            with gr.Column(scale=3, min_width=320):
                chatbot = gr.Chatbot(
                    label=t["chat_label"],
                    elem_id="chat",
                    height="58vh",
                    min_height=320,
                    placeholder=f"**{t['chat_empty']}**",
                    examples=[{"text": q} for q in examples],
                    buttons=["copy_all"],
                    feedback_options=None,
                    layout="bubble",
                )
                with gr.Row(equal_height=True):
                    question = gr.Textbox(
                        placeholder=t["placeholder"],
                        show_label=False,
                        container=False,
                        lines=1,
                        max_lines=4,
                        autofocus=True,
                        scale=5,
                        min_width=200,
                        elem_id="question",
                    )
                    send = gr.Button(t["send"], variant="primary", scale=1, min_width=90, elem_id="send")
                with gr.Row(equal_height=True):
                    clear = gr.Button(t["clear"], variant="secondary", size="sm", elem_id="clear")
                    export = gr.Button(t["export"], variant="secondary", size="sm", elem_id="export")
                export_status = gr.Markdown(elem_id="export-status")
                export_file = gr.File(label=t["export"], visible=False, interactive=False, elem_id="export-file")
                with gr.Accordion(t["filters"], open=False, elem_id="filters"):
                    with gr.Row():
                        date_from = gr.Textbox(label=t["date_from"], placeholder="2026-01-01", elem_id="date-from")
                        date_to = gr.Textbox(label=t["date_to"], placeholder="2026-12-31", elem_id="date-to")
                    source_box = gr.Dropdown(
                        source_names, value=[], multiselect=True, label=t["source_filter"], elem_id="source-filter"
                    )
            with gr.Column(scale=2, min_width=300):
                gr.Markdown(f"### {t['sources']}\n{t['sources_hint']}", elem_id="sources-title")
                sources = gr.HTML(empty_html(t), label=t["sources"], show_label=False, elem_id="sources")
        with gr.Row(equal_height=False):
            with gr.Column(scale=3, min_width=320):
                with gr.Accordion(t["settings"], open=False, elem_id="settings"):
                    with gr.Row():
                        index_box = gr.Dropdown(
                            available_indexes(index), value=index, label=t["index"], allow_custom_value=True
                        )
                        model_box = gr.Radio(
                            [(t["model_large"], DEFAULT_LLM), (t["model_small"], FAST_LLM)]
                            if model in (DEFAULT_LLM, FAST_LLM)
                            else [(model, model), (t["model_large"], DEFAULT_LLM), (t["model_small"], FAST_LLM)],
                            value=model,
                            label=t["model"],
                        )
                    with gr.Row():
                        k_box = gr.Slider(1, 10, value=AskSettings.k, step=1, label=t["passages"])
                        length_box = gr.Radio(
                            [(t["length_short"], "short"), (t["length_medium"], "medium"), (t["length_long"], "long")],
                            value="medium",
                            label=t["length"],
                        )
            with gr.Column(scale=2, min_width=300):
                with gr.Accordion(t["add_title"], open=False, elem_id="add-articles"):
                    gr.Markdown(t["add_help"])
                    # A button, not a drop zone: its label is ours (Gradio has no Italian for the drop zone).
                    add = gr.UploadButton(
                        t["add_button"], file_count="multiple", file_types=list(UPLOAD_KINDS), elem_id="add"
                    )
                    add_status = gr.Markdown(label=t["add_title"], elem_id="add-status")
                    cancel_add = gr.Button(t["add_cancel"], variant="stop", size="sm", elem_id="cancel-add")
                with gr.Accordion(t["docs_title"], open=False, elem_id="documents"):
                    gr.Markdown(t["docs_help"])
                    docs_table = gr.Dataframe(
                        doc_rows,
                        headers=[t["docs_col_title"], t["docs_col_date"], t["docs_col_source"], t["docs_col_id"]],
                        interactive=False,
                        wrap=True,
                        elem_id="docs-table",
                    )
                    docs_pick = gr.Dropdown(
                        doc_choices, value=[], multiselect=True, label=t["docs_pick"], elem_id="docs-pick"
                    )
                    docs_delete = gr.Button(t["docs_delete"], variant="stop", size="sm", elem_id="docs-delete")
                    docs_status = gr.Markdown(elem_id="docs-status")

        ask_inputs = [question, turns, index_box, k_box, model_box, length_box, date_from, date_to, source_box]
        ask_outputs = [chatbot, sources, turns, question]
        asking = gr.on(
            [question.submit, send.click],
            controller.respond,
            ask_inputs,
            ask_outputs,
            api_name="ask",
            concurrency_limit=1,
            concurrency_id="assistant",  # one model on 2 cores: answers and index writes take turns
        )
        asking.then(tools.saved, turns, saved, queue=False, api_visibility="private")
        demo.load(controller.restore, saved, [chatbot, sources, turns], queue=False, api_visibility="private")

        def export_conversation(turn_list):
            path, status = controller.export(turn_list)
            return gr.update(value=path, visible=path is not None), status

        export.click(export_conversation, turns, [export_file, export_status], queue=False, api_name="export")

        def refresh_catalog(index_name, model_name):
            rows, choices, names, questions = controller.catalog(index_name, model_name)
            return (
                rows,
                gr.update(choices=choices, value=[]),
                gr.update(choices=names),
                gr.update(examples=[{"text": q} for q in questions]),
            )

        catalog_outputs = [docs_table, docs_pick, source_box, chatbot]
        docs_delete.click(
            controller.delete,
            [docs_pick, index_box, model_box],
            docs_status,
            api_name="delete_documents",
            concurrency_limit=1,
            concurrency_id="assistant",
        ).then(refresh_catalog, [index_box, model_box], catalog_outputs, api_visibility="private")
        index_box.change(refresh_catalog, [index_box, model_box], catalog_outputs, api_visibility="private")

        def pick_example(evt: gr.SelectData):
            value = evt.value
            return value.get("text", "") if isinstance(value, dict) else str(value)

        chatbot.example_select(pick_example, None, question, queue=False, api_visibility="private").then(
            controller.respond,
            ask_inputs,
            ask_outputs,
            concurrency_limit=1,
            concurrency_id="assistant",
            api_visibility="private",
        ).then(tools.saved, turns, saved, queue=False, api_visibility="private")

        def select_message(turn_list, evt: gr.SelectData):
            return controller.show_sources(turn_list, evt.index)

        chatbot.select(select_message, turns, sources, queue=False, api_visibility="private")
        clear.click(
            controller.clear, None, [chatbot, sources, turns, question], cancels=[asking], queue=False, api_name="clear"
        ).then(tools.saved, turns, saved, queue=False, api_visibility="private")
        # The chat's own trash icon must forget the conversation too, or follow-ups would use a hidden history.
        chatbot.clear(
            controller.clear,
            None,
            [chatbot, sources, turns, question],
            cancels=[asking],
            queue=False,
            api_visibility="private",
        ).then(tools.saved, turns, saved, queue=False, api_visibility="private")

        def add_files(file_list, index_name, model_name, request: gr.Request, progress=gr.Progress()):  # noqa: B008
            yield from controller.uploads.run(file_list, index_name, model_name, request.session_hash, progress)

        adding = add.upload(
            add_files,
            [add, index_box, model_box],
            add_status,
            api_name="add_articles",
            concurrency_limit=1,
            concurrency_id="ingest",  # apart from the questions, which keep being answered meanwhile
        ).then(refresh_catalog, [index_box, model_box], catalog_outputs, api_visibility="private")

        def cancel_upload(request: gr.Request):
            controller.uploads.cancel(request.session_hash)

        cancel_add.click(cancel_upload, None, None, cancels=[adding], queue=False, api_visibility="private")
        demo.unload(cancel_upload)  # closing the page stops its upload
    return demo


def launch_app(demo: gr.Blocks, host: str = "127.0.0.1", port: int | None = None, block: bool = True, **kwargs):
    """Start the server. Requests wait in one queue, so several people chatting at once take turns."""
    demo.queue(default_concurrency_limit=1, max_size=64)
    return demo.launch(
        server_name=host,
        server_port=port,
        prevent_thread_lock=not block,
        theme=theme(),
        css=CSS,
        js=tools.SCROLL_JS,
        footer_links=[],
        show_error=True,
        **kwargs,
    )
