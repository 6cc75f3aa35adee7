"""The scores of each question kind in ``rag eval``: facts (precision, coverage, near misses refused), news
questions (acceptable: articles, key facts, order, refusals), counts per kind that never mix first questions
and follow-ups, the plot by kind, the half and the day each question is asked (fast: fakes, no model)."""

from __future__ import annotations

import json
import shutil
from datetime import date
from types import SimpleNamespace

import pytest

from rag.evaluation import metrics as m
from rag.evaluation.metrics import NewsProblem, news_verdict
from rag.evaluation.records import EvalReport, QuestionRow
from rag.evaluation.report import latency_figure
from rag.evaluation.run import day_after_newest, evaluate
from rag.index.indexer import build_index
from rag.index.retriever import Retriever
from rag.sources.ingest import load_documents
from rag.types import Answer

from tests.conftest import ROOT, write

ARTICLES = ROOT / "eval" / "dev" / "articles"
FRANA, RIAPERTURA = "frana-roccafredda.txt", "frana-roccafredda-riapertura.txt"
RAVENNA, BRAMBILLA = "basket-ravenna-pescara.txt", "basket-brambilla-infortunio.txt"

# ---- facts -----------------------------------------------------------------------------------------


def test_fact_precision_counts_the_answers_shown_and_a_wrong_one_lowers_it():
    # answerable right, answerable wrong, answerable refused, near miss answered, near miss refused
    scores = m.fact_scores(
        answerable=[True, True, True, False, False],
        refused=[False, False, True, False, True],
        right=[True, False, False, False, True],
        near_miss=[False, False, False, True, True],
    )
    assert scores["precision"] == {"right": 1, "of": 3, "rate": 1 / 3}  # 3 shown, the near miss answered is wrong
    assert scores["coverage"] == {"right": 1, "of": 3, "rate": 1 / 3}  # of the 3 answerable
    assert scores["near_misses_refused"] == {"right": 1, "of": 2, "rate": 0.5}
    assert scores["unanswerable_refused"] == {"right": 1, "of": 2, "rate": 0.5}


def test_fact_scores_keep_off_topic_questions_out_of_near_misses_and_say_none_of_nothing():
    scores = m.fact_scores([False, True], [True, True], [True, False], [False, False])
    assert scores["near_misses_refused"] == {"right": 0, "of": 0, "rate": None}
    assert scores["unanswerable_refused"] == {"right": 1, "of": 1, "rate": 1.0}
    assert scores["precision"] == {"right": 0, "of": 0, "rate": None}  # nothing shown: no made-up 0 or 1


# ---- key facts and dates ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("said", "fact"),
    [
        ("Sono state raccolte 1350 firme [1].", "1.350 firme"),
        ("Sono state raccolte 1.350 firme [1].", "1350"),
        ("Sono state raccolte 1 350 firme [1].", "1.350"),
        ("Un crollo di 15,000 metri cubi [1]", "15.000 metri cubi"),
        ("La mostra di FORLI [1]", "Forlì"),
        ("Il sindaco è Giorgio Pellegrino [1]", "giorgio pellegrino"),
        ("Un calo del 2 per cento [1]", "2%"),
    ],
)
def test_a_key_fact_is_found_whatever_the_case_accents_and_number_format(said, fact):
    assert m.missing_key_facts(said, [[fact]]) == []


@pytest.mark.parametrize(
    ("said", "fact"),
    [
        ("Rientrano 280 sfollati [1]", "28"),  # a number inside another is not it
        ("Rientrano 2.800 sfollati [1]", "28"),
        ("Sono state raccolte 1.305 firme [1]", "1.350"),
        ("La Stura e il Gesso [1]", "valle Stura"),
    ],
)
def test_a_key_fact_is_whole_words_not_a_piece_of_others(said, fact):
    assert m.missing_key_facts(said, [[fact]]) == [fact]


def test_any_alternative_of_a_key_fact_will_do_and_each_missing_one_is_named():
    said = "La Banca centrale europea ha lasciato i tassi fermi [1]."
    assert m.missing_key_facts(said, [["BCE", "Banca centrale europea"], ["2%", "2 per cento"], ["Lagarde"]]) == [
        "2%",
        "Lagarde",
    ]


def test_dates_are_read_in_italian_and_english_and_a_day_without_a_year_takes_the_one_given():
    text = "**2 aprile 2026** — il 1° aprile; March 3, 2026; 2026-01-20; 31/12/2025; il 31 febbraio 2026"
    assert m.dates_in(text) == [date(2026, 4, 2), date(2026, 3, 3), date(2026, 1, 20), date(2025, 12, 31)]
    assert m.dates_in(text, year=2026)[1] == date(2026, 4, 1)


def test_a_digest_is_newest_first_when_every_cited_line_has_a_date_that_never_increases():
    assert m.newest_first("**2 aprile 2026** — «Riaperta» [1]\n**27 marzo 2026** — «Frana» [2]")
    assert m.newest_first("2 aprile 2026\n- riaperta la strada [1]\n- rientrano in 28 [1]\n27 marzo 2026\n- frana [2]")
    assert m.newest_first("2 aprile — riaperta [1]\n27 marzo — frana [2]", year=2026)
    assert not m.newest_first("2 aprile — riaperta [1]\n27 marzo — frana [2]")  # no year: no dates
    assert not m.newest_first("**27 marzo 2026** — «Frana» [2]\n**2 aprile 2026** — «Riaperta» [1]")
    assert m.newest_first("**2 aprile 2026** — «Riaperta» [1]\nE rientrano 28 sfollati [1]")  # dated by the line above
    assert not m.newest_first("Riaperta la strada [1]\n**27 marzo 2026** — «Frana» [2]")  # a cited line undated
    assert not m.newest_first("**2 aprile 2026** — «Riaperta»\n**27 marzo 2026** — «Frana»")  # nothing cited


# ---- news questions --------------------------------------------------------------------------------

DIGEST = (
    "**2 aprile 2026** — «Riaperta la provinciale»: rientrano 28 sfollati [1]\n"
    "**27 marzo 2026** — «Frana»: 40 evacuati [2]"
)
OLDEST_FIRST = "\n".join(reversed(DIGEST.splitlines()))


def test_a_digest_with_the_articles_the_facts_and_the_order_is_acceptable():
    verdict = news_verdict("digest", False, DIGEST, [RIAPERTURA, FRANA], [FRANA, RIAPERTURA], [["28"], ["40"]])
    assert verdict.acceptable and verdict.problems == ()


@pytest.mark.parametrize(
    ("kind", "refused", "text", "cited", "problems"),
    [
        ("digest", True, "Non lo so.", [], [NewsProblem.REFUSED]),
        ("digest", False, DIGEST, [RIAPERTURA], [NewsProblem.ARTICLES_MISSING]),
        ("digest", False, DIGEST, [RIAPERTURA, FRANA, RAVENNA], [NewsProblem.OTHER_ARTICLES]),
        ("digest", False, DIGEST.replace("28", "ventotto"), [RIAPERTURA, FRANA], [NewsProblem.KEY_FACTS_MISSING]),
        ("digest", False, OLDEST_FIRST, [FRANA, RIAPERTURA], [NewsProblem.NOT_NEWEST_FIRST]),
        # a summary or a list need no dates: the same text in reverse order is acceptable
        ("summary", False, OLDEST_FIRST, [FRANA, RIAPERTURA], []),
        ("list", False, "- 28 [1]\n- 40 [2]", [FRANA, RIAPERTURA], []),
    ],
)
def test_each_thing_that_makes_a_news_answer_unacceptable_is_named(kind, refused, text, cited, problems):
    verdict = news_verdict(kind, refused, text, cited, [FRANA, RIAPERTURA], [["28"], ["40"]])
    assert list(verdict.problems) == problems
    assert verdict.acceptable is (not problems)


def test_a_news_question_the_articles_do_not_answer_is_acceptable_only_refused():
    assert news_verdict("digest", True, "Nessun articolo di maggio.", [], [], []).acceptable
    answered = news_verdict("digest", False, DIGEST, [FRANA], [], [])
    assert not answered.acceptable and answered.problems == (NewsProblem.ANSWERED,)


# ---- a run: counts per kind, the plot, the half, the day asked ------------------------------------------


def _said(text: str, *docs: str, refused: bool = False) -> Answer:
    """An answer citing ``docs`` (the scoring reads only a citation's ``doc_id``)."""
    cites = [SimpleNamespace(number=i, doc_id=d) for i, d in enumerate(docs, 1)]
    return Answer("", text, cites, refused=refused, timings={"total": 0.2})


REPLIES = {
    "Quante persone sono state evacuate a Roccafredda?": _said("40 persone [1]", FRANA),
    "Quanti metri cubi si sono staccati a Roccafredda?": _said("150 metri cubi [1]", FRANA),  # wrong
    "Chi è il sindaco di Roccafredda?": _said("Non so.", refused=True),  # refused, answerable
    "E che cosa ha chiesto alla Regione?": _said("Lo stato di emergenza [1]", FRANA),  # follow-up, right
    "Come si chiama l'automobilista ferito?": _said("Mario Rossi [1]", FRANA),  # near miss answered
    "Quanti vigili del fuoco sono intervenuti?": _said("Non so.", refused=True),  # near miss refused
    "Riassumi l'articolo sulla frana di Roccafredda.": _said(
        "Una frana di circa 15000 metri cubi ha travolto la provinciale 22 [1]. Evacuate 40 persone [1].", FRANA
    ),
    "Quali sono le ultime notizie sulla frana di Roccafredda?": _said(DIGEST, RIAPERTURA, FRANA),
    "What's the latest on the Roccafredda landslide?": _said(OLDEST_FIRST, FRANA, RIAPERTURA),
    "Quali località sono citate nell'articolo sulla riapertura?": _said("- Demonte [1]\n- Cuneo [1]", RIAPERTURA),
    "Quanti punti ha segnato Brambilla?": _said("24 punti [1]", RAVENNA),  # tune half: never asked
}


def _fact(id_: str, question: str, answers: list[str], **more) -> dict:
    return {"id": id_, "question": question, "answers": answers, "doc_ids": [FRANA] if answers else [], **more}


GOLD = [
    _fact("f1", "Quante persone sono state evacuate a Roccafredda?", ["40"]),
    _fact("f2", "Quanti metri cubi si sono staccati a Roccafredda?", ["15.000"]),
    _fact("f3", "Chi è il sindaco di Roccafredda?", ["Giorgio Pellegrino"]),
    _fact("f4", "E che cosa ha chiesto alla Regione?", ["stato di emergenza"], follows="f3"),
    _fact("n1", "Come si chiama l'automobilista ferito?", [], answerable=False, about=[FRANA]),
    _fact("n2", "Quanti vigili del fuoco sono intervenuti?", [], answerable=False, about=[FRANA]),
    {"id": "s1", "kind": "summary", "question": "Riassumi l'articolo sulla frana di Roccafredda.", "docs": [FRANA],
     "key_facts": [["15.000 metri cubi"], ["40"]]},
    {"id": "d1", "kind": "digest", "question": "Quali sono le ultime notizie sulla frana di Roccafredda?",
     "docs": [RIAPERTURA, FRANA], "key_facts": [["28"], ["40"]], "today": "2026-04-10"},
    {"id": "d2", "kind": "digest", "question": "What's the latest on the Roccafredda landslide?",
     "docs": [RIAPERTURA, FRANA], "key_facts": [["28"]]},
    {"id": "l1", "kind": "list", "question": "Quali località sono citate nell'articolo sulla riapertura?",
     "docs": [RIAPERTURA], "key_facts": [["Demonte"], ["Stura"], ["Cuneo"]]},
    {"id": "b1", "question": "Quanti punti ha segnato Brambilla?", "answers": ["24"], "doc_ids": [RAVENNA]},
]  # fmt: skip


class Dated:
    """Replies from ``REPLIES`` and notes the day each question is asked on."""

    def __init__(self):
        self.days: dict[str, date | None] = {}

    def ask(self, question: str, history=(), today: date | None = None) -> Answer:
        self.days[question] = today
        return REPLIES[question]


class Undated:
    """An assistant whose ``ask`` takes no ``today``."""

    def ask(self, question: str, history=()) -> Answer:
        return REPLIES[question]


@pytest.fixture
def dev_index(tmp_path, fake_embedder):
    folder = tmp_path / "articles"
    folder.mkdir()
    for name in (FRANA, RIAPERTURA, RAVENNA, BRAMBILLA):
        shutil.copy(ARTICLES / name, folder / name)
    build_index(load_documents([folder]), tmp_path / "index" / "dev", fake_embedder)
    gold = write(tmp_path / "gold" / "questions.jsonl", "".join(json.dumps(g) + "\n" for g in GOLD))
    halves = {"tune": [RAVENNA, BRAMBILLA], "test": [FRANA, RIAPERTURA]}
    write(gold.parent / "halves.json", json.dumps(halves))
    retriever = Retriever.load("dev", embedder=fake_embedder)
    yield gold, retriever
    retriever.store.close()


def test_a_run_counts_each_kind_apart_and_never_mixes_first_questions_with_follow_ups(dev_index, tmp_path):
    gold, retriever = dev_index
    assistant = Dated()
    report = evaluate(gold, assistant=assistant, retriever=retriever, half="test", out=tmp_path / "r", progress=False)

    assert report.meta["half"] == "test" and report.meta["evaluated"] == 10  # b1 is in the tune half
    assert "Quanti punti ha segnato Brambilla?" not in assistant.days
    first, follow = report.metrics["facts"]["first"], report.metrics["facts"]["follow-up"]
    assert first["questions"] == 5 and follow["questions"] == 1
    assert first["precision"] == m.count(1, 3)  # f1 right; f2 wrong; n1 answered: 1 of 3 shown
    assert first["coverage"] == m.count(1, 3)  # f1 of f1, f2, f3
    assert first["near_misses_refused"] == m.count(1, 2)
    assert follow["precision"] == m.count(1, 1) and follow["coverage"] == m.count(1, 1)
    news = report.metrics["news"]
    assert news["summary"]["acceptable"] == m.count(1, 1)  # "15000" is "15.000"
    assert news["digest"]["acceptable"] == m.count(1, 2)
    assert news["digest"]["problems"] == {"not newest first": 1}
    assert news["list"]["acceptable"] == m.count(0, 1) and news["list"]["problems"] == {"key facts missing": 1}
    assert report.metrics["outcomes"] == {
        "fact": {"questions": 3, "answered_right": 1, "answered_wrong": 1, "refused_rightly": 0, "refused_wrongly": 1},
        "near miss": {"questions": 2, "answered_right": 0, "answered_wrong": 1, "refused_rightly": 1,
                      "refused_wrongly": 0},
        "fact, follow-up": {"questions": 1, "answered_right": 1, "answered_wrong": 0, "refused_rightly": 0,
                            "refused_wrongly": 0},
        "summary": {"questions": 1, "answered_right": 1, "answered_wrong": 0, "refused_rightly": 0,
                    "refused_wrongly": 0},
        "digest": {"questions": 2, "answered_right": 1, "answered_wrong": 1, "refused_rightly": 0,
                   "refused_wrongly": 0},
        "list": {"questions": 1, "answered_right": 0, "answered_wrong": 1, "refused_rightly": 0, "refused_wrongly": 0},
    }  # fmt: skip
    l1 = next(r for r in report.rows if r.id == "l1")
    assert l1.problems == ["key facts missing"] and l1.missing_key_facts == ["Stura"]

    md = (tmp_path / "r" / "report.md").read_text(encoding="utf-8")
    assert "10 of 10 questions of the test half" in md
    assert "facts, first questions (5 q)" in md and "right and cited 1/3 (0.333) of answerable" in md
    assert "of the answers shown right 1/3 (0.333)" in md and "near misses refused 1/2 (0.500)" in md
    assert "facts, follow-ups (1 q)" in md and "digest (2 q)" in md and "acceptable 1/2 (0.500)" in md
    assert "| near miss | 2 | 0 | 1 | 1 | 0 |" in md and "| fact, follow-up | 1 | 1 | 0 | 0 | 0 |" in md
    assert "![answers_by_kind.png](answers_by_kind.png)" in md
    png = (tmp_path / "r" / "answers_by_kind.png").read_bytes()
    assert png.startswith(b"\x89PNG") and len(png) > 5000
    assert "questions.jsonl on index dev: 10 of 10 questions (test half)" in report.table()  # not "seeds"
    saved = json.loads((tmp_path / "r" / "report.json").read_text(encoding="utf-8"))
    assert saved["news"]["digest"]["acceptable"] == {"right": 1, "of": 2, "rate": 0.5}
    again = EvalReport.load(tmp_path / "r" / "report.json")  # a baseline read back counts the same
    assert again.metrics["facts"] == report.metrics["facts"] and again.rows[9].group == "list"


def test_each_question_is_asked_on_its_own_today_else_the_day_after_the_newest_article(dev_index, tmp_path):
    gold, retriever = dev_index
    assistant = Dated()
    report = evaluate(gold, assistant=assistant, retriever=retriever, half="test", out=tmp_path / "r", progress=False)
    assert assistant.days["Quali sono le ultime notizie sulla frana di Roccafredda?"] == date(2026, 4, 10)  # its own
    # the newest of the four articles is of 2 April 2026
    assert assistant.days["What's the latest on the Roccafredda landslide?"] == date(2026, 4, 3)
    assert assistant.days["E che cosa ha chiesto alla Regione?"] == date(2026, 4, 3)
    assert report.meta["today"] == "2026-04-03" and report.meta["today_passed"] is True


def test_the_default_day_is_the_one_after_the_newest_article_that_has_a_day():
    dated = {"a": "2026-03-27", "b": "2026-04-02T09:30:00", "c": None, "d": "2026", "e": "aprile"}
    docs = {k: SimpleNamespace(id=k, title=k, date=v, source=None, url=None) for k, v in dated.items()}
    store = SimpleNamespace(doc_ids=lambda: list(docs), document=docs.get)
    assert day_after_newest(store) == "2026-04-03"
    assert day_after_newest(SimpleNamespace(doc_ids=lambda: ["c"], document=docs.get)) is None


def test_an_assistant_that_takes_no_today_is_asked_without_it_and_the_report_says_so(dev_index, tmp_path):
    gold, retriever = dev_index
    report = evaluate(gold, assistant=Undated(), retriever=retriever, half="test", out=tmp_path / "r", progress=False)
    assert report.meta["today_passed"] is False and report.metrics["news"]["summary"]["acceptable"] == m.count(1, 1)
    assert "not passed" in (tmp_path / "r" / "report.md").read_text(encoding="utf-8")


# ---- the latency plot ---------------------------------------------------------------------------------


def test_the_latency_plot_tick_labels_never_run_together_as_a_notebook_shows_it():
    """report_html shows a plot at most as wide as the output (``max-width:100%``, about 900 px in a notebook):
    there, tick labels keep readable (9 px) and apart (12 px). Five stages side by side (1600 px) shrank to
    5 px gaps and 8 px text."""
    rows = []
    for i in range(60):  # from tens of milliseconds to minutes, as a loaded CPU gives
        ms = 40.0 * 1.15**i
        timings = {"search": ms / 80, "retrieve": ms / 50, "first_token": ms / 3, "generate": ms, "total": ms * 1.1}
        rows.append(QuestionRow(str(i), "q", True, ["a"], [], [], refused=False, timings_ms=timings))
    fig = latency_figure(EvalReport(meta={"mode": "answers"}, metrics={}, rows=rows))
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    shown = min(1.0, 900 / (fig.get_size_inches()[0] * fig.dpi))
    assert len(fig.axes) == 5
    for ax in fig.axes:
        for axis, start, end in ((ax.xaxis, "x0", "x1"), (ax.yaxis, "y0", "y1")):
            labels = [t for t in axis.get_ticklabels() if t.get_visible() and t.get_text()]
            boxes = [t.get_window_extent(renderer) for t in labels]
            assert len(boxes) >= 2
            assert min(b.height for b in boxes) * shown >= 9
            gaps = [getattr(b, start) - getattr(a, end) for a, b in zip(boxes, boxes[1:], strict=False)]
            assert min(gaps) * shown >= 12, [t.get_text() for t in labels]
        assert not any(t.get_text().startswith(("-", "\u2212")) for t in ax.xaxis.get_ticklabels())  # no negative time
