"""The chat page's callbacks and rendering, driven by a fake assistant over a fake-embedder index (fast)."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest
from click.testing import CliRunner
from rag.ui.strings import STRINGS
from rag.ui.view import (
    Turn,
    chat_messages,
    history_pairs,
    sources_html,
)

from rag.errors import InputError, RagError
from rag.index.catalog import write_examples
from rag.index.indexer import build_index
from rag.index.retriever import Retriever
from rag.render import highlight, quote_span
from rag.sources.ingest import load_documents
from rag.types import Answer, Citation

from tests.conftest import ROOT, SEEDS, UMEROV_DOC, write

IT, EN = STRINGS["it"], STRINGS["en"]


class FakeAssistant:
    """Plugs in like ``rag.answer.assistant.Assistant``: real retrieval (fake embedder), canned generation.

    The answer is the retrieved passage's sentence that shares most words with the query, streamed
    word by word, cited as [1]. Follow-ups are searched together with the previous question. Questions
    about Mars ("marte", "mars") are refused; "guasto" raises a RagError.
    """

    def __init__(self, retriever: Retriever):
        self.retriever = retriever
        self.calls: list[dict] = []

    def ask_stream(self, question, history=(), k=None, max_tokens=None, filters=None):
        self.calls.append({"question": question, "history": list(history), "k": k, "max_tokens": max_tokens})
        if filters:
            self.calls[-1]["filters"] = filters
        if "guasto" in question:
            raise RagError("the model file is damaged; run `rag setup --force`")
        query = f"{history[-1][0]} {question}" if history else question
        hits = self.retriever.search(query, k=k or 4, filters=filters)
        if any(w in question.lower() for w in ("marte", "mars")) or not hits:
            yield Answer(
                question,
                "Le fonti disponibili non contengono questa informazione.",
                refused=True,
                query=query,
                passages=list(hits),
            )
            return
        top = hits[0]
        words = set(re.findall(r"\w+", query.lower()))
        sentence = max(
            re.split(r"(?<=[.!?])\s+", top.text), key=lambda s: len(words & set(re.findall(r"\w+", s.lower())))
        )
        pieces = sentence.split(" ")
        for n in range(1, len(pieces) + 1):
            yield Answer(question, " ".join(pieces[:n]), query=query, passages=list(hits), done=False)
        start = top.start + top.text.index(sentence)
        citation = Citation(
            1,
            top.chunk_id,
            top.doc_id,
            top.title,
            top.date,
            top.place,
            sentence,
            start,
            start + len(sentence),
            top.text,
            top.score,
        )
        yield Answer(question, f"{sentence} [1]", citations=[citation], query=query, passages=list(hits), done=True)


@pytest.fixture
def app_module():
    from rag.ui import app

    return app


@pytest.fixture
def seed_index(tmp_path, fake_embedder):
    build_index(load_documents([SEEDS]), tmp_path / "index" / "seeds", fake_embedder)
    return tmp_path / "index" / "seeds"


@pytest.fixture
def factory(seed_index, fake_embedder):
    made = []

    def make(index, model):
        assistant = FakeAssistant(Retriever.load(index, embedder=fake_embedder))
        assistant.model = model
        made.append(assistant)
        return assistant

    make.made = made
    return make


@pytest.fixture
def controller(app_module, factory):
    return app_module.ChatController(app_module.Assistants(factory), "it")


def ask(controller, question, turns=(), index="seeds", k=4, model="qwen2.5-1.5b-instruct", length="medium"):
    return list(controller.respond(question, list(turns), index, k, model, length))


# ---- the chat callback ------------------------------------------------------------------------------
def test_answer_streams_then_shows_markers_and_highlighted_sources(controller):
    steps = ask(controller, "Chi accompagnava Umerov a Bruxelles?")
    assert len(steps) > 5, "the answer must arrive in several steps"
    first_messages, first_panel, _, box = steps[0]
    assert first_messages[-1]["content"] == f"_{IT['searching']}_" and box == ""
    partials = [s[0][-1]["content"] for s in steps[1:-1]]
    assert all(p.endswith("▍") for p in partials)
    assert len(partials[-1]) > len(partials[0])
    messages, panel, turns, box = steps[-1]
    assert [m["role"] for m in messages] == ["user", "assistant"]
    assert "Hnatov" in messages[-1]["content"] and messages[-1]["content"].endswith(r"[\[1\]](#src-1)")
    assert turns[-1].status == "answered" and box == ""
    assert f'data-doc="{UMEROV_DOC}"' in panel and "[1]" in panel
    assert "3 dicembre 2025" in panel and "Roma" in panel and "1° per pertinenza" in panel and "punteggio" not in panel
    assert re.search(r"<mark>[^<]*Hnatov[^<]*</mark>", panel)


def test_settings_reach_the_pipeline(controller, factory):
    ask(controller, "Chi accompagnava Umerov a Bruxelles?", k=2, length="short")
    call = factory.made[0].calls[-1]
    assert call["k"] == 2 and call["max_tokens"] == 60 and call["history"] == []


def test_follow_up_gets_history_and_panel_shows_rewritten_query(controller, factory):
    *_, (_, _, turns, _) = ask(controller, "Chi accompagnava Umerov a Bruxelles?")
    *_, (messages, panel, turns, _) = ask(controller, "E chi lo accompagnava?", turns)
    call = factory.made[0].calls[-1]
    assert call["history"] == [("Chi accompagnava Umerov a Bruxelles?", turns[0].answer)]
    assert len(messages) == 4 and "Hnatov" in messages[-1]["content"]
    assert IT["rewritten"] in panel and "Chi accompagnava Umerov a Bruxelles? E chi lo accompagnava?" in panel


def test_refusal_is_shown_as_a_refusal_not_an_error(controller):
    *_, (messages, panel, turns, _) = ask(controller, "Chi ha vinto la corsa su Marte?")
    assert turns[-1].status == "refused"
    assert messages[-1]["content"] == f"ℹ _{IT['refused']}_"
    assert "⚠" not in messages[-1]["content"] and IT["error"] not in messages[-1]["content"]
    assert IT["refused_panel"] in panel and IT["consulted"] in panel and "<mark>" not in panel


def test_refused_turn_is_kept_in_history_but_error_is_not(controller, factory):
    *_, (_, _, turns, _) = ask(controller, "Chi è andato su Marte?")
    *_, (messages, panel, turns, _) = ask(controller, "guasto totale", turns)
    assert turns[-1].status == "error" and messages[-1]["content"].startswith("⚠")
    assert "rag setup --force" in messages[-1]["content"]
    *_, (messages, _, turns, _) = ask(controller, "Chi accompagnava Umerov a Bruxelles?", turns)
    assert turns[-1].status == "answered", "the page keeps working after an error"
    assert [q for q, _ in factory.made[0].calls[-1]["history"]] == ["Chi è andato su Marte?"]


def test_unexpected_exception_is_shown_and_logged(app_module, seed_index, caplog):
    class Broken:
        def ask_stream(self, *a, **k):
            raise ZeroDivisionError("boom")
            yield

    controller = app_module.ChatController(app_module.Assistants(lambda i, m: Broken()), "it")
    *_, (messages, _, turns, _) = ask(controller, "Chi?")
    assert turns[-1].status == "error" and "ZeroDivisionError: boom" in messages[-1]["content"]
    assert "answering 'Chi?' failed" in caplog.text


def test_empty_question_does_not_call_the_pipeline(controller, factory):
    steps = ask(controller, "   ")
    assert len(steps) == 1 and steps[0][0] == [] and steps[0][2] == []
    assert not factory.made or not factory.made[0].calls


def test_clicking_a_message_shows_that_answers_sources(controller):
    *_, (_, first_panel, turns, _) = ask(controller, "Chi accompagnava Umerov a Bruxelles?")
    *_, (_, second_panel, turns, _) = ask(controller, "Quando arriva Mark Rutte a Kiev?", turns)
    assert first_panel != second_panel
    assert controller.show_sources(turns, 0) == first_panel  # the first question
    assert controller.show_sources(turns, 1) == first_panel  # its answer
    assert controller.show_sources(turns, 3) == second_panel
    assert controller.show_sources(turns, [2, 0]) == second_panel
    assert controller.show_sources(turns, 99) == second_panel


def test_clear_resets_everything(controller):
    messages, panel, turns, box = controller.clear()
    assert messages == [] and turns == [] and box == "" and IT["sources_empty"] in panel


def test_models_load_once_and_another_model_loads_on_first_use(app_module, factory):
    assistants = app_module.Assistants(factory)
    controller = app_module.ChatController(assistants, "it")
    assistants.get("seeds", "qwen2.5-1.5b-instruct")
    ask(controller, "Chi accompagnava Umerov?")
    ask(controller, "Chi è Rutte?")
    assert len(factory.made) == 1
    steps = ask(controller, "Chi è Rutte?", model="qwen2.5-0.5b-instruct")
    assert "qwen2.5-0.5b-instruct" in steps[0][1], "the page says a model is being loaded"
    assert [a.model for a in factory.made] == ["qwen2.5-1.5b-instruct", "qwen2.5-0.5b-instruct"]


def test_english_page(app_module, factory):
    controller = app_module.ChatController(app_module.Assistants(factory), "en")
    *_, (messages, panel, _, _) = ask(controller, "What is on Mars?")
    assert messages[-1]["content"] == f"ℹ _{EN['refused']}_" and EN["refused_panel"] in panel
    with pytest.raises(InputError, match="unknown UI language 'fr'"):
        app_module.ChatController(app_module.Assistants(factory), "fr")


# ---- adding articles --------------------------------------------------------------------------------
NEW_ARTICLE = (
    "Milano, 5 marzo 2026 – La sindaca di Pavia, Giulia Ferraresi, ha inaugurato il nuovo ponte "
    "pedonale sul Ticino insieme all'ingegnere Marco Bellandi, che lo ha progettato.\n"
)


def test_added_article_can_be_asked_about(controller, tmp_path):
    path = write(tmp_path / "upload" / "ponte.txt", NEW_ARTICLE)
    seen = []
    status = controller.add_files([str(path)], "seeds", "qwen2.5-1.5b-instruct", lambda f, desc: seen.append(f))
    assert status.startswith("✓") and "Aggiunti: 1 ·" in status and "«seeds»" in status
    assert seen == sorted(seen) and seen[-1] == 1.0
    *_, (messages, panel, _, _) = ask(controller, "Chi ha progettato il ponte pedonale sul Ticino?")
    assert "Bellandi" in messages[-1]["content"] and 'data-doc="ponte.txt"' in panel
    assert "5 marzo 2026" in panel and "Milano" in panel


def test_other_loaded_assistants_see_added_articles(controller, tmp_path):
    ask(controller, "Chi è Rutte?", model="qwen2.5-0.5b-instruct")
    controller.add_files([str(write(tmp_path / "up" / "ponte.txt", NEW_ARTICLE))], "seeds", "qwen2.5-1.5b-instruct")
    *_, (_, panel, _, _) = ask(controller, "Chi ha progettato il ponte sul Ticino?", model="qwen2.5-0.5b-instruct")
    assert 'data-doc="ponte.txt"' in panel


@pytest.mark.parametrize(
    "name, content, message",
    [
        (
            "rotto.jsonl",
            '{"id": "a", "text": "Testo valido."}\n{"id": "b", "text": \n',
            "rotto.jsonl:2: not valid JSON",
        ),
        ("senza_testo.jsonl", '{"id": "a"}\n', "field 'text' is missing"),
        ("foto.png", b"\x89PNG\r\n\x1a\n\x00\x01", "foto.png: tipo di file non accettato"),
        ("rotto.pdf", b"%PDF-1.4 \x00\x01", "rotto.pdf: not a readable PDF ("),  # a PDF is read, a broken one refused
        ("binario.txt", b"\x00\x01\x02ciao", "binario.txt: looks like a binary file"),
        ("vuoto.txt", "   \n", "vuoto.txt: il file è vuoto"),
    ],
)
def test_bad_upload_gives_a_readable_message_and_changes_nothing(
    controller, seed_index, tmp_path, name, content, message
):
    good = write(tmp_path / "upload" / "ponte.txt", NEW_ARTICLE)
    bad = write(tmp_path / "upload" / name, content)
    before = (seed_index / "meta.json").read_text()
    status = controller.add_files([str(good), str(bad)], "seeds", "qwen2.5-1.5b-instruct")
    assert status.startswith("⚠") and IT["add_failed"] in status and message in status
    assert str(tmp_path) not in status, "temporary upload paths are replaced by file names"
    assert (seed_index / "meta.json").read_text() == before
    assistant = controller.assistants.get("seeds", "qwen2.5-1.5b-instruct")
    assistant.retriever.reload()
    assert "ponte.txt" not in assistant.retriever.store.doc_ids()
    assert json.loads(before)["documents"] == 2


def test_add_without_files_says_so(controller):
    assert controller.add_files([], "seeds", "qwen2.5-1.5b-instruct") == f"⚠ {IT['add_none']}"
    assert controller.add_files(None, "seeds", "qwen2.5-1.5b-instruct") == f"⚠ {IT['add_none']}"


# ---- the page as a whole ----------------------------------------------------------------------------
def test_build_app_preloads_once_and_wires_the_page(app_module, factory, seed_index):
    write_examples(seed_index, ["Chi accompagnava Umerov a Bruxelles?", "Quando arriva Mark Rutte a Kiev?"])
    demo = app_module.build_app(factory, index="seeds", lang="it")
    assert len(factory.made) == 1, "models load at start"
    config = demo.get_config_file()
    kinds = {c["type"] for c in config["components"]}
    assert {"chatbot", "textbox", "html", "accordion", "uploadbutton", "slider", "radio", "dropdown"} <= kinds
    labels = {c["props"].get("label") for c in config["components"]}
    assert {IT["settings"], IT["add_title"], IT["index"], IT["passages"], IT["model"], IT["length"]} <= labels
    chatbot = next(c for c in config["components"] if c["type"] == "chatbot")
    examples = [e["text"] for e in chatbot["props"]["examples"]]  # the index's own (rag index examples)
    assert examples == ["Chi accompagnava Umerov a Bruxelles?", "Quando arriva Mark Rutte a Kiev?"]
    textbox = next(c for c in config["components"] if c["type"] == "textbox")
    assert textbox["props"]["placeholder"] == IT["placeholder"]
    api_names = {d.get("api_name") for d in config["dependencies"]}
    assert {"ask", "add_articles", "clear"} <= api_names
    ask_dep = next(d for d in config["dependencies"] if d.get("api_name") == "ask")
    add_dep = next(d for d in config["dependencies"] if d.get("api_name") == "add_articles")
    assert ask_dep["queue"] is True and ask_dep["types"]["generator"] is True
    # one answer at a time; uploads one at a time too, in a queue of their own so questions go on meanwhile
    for dep, group in ((ask_dep, "assistant"), (add_dep, "ingest")):
        fn = demo.fns[dep["id"]]
        assert fn.concurrency_limit == 1 and fn.concurrency_id == group
    assert len(factory.made) == 1


def test_available_indexes_lists_built_ones(app_module, seed_index):
    assert app_module.available_indexes("seeds") == ["seeds"]
    assert app_module.available_indexes("other") == ["other", "seeds"]


# ---- pure rendering helpers -------------------------------------------------------------------------
def test_quote_span_prefers_offsets_then_text_then_loose_whitespace():
    passage = "Umerov è a Bruxelles. Sarà con Hnatov. Sarà con Hnatov."
    assert quote_span(passage, "Sarà con Hnatov.", 1039, 1000) == (39, 55)  # the offsets pick the 2nd one
    assert quote_span(passage, "Sarà con Hnatov.", 5, 1000) == (22, 38)  # wrong offsets: found in the text
    assert quote_span("Sarà  con\nHnatov.", "Sarà con Hnatov.") == (0, 17)
    assert quote_span(passage, "Rutte") is None and quote_span(passage, "") is None


def test_highlight_escapes_html():
    assert highlight("a <b> & c", (6, 7)) == "a &lt;b&gt; <mark>&amp;</mark> c"
    assert highlight("<x>", None) == "&lt;x&gt;"


def test_sources_html_escapes_titles_and_marks_the_quote():
    c = Citation(
        2,
        "d::0",
        "d<1>",
        "Titolo <script>",
        "2026-02-02",
        "Kiev",
        "Rutte sarà a Kiev",
        0,
        17,
        "Rutte sarà a Kiev domani.",
        0.0312,
    )
    html = sources_html(Answer("Quando?", "Domani [2].", citations=[c], query="Quando?"), IT)
    assert "<script>" not in html and "Titolo &lt;script&gt;" in html
    assert "<mark>Rutte sarà a Kiev</mark> domani." in html and "2 febbraio 2026 · Kiev</div>" in html
    assert IT["rewritten"] not in html


def test_chat_messages_and_history():
    turns = [Turn("a", "risposta [1]", "answered"), Turn("b", "", "pending"), Turn("c", "x", "error")]
    messages = chat_messages(turns, IT)
    assert messages[1]["content"] == r"risposta [\[1\]](#src-1)" and messages[3]["content"] == f"_{IT['searching']}_"
    assert messages[5]["content"].startswith(f"⚠ **{IT['error']}:**")
    assert history_pairs(turns) == [("a", "risposta [1]")]


def test_strings_exist_in_every_language():
    assert set(IT) == set(EN)
    assert all(value.strip() for table in STRINGS.values() for value in table.values())


# ---- the command --------------------------------------------------------------------------------
def imported_after(statement: str, modules=("gradio", "torch")) -> list[str]:
    """Which of ``modules`` a fresh Python has imported after running ``statement``."""
    code = f"import sys; {statement}; print(' '.join(m for m in {list(modules)!r} if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"{statement!r} failed:\n{done.stderr[-3000:]}"
    return done.stdout.split()


def test_ui_command_help_and_lazy_imports():
    from rag.cli.ui import ui

    result = CliRunner().invoke(ui, ["--help"])
    assert result.exit_code == 0 and "--index" in result.output and "--port" in result.output
    assert imported_after("import rag.cli.ui") == []


def test_the_page_callbacks_and_serving_load_without_gradio():
    """``rag.ui.controller`` and ``rag.ui.server`` import no gradio; ``rag.ui.app`` re-exports what entry points use."""
    assert imported_after("import rag.ui.controller, rag.ui.server", ["gradio"]) == []
    import rag.ui.app as app
    from rag.ui import controller, server

    assert app.ChatController is controller.ChatController and app.launch_app is server.launch_app
    assert app.theme is server.theme and app.CSS is server.CSS and app.tools.SCROLL_JS


# ---- served: several people at once -----------------------------------------------------------------
def test_simultaneous_questions_are_queued_not_crashed(app_module, factory):
    """Two browsers ask at once through the real server: both get answers, never two generations at once."""
    import socket
    import threading
    import time

    from gradio_client import Client

    state = {"running": 0, "most": 0}
    lock = threading.Lock()

    class Counting(FakeAssistant):
        def ask_stream(self, *args, **kwargs):
            with lock:
                state["running"] += 1
                state["most"] = max(state["most"], state["running"])
            try:
                for answer in super().ask_stream(*args, **kwargs):
                    time.sleep(0.01)
                    yield answer
            finally:
                with lock:
                    state["running"] -= 1

    demo = app_module.build_app(lambda i, m: Counting(factory(i, m).retriever), index="seeds")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    app_module.launch_app(demo, host="127.0.0.1", port=port, block=False, quiet=True)
    try:
        clients = [Client(f"http://127.0.0.1:{port}/", verbose=False) for _ in range(3)]
        jobs = [
            c.submit(
                "Chi accompagnava Umerov a Bruxelles?", "seeds", 4, "qwen2.5-1.5b-instruct", "short", api_name="/ask"
            )
            for c in clients
        ]
        results = [job.result(timeout=60) for job in jobs]
    finally:
        demo.close()
    for messages, panel, box in results:
        assert "Hnatov" in messages[-1]["content"][0]["text"] and UMEROV_DOC in panel and box == ""
    assert state["most"] == 1


def test_refusal_panel_says_why_in_the_page_language():
    answer = Answer("Chi ha vinto?", "", refused=True, refusal_reasons=["weak retrieval", "answer not grounded"])
    panel = sources_html(answer, IT)
    assert f"{IT['why']}: {IT['why:weak retrieval']}; {IT['why:answer not grounded']}." in panel
    assert EN["why:weak retrieval"] in sources_html(answer, EN)
    assert IT["why"] not in sources_html(Answer("Chi ha vinto?", "", refused=True), IT)  # no reasons, no line


def test_every_refusal_reason_is_worded_in_every_page_language():
    from rag.answer.verify import CHECKS, REASONS, Thresholds
    from rag.types import Evidence

    everything = Evidence(
        coverage=0.0,
        dense=0.0,
        support=0.0,
        model_refused=True,
        wrong_type=True,
        unnamed=["Giro"],
        cited=False,
        adds_nothing=True,
        verbatim=False,
    )
    Thresholds(min_dense=0.5).refuse(everything)
    unsure = Evidence(coverage=1.0, doubt=0.9)  # nearly said "Non lo so" (a model that refused is not unsure)
    Thresholds().refuse(unsure)
    assert set(everything.reasons) | set(unsure.reasons) == set(REASONS) == {c.reason.value for c in CHECKS}
    for lang, words in STRINGS.items():
        missing = [r for r in REASONS if f"why:{r}" not in words]
        assert not missing, f"{lang}: no wording for {missing}"
