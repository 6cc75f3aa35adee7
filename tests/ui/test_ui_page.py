"""What the chat page shows at a glance and never shows, driven through the controller with small fakes (fast):
progress instead of drafts, errors never exported as answers, PDF and Word uploads."""

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
