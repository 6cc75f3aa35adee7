"""What the chat page shows at a glance and never shows, driven through the controller with small fakes (fast):
progress instead of drafts, errors never exported as answers."""

from __future__ import annotations

from rag.ui.assistants import Assistants
from rag.ui.controller import ChatController
from rag.ui.strings import STRINGS

from rag.errors import RagError
from rag.types import Answer

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
