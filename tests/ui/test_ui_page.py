"""What the chat page shows at a glance and never shows, driven through the controller with small fakes (fast):
progress instead of drafts, errors never exported as answers, PDF and Word uploads, the status line, hidden
empty filters, the documents list."""

from __future__ import annotations

import pytest
from rag.ui.assistants import Assistants
from rag.ui.controller import ChatController
from rag.ui.strings import STRINGS

from rag.errors import RagError
from rag.index.indexer import build_index
from rag.index.retriever import Retriever
from rag.sources.ingest import load_documents
from rag.types import Answer

from tests.conftest import SEEDS, write

IT = STRINGS["it"]
MODEL = "qwen2.5-1.5b-instruct"
FAST = "qwen2.5-0.5b-instruct"


class Scripted:
    """An assistant that yields the given answers (or raises ``RagError`` for a question with "guasto")."""

    def __init__(self, answers: list[Answer]):
        self.answers = answers

    def ask_stream(self, question, history=(), k=None, max_tokens=None, filters=None):
        if "guasto" in question:
            raise RagError("the model file is damaged; run `rag setup --force`")
        yield from self.answers


def controller_with(answers: list[Answer], lang: str = "it") -> ChatController:
    return ChatController(Assistants(lambda index, model: Scripted(answers), start_index="seeds"), lang)


def ask(controller: ChatController, question: str, turns=()):
    return list(controller.respond(question, list(turns), "seeds", 4, MODEL, "medium"))


def test_progress_is_shown_while_nothing_is_checked_then_only_the_refusal():
    question = "Quanti giorni durerà la visita di Rutte?"
    refusal = Answer(question, "Non lo so.", refused=True, refusal_reasons=["answer not grounded"], query=question)
    controller = controller_with(
        [
            Answer(question, "", query=question, done=False, status="Cerco negli articoli…"),
            Answer(question, "", query=question, done=False, status="Leggo 3 articoli…"),
            refusal,
        ]
    )
    steps = ask(controller, question)
    shown = [messages[-1]["content"] for messages, *_ in steps]
    panels = [panel for _, panel, *_ in steps]
    assert shown == [
        f"_{IT['searching']}_",
        "_Cerco negli articoli…_",
        "_Leggo 3 articoli…_",
        f"ℹ _{IT['refused']}_",
    ]
    assert "Leggo 3 articoli…" in panels[2] and IT["refused_panel"] in panels[-1]
    turn = steps[-1][2][-1]
    assert turn.status == "refused" and turn.note == ""


def test_checked_text_grows_in_place_after_the_status():
    question = "Chi accompagnava Umerov?"
    controller = controller_with(
        [
            Answer(question, "", done=False, status="Leggo 2 articoli…"),
            Answer(question, "Andrii Hnatov.", done=False),
            Answer(question, "Andrii Hnatov [1].", short="Andrii Hnatov"),
        ]
    )
    shown = [messages[-1]["content"] for messages, *_ in ask(controller, question)]
    assert shown[1:] == ["_Leggo 2 articoli…_", "Andrii Hnatov. ▍", "**Andrii Hnatov** [\\[1\\]](#src-1)."]


def test_an_error_is_exported_as_an_error_not_as_an_answer():
    question = "Chi accompagnava Umerov?"
    controller = controller_with([Answer(question, "Andrii Hnatov [1].")])
    *_, (_, _, turns, _) = ask(controller, question)
    *_, (messages, _, turns, _) = ask(controller, "guasto totale", turns)
    assert turns[-1].status == "error" and messages[-1]["content"].startswith(f"⚠ **{IT['error']}:**")
    path, status = controller.export(turns)
    text = open(path, encoding="utf-8").read()
    assert status == "" and "## Chi accompagnava Umerov?\n\nAndrii Hnatov [1].\n" in text
    assert "## guasto totale\n\nthe model file" not in text, "an error written as if it were the answer"
    error_line = f"> ⚠ **{IT['export_error']}** the model file is damaged; run `rag setup --force`"
    assert f"## guasto totale\n\n{error_line}\n" in text
    # the message appears once, marked: never as a plain paragraph under the question
    assert text.count("the model file is damaged") == 1


# ---- uploads: PDF and Word files ------------------------------------------------------------------
def text_pdf(lines: list[str]) -> bytes:
    """A one-page PDF whose text layer holds ``lines`` (Helvetica, WinAnsi), written by hand: no PDF writer needed."""

    def literal(line: str) -> str:
        return line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")

    stream = ("BT /F1 11 Tf 14 TL 50 780 Td " + " ".join(f"({literal(x)}) Tj T*" for x in lines) + " ET").encode(
        "cp1252"
    )
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 4 0 R >> >> "
        b"/Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
    ]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


@pytest.fixture
def index_controller(tmp_path, fake_embedder):
    """A controller over the seeds indexed with the fake embedder, answering with ``tests.ui.test_ui.FakeAssistant``."""
    from tests.ui.test_ui import FakeAssistant

    build_index(load_documents([SEEDS]), tmp_path / "index" / "seeds", fake_embedder)
    return ChatController(Assistants(lambda i, m: FakeAssistant(Retriever.load(i, embedder=fake_embedder))), "it")


def test_pdf_and_docx_uploads_are_read_and_can_be_asked_about(index_controller, tmp_path):
    import docx

    pdf = write(
        tmp_path / "upload" / "comunicato.pdf",
        text_pdf(
            [
                "Pavia, inaugurato il ponte sul Ticino",
                "Pavia, 5 marzo 2026 – La sindaca di Pavia ha inaugurato il nuovo ponte pedonale",
                "sul Ticino con l'ingegnere Marco Bellandi, che lo ha progettato.",
            ]
        ),
    )
    word = docx.Document()
    word.add_paragraph("Torino, sciopero dei trasporti venerdì")
    word.add_paragraph(
        "Torino, 6 marzo 2026 – Lo sciopero dei tram di venerdì avrà fasce garantite, ha detto Lucia Ferri."
    )
    word.save(tmp_path / "upload" / "sciopero.docx")
    status = index_controller.add_files([str(pdf), str(tmp_path / "upload" / "sciopero.docx")], "seeds", MODEL)
    assert status.startswith("✓") and "Aggiunti: 2 ·" in status, status
    *_, (messages, panel, _, _) = ask(index_controller, "Chi ha progettato il ponte pedonale sul Ticino?")
    assert "Bellandi" in messages[-1]["content"] and 'data-doc="comunicato.pdf"' in panel and "5 marzo 2026" in panel
    *_, (messages, panel, _, _) = ask(index_controller, "Chi ha parlato dello sciopero dei tram a Torino?")
    assert "Lucia Ferri" in messages[-1]["content"] and 'data-doc="sciopero.docx"' in panel


@pytest.mark.parametrize(
    "name, content, said",
    [
        ("foto.png", b"\x89PNG\r\n\x1a\n\x00\x00", IT["bad_type"].format(name="foto.png")),
        ("rotto.pdf", b"%PDF-1.4 \x00\x01", "rotto.pdf"),
    ],
)
def test_a_file_that_cannot_be_read_is_one_line_and_changes_nothing(index_controller, tmp_path, name, content, said):
    bad = write(tmp_path / "upload" / name, content)
    before = (tmp_path / "index" / "seeds" / "meta.json").read_text()
    status = index_controller.add_files([str(bad)], "seeds", MODEL)
    assert status.startswith("⚠") and IT["add_failed"] in status and said in status, status
    assert "Traceback" not in status and str(tmp_path) not in status
    assert (tmp_path / "index" / "seeds" / "meta.json").read_text() == before


# ---- the page at a glance: status line, filters, documents ----------------------------------------
DATED = "Pavia, 5 marzo 2026 – La sindaca ha inaugurato il ponte pedonale sul Ticino con l'ingegnere Marco Bellandi.\n"
UNDATED = "Il consiglio comunale ha approvato il bilancio con diciotto voti favorevoli e sei contrari.\n"


def build(tmp_path, fake_embedder, files: dict[str, str], name: str = "seeds"):
    """An index named ``name`` of ``files`` (file name -> text), and a factory of fake assistants over it."""
    from tests.ui.test_ui import FakeAssistant

    folder = tmp_path / "articles" / name
    for file, text in files.items():
        write(folder / file, text)
    build_index(load_documents([folder]), tmp_path / "index" / name, fake_embedder)
    made = []

    def factory(index, model):
        made.append((index, model))
        return FakeAssistant(Retriever.load(index, embedder=fake_embedder))

    factory.made = made
    return factory


def component(demo, elem_id: str) -> dict:
    return next(c for c in demo.get_config_file()["components"] if c["props"].get("elem_id") == elem_id)


def refresh(demo, index: str, model: str = MODEL) -> dict:
    """What the page's catalog refresh (on load, index change, add, delete) sends, by output elem_id."""
    fn = next(f for f in demo.fns.values() if getattr(f.fn, "__name__", "") == "refresh_catalog")
    values = fn.fn(index, model)
    ids = [demo.blocks[block._id].elem_id if hasattr(block, "_id") else None for block in fn.outputs]
    return dict(zip(ids, values, strict=True))


def test_status_line_says_index_articles_and_model_and_follows_changes(tmp_path, fake_embedder):
    from rag.ui import app

    factory = build(tmp_path, fake_embedder, {"ponte.txt": DATED, "bilancio.txt": UNDATED})
    demo = app.build_app(factory, index="seeds", model=MODEL)
    assert (
        component(demo, "status-line")["props"]["value"]
        == "Indice **seeds** · 2 articoli · modello **Qwen2.5\u00a01.5B**"
    )
    controller = demo.controller
    # choosing the other model says so at once, without loading it
    assert controller.status("seeds", FAST) == "Indice **seeds** · 2 articoli · modello **Qwen2.5\u00a00.5B**"
    assert factory.made == [("seeds", MODEL)]
    # adding and removing articles changes the count the page shows
    added = write(tmp_path / "upload" / "tre.txt", "Roma, 2 marzo 2026 – Il treno per Napoli è ripartito alle 9.\n")
    assert controller.add_files([str(added)], "seeds", MODEL).startswith("✓")
    assert refresh(demo, "seeds")["status-line"].startswith("Indice **seeds** · 3 articoli ·")
    assert controller.delete(["tre.txt", "bilancio.txt"], "seeds", MODEL).startswith("✓")
    assert refresh(demo, "seeds")["status-line"].startswith("Indice **seeds** · 1 articolo ·")
    # an index that cannot be chosen is said on the status line, not as a traceback
    said = refresh(demo, "nope")["status-line"]
    assert said.startswith("⚠") and "nope" in said and str(tmp_path) not in said


class Served:
    """A served reader as ``rag.models.openai_generate.OpenAIGenerator`` shows itself: the server's model name and
    the URL it was given (a password in it too)."""

    name = "qwen2.5-7b-instruct"
    url = "http://reader:s3cret@gpu.lan:8080/v1"


def test_a_served_reader_is_named_with_its_host_never_its_password(tmp_path, fake_embedder):
    from rag.ui import app

    factory = build(tmp_path, fake_embedder, {"ponte.txt": DATED})

    reader = Served()

    def served(index, model):
        assistant = factory(index, model)
        assistant.generator = reader
        return assistant

    demo = app.build_app(served, index="seeds", model=MODEL)
    said = component(demo, "status-line")["props"]["value"]
    assert said == "Indice **seeds** · 1 articolo · modello **qwen2.5\\-7b\\-instruct** servito da **gpu.lan:8080**"
    assert demo.controller.status("seeds", MODEL) == said and refresh(demo, "seeds")["status-line"] == said
    assert "s3cret" not in said and "reader" not in said
    reader.url = "https://[fd00::5]/v1"
    assert demo.controller.status("seeds", MODEL).endswith(" servito da **\\[fd00::5\\]**")


def test_a_filter_with_nothing_to_filter_by_is_hidden(tmp_path, fake_embedder):
    from rag.ui import app

    factory = build(tmp_path, fake_embedder, {"ponte.txt": DATED, "bilancio.txt": UNDATED})
    demo = app.build_app(factory, index="seeds", model=MODEL)
    assert component(demo, "source-filter")["props"]["visible"] is False  # no article has a source
    assert component(demo, "date-filters")["props"]["visible"] is True  # one has a date
    assert component(demo, "filters")["props"]["visible"] is True
    shown = refresh(demo, "seeds")
    assert shown["source-filter"]["visible"] is False and shown["filters"]["visible"] is True

    build(tmp_path, fake_embedder, {"bilancio.txt": UNDATED}, name="comune")  # no date, no source
    shown = refresh(demo, "comune")
    assert shown["filters"]["visible"] is False and shown["date-filters"]["visible"] is False
    assert shown["date-from"] == "" and shown["date-to"] == "", "a hidden date box must not keep filtering"

    sourced = '{"id": "g1", "text": "' + DATED.strip() + '", "source": "La Gazzetta del Ticino"}\n'
    build(tmp_path, fake_embedder, {"gazzetta.jsonl": sourced}, name="gazzetta")
    shown = refresh(demo, "gazzetta")
    assert shown["source-filter"]["visible"] is True
    assert shown["source-filter"]["choices"] == ["La Gazzetta del Ticino"]


def test_the_documents_list_shows_title_date_source_and_id(tmp_path, fake_embedder):
    from rag.ui import app

    sourced = '{"id": "g/1.html", "text": "' + DATED.strip() + '", "source": "Gazzetta <b>", "title": "Ponte & C"}\n'
    factory = build(tmp_path, fake_embedder, {"gazzetta.jsonl": sourced, "bilancio.txt": UNDATED})
    demo = app.build_app(factory, index="seeds", model=MODEL)
    listed = component(demo, "docs-table")["props"]["value"]
    assert listed == refresh(demo, "seeds")["docs-table"]
    first, second = listed.split("</li>")[:2]
    assert 'data-doc="g/1.html"' in first and "Ponte &amp; C" in first and "5 marzo 2026" in first
    assert "Gazzetta &lt;b&gt;" in first and '<code class="doc-id">g/1.html</code>' in first
    assert 'data-doc="bilancio.txt"' in second and IT["docs_no_date"] in second


def test_a_long_documents_list_says_how_many_are_not_shown():
    from rag.ui.view import documents_html

    from rag.render import esc

    rows = [[f"Titolo {n}", "", "", f"d{n}.txt"] for n in range(7)]
    listed = documents_html(rows, IT, limit=5)
    assert listed.count('<li class="doc"') == 5 and IT["docs_more"].format(count=2) in listed
    one_more = documents_html(rows[:6], IT, limit=5)
    assert "…e un altro, più vecchio" in one_more and "altri 1" not in one_more
    assert documents_html([], IT) == f'<div class="doc-empty">{esc(IT["docs_empty"])}</div>'
