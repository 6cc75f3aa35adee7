"""The chat page: a thin Gradio shell over ``rag.answer.assistant.Assistant``: the layout and its event wiring.

Callbacks only wire page inputs to the library, through ``rag.ui.controller.ChatController`` (plain
methods, tested with a fake assistant and no server); ``rag.ui.server`` has the look and ``launch_app``.
``rag ui`` and ``rag serve`` reach all of it through this module.

    rag ui --index seeds
"""

from __future__ import annotations

import os

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # offline: no telemetry calls

import gradio as gr  # noqa: E402
from rag.ui import tools  # noqa: E402
from rag.ui.assistants import AssistantFactory, Assistants, available_indexes, load_assistant  # noqa: E402
from rag.ui.controller import ChatController  # noqa: E402
from rag.ui.server import CSS, launch_app, theme  # noqa: E402
from rag.ui.strings import UPLOAD_KINDS  # noqa: E402
from rag.ui.uploads import UploadLimits  # noqa: E402
from rag.ui.view import documents_html, empty_html  # noqa: E402

from rag.answer.settings import AskSettings  # noqa: E402
from rag.config import DEFAULT_LLM, FAST_LLM  # noqa: E402

UPLOADS_KEPT = 6 * 3600  # seconds gradio keeps an uploaded file (checked hourly)

# What `rag ui`, `rag serve`, notebooks and tests reach through this module (some defined beside it).
__all__ = [
    "CSS",
    "Assistants",
    "ChatController",
    "available_indexes",
    "build_app",
    "launch_app",
    "load_assistant",
    "theme",
    "tools",
]


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
    # Choices of inputs (documents, sources, indexes) are filled when a visitor's page loads, not here: gradio
    # describes its API, with each input's choices, on the page it shows before the login.
    view = controller.catalog(index, model) if preload else None
    examples = view.examples if view else []

    # uploads are indexed when added: gradio's copies older than UPLOADS_KEPT are removed (all at shutdown)
    with gr.Blocks(title=t["page_title"], delete_cache=(3600, UPLOADS_KEPT)) as demo:
        demo.controller = controller  # for tests and notebooks
        gr.Markdown(f"# {t['page_title']}\n{t['subtitle']}", elem_id="header")
        status = gr.Markdown(view.status if view else "", elem_id="status-line")
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
                # A filter with nothing to filter by is not shown: no dates, no date boxes; no sources, no list.
                dated, sourced = (view.dated, bool(view.sources)) if view else (False, False)
                with gr.Accordion(t["filters"], open=False, elem_id="filters", visible=dated or sourced) as filters:
                    with gr.Row(visible=dated, elem_id="date-filters") as dates:
                        date_from = gr.Textbox(label=t["date_from"], placeholder="2026-01-01", elem_id="date-from")
                        date_to = gr.Textbox(label=t["date_to"], placeholder="2026-12-31", elem_id="date-to")
                    source_box = gr.Dropdown(
                        [],
                        value=[],
                        multiselect=True,
                        label=t["source_filter"],
                        elem_id="source-filter",
                        visible=sourced,
                    )
            with gr.Column(scale=2, min_width=300):
                gr.Markdown(f"### {t['sources']}\n{t['sources_hint']}", elem_id="sources-title")
                sources = gr.HTML(empty_html(t), label=t["sources"], show_label=False, elem_id="sources")
        with gr.Row(equal_height=False):
            with gr.Column(scale=3, min_width=320):
                with gr.Accordion(t["settings"], open=False, elem_id="settings"):
                    with gr.Row():
                        index_box = gr.Dropdown(
                            [], value=index, label=t["index"], allow_custom_value=True, elem_id="index-box"
                        )
                        local_choices = (
                            [(t["model_large"], DEFAULT_LLM), (t["model_small"], FAST_LLM)]
                            if model in (DEFAULT_LLM, FAST_LLM)
                            else [(model, model), (t["model_large"], DEFAULT_LLM), (t["model_small"], FAST_LLM)]
                        )
                        model_box = gr.Radio(local_choices, value=model, label=t["model"], elem_id="model-box")
                    with gr.Row():
                        k_box = gr.Slider(1, 10, value=AskSettings.k, step=1, label=t["passages"])
                        length_box = gr.Radio(
                            [(t["length_short"], "short"), (t["length_medium"], "medium"), (t["length_long"], "long")],
                            value="medium",
                            label=t["length"],
                        )
                    # A served reader (an OpenAI-compatible server), for everyone; chosen only from this machine.
                    gr.Markdown(t["llm_help"], elem_id="llm-help")
                    with gr.Row():
                        llm_url = gr.Textbox(
                            label=t["llm_url"], placeholder=t["llm_url_hint"], max_lines=1, elem_id="llm-url"
                        )
                        llm_key = gr.Textbox(label=t["llm_key"], type="password", max_lines=1, elem_id="llm-key")
                    llm_use = gr.Button(t["llm_use"], variant="secondary", size="sm", elem_id="llm-use")
                    llm_status = gr.Markdown(elem_id="llm-status")
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
                    # A list, not a table: title, then date · source · id, readable at any width.
                    docs_table = gr.HTML(documents_html(view.rows if view else [], t), elem_id="docs-table")
                    docs_pick = gr.Dropdown([], value=[], multiselect=True, label=t["docs_pick"], elem_id="docs-pick")
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
            shown = controller.catalog(index_name, model_name)
            return (
                documents_html(shown.rows, t),
                gr.update(choices=shown.choices, value=[]),
                gr.update(choices=shown.sources, value=[], visible=bool(shown.sources)),
                gr.update(examples=[{"text": q} for q in shown.examples]),
                shown.status,
                gr.update(visible=shown.dated or bool(shown.sources)),
                gr.update(visible=shown.dated),
                gr.update() if shown.dated else "",  # a hidden date box must not filter
                gr.update() if shown.dated else "",
            )

        catalog_outputs = [docs_table, docs_pick, source_box, chatbot, status, filters, dates, date_from, date_to]
        # progress (a model may load) is shown on the documents list only: a timer on the status line hid it
        quiet = {"show_progress_on": docs_table, "api_visibility": "private"}
        docs_delete.click(
            controller.delete,
            [docs_pick, index_box, model_box],
            docs_status,
            api_name="delete_documents",
            concurrency_limit=1,
            concurrency_id="assistant",
        ).then(refresh_catalog, [index_box, model_box], catalog_outputs, **quiet)
        index_box.change(refresh_catalog, [index_box, model_box], catalog_outputs, **quiet)
        model_box.change(
            controller.status,
            [index_box, model_box],
            status,
            queue=False,
            show_progress="hidden",
            api_visibility="private",
        )

        def model_choices() -> list[tuple[str, str]]:
            """The model buttons: the served model alone while a server chosen on the page answers."""
            if controller.served:
                return [(t["model_served"].format(model=controller.served), controller.served)]
            return local_choices

        def fill_choices(index_name, model_name):  # on each page load, after the login
            model_name = controller.served or model_name
            return (
                gr.update(choices=available_indexes(index)),
                gr.update(choices=model_choices(), value=model_name),
                *refresh_catalog(index_name, model_name),
            )

        demo.load(
            fill_choices,
            [index_box, model_box],
            [index_box, model_box, *catalog_outputs],
            **quiet,
        )

        def use_server(url, key, index_name, model_name, request: gr.Request):
            client = request.client.host if request is not None and request.client is not None else None
            said, now, line = controller.use_server(url, key, index_name, model_name, client)
            models = gr.update() if now is None else gr.update(choices=model_choices(), value=now)
            return said, models, line, gr.update(value="")  # the key is not kept in the page

        llm_use.click(
            use_server,
            [llm_url, llm_key, index_box, model_box],
            [llm_status, model_box, status, llm_key],
            concurrency_limit=1,
            concurrency_id="assistant",  # the probe and the model's load take turns with answers
            api_visibility="private",
        )

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
        ).then(refresh_catalog, [index_box, model_box], catalog_outputs, **quiet)

        def cancel_upload(request: gr.Request):
            controller.uploads.cancel(request.session_hash)

        cancel_add.click(cancel_upload, None, None, cancels=[adding], queue=False, api_visibility="private")
        demo.unload(cancel_upload)  # closing the page stops its upload
    return demo
