"""Batch evaluation: gold loading and its errors, the scoring wiring (fake assistant), report files, CLI."""

from __future__ import annotations

import gzip
import json
import math
from pathlib import Path

import pytest
from click.testing import CliRunner

from rag.errors import InputError
from rag.evaluation.gold import conversation, load_gold
from rag.evaluation.metrics import normalize_answer
from rag.evaluation.run import EvalReport, QuestionRow, evaluate, summarize
from rag.evaluation.squad import default_dataset, ensure_squad_index, squad_index_name
from rag.index.indexer import build_index
from rag.sources.ingest import load_documents
from rag.stores.folder import Store
from rag.types import Answer, Citation, Hit

from tests.conftest import ROOT, RUTTE_DOC, SEEDS, UMEROV_DOC, write

GOLD = ROOT / "eval" / "seeds.jsonl"

REPORT_KEYS = [
    "retrieval.recall@1",
    "retrieval.recall@5",
    "retrieval.recall@10",
    "retrieval.mrr@10",
    "answer.exact_match",
    "answer.f1",
    "answer.contains",
    "refusal.precision",
    "refusal.recall",
    "citations.accuracy",
]


def _citation(doc_id: str, number: int = 1) -> Citation:
    return Citation(number, f"{doc_id}::0", doc_id, "t", None, None, "q", 0, 1, "p", 1.0)


def _hit(doc_id: str) -> Hit:
    return Hit(f"{doc_id}::0", doc_id, "t", "text", 1.0, 1, 0, 4)


class ScriptedAssistant:
    """Answers from a script: question -> (text, cited doc ids, refused)."""

    def __init__(self, script: dict[str, tuple[str, list[str], bool]], retriever=None, interrupt_at: int | None = None):
        self.script = script
        self.retriever = retriever
        self.interrupt_at = interrupt_at
        self.asked = 0

    def ask(self, question: str, history=()) -> Answer:
        self.asked += 1
        if self.interrupt_at is not None and self.asked >= self.interrupt_at:
            raise KeyboardInterrupt
        text, cited, refused = self.script[question]
        return Answer(
            question,
            text,
            citations=[_citation(d, i) for i, d in enumerate(cited, 1)],
            refused=refused,
            passages=[_hit(d) for d in cited],
            timings={"retrieve": 0.01, "generate": 0.5, "total": 0.6},
        )


class OverlapAssistant:
    """A deterministic stand-in for the LLM: answers with the first sentence of the top passage, citing it;
    refuses when no question word of 5+ letters occurs in that passage."""

    def __init__(self, retriever):
        self.retriever = retriever

    def ask(self, question: str, history=()) -> Answer:
        hits = self.retriever.search(question, k=3)
        top = hits[0]
        words = {w.strip("?,.'’").lower() for w in question.split() if len(w.strip("?,.'’")) >= 5}
        if not any(w in top.text.lower() for w in words):
            return Answer(question, "Non lo so.", refused=True, passages=list(hits), timings={"total": 0.001})
        sentence = top.text.split(". ")[0]
        return Answer(
            question,
            sentence + " [1]",
            citations=[_citation(top.doc_id)],
            passages=list(hits),
            timings={"retrieve": 0.001, "total": 0.002},
        )


@pytest.fixture
def fake_seed_index(tmp_path, fake_embedder):
    path = tmp_path / "index" / "seeds"
    build_index(load_documents([SEEDS]), path, fake_embedder)
    return path


@pytest.fixture
def fake_retriever(fake_seed_index, fake_embedder):
    from rag.index.retriever import Retriever

    retriever = Retriever.load(fake_seed_index, embedder=fake_embedder)
    yield retriever
    retriever.store.close()


# ---- the gold set and its loader --------------------------------------------------------------


def test_seed_gold_set_meets_the_brief():
    questions = load_gold(GOLD)
    assert len(questions) >= 30
    assert len({q.id for q in questions}) == len(questions)
    unanswerable = [q for q in questions if not q.answerable]
    assert len(unanswerable) >= 5 and all(not q.doc_ids for q in unanswerable)
    assert sum("en" in q.tags for q in questions) >= 3
    assert sum("date" in q.tags for q in questions) >= 3
    seed_ids = {p.name for p in SEEDS.iterdir()}
    assert {d for q in questions for d in q.doc_ids} == {RUTTE_DOC, UMEROV_DOC} <= seed_ids


def test_seed_gold_answers_are_in_their_documents():
    """Questions answered by a span (not a date computed or an English rendering) have an answer in the text."""
    texts = {p.name: normalize_answer(p.read_text(encoding="utf-8")) for p in SEEDS.iterdir()}
    for q in load_gold(GOLD):
        if not q.answerable or {"date", "en"} & set(q.tags):
            continue
        found = [a for a in q.answers for d in q.doc_ids if f" {normalize_answer(a)} " in f" {texts[d]} "]
        assert found, f"{q.id}: no answer of {q.answers} occurs in {q.doc_ids}"


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('{"id": "b", "question": "Chi?", "answers": ["x"], "doc_ids": ["d"]', "not valid JSON"),
        ('["a list"]', "expected an object"),
        ('{"id": "b", "question": "Chi?", "answers": ["x"]}', "missing field(s) doc_ids"),
        ('{"id": "b", "question": "", "answers": [], "doc_ids": []}', "'question' must be a non-empty string"),
        ('{"id": "b", "question": "Chi?", "answers": "x", "doc_ids": ["d"]}', "'answers' must be a list"),
        ('{"id": "b", "question": "Chi?", "answers": ["x"], "doc_ids": []}', "both be filled"),
        ('{"id": "a", "question": "Chi?", "answers": [], "doc_ids": []}', "already used on line 1"),
    ],
)
def test_malformed_gold_line_names_its_line(tmp_path, line, message):
    good = '{"id": "a", "question": "Dove?", "answers": ["Kiev"], "doc_ids": ["d.txt"]}'
    path = write(tmp_path / "gold.jsonl", f"{good}\n\n{line}\n")
    with pytest.raises(InputError) as excinfo:
        load_gold(path)
    assert f"{path}:3:" in str(excinfo.value)
    assert message in str(excinfo.value)


def test_missing_or_empty_gold_file(tmp_path):
    with pytest.raises(InputError, match="no such gold file"):
        load_gold(tmp_path / "nope.jsonl")
    with pytest.raises(InputError, match="no questions"):
        load_gold(write(tmp_path / "empty.jsonl", "\n"))


def _tiny_squad(path: Path, context_suffix: str = "") -> Path:
    payload = {
        "data": [
            {
                "title": "Kiev",
                "paragraphs": [
                    {
                        "context": "Kiev è la capitale dell'Ucraina." + context_suffix,
                        "qas": [
                            {"id": "q1", "question": "Di che cosa è capitale Kiev?", "answers": [{"text": "Ucraina"}]},
                            {
                                "id": "q2",
                                "question": "Che città è?",
                                "answers": [{"text": "capitale"}, {"text": "capitale"}],
                            },
                        ],
                    },
                    {
                        "context": "Leopoli è nell'ovest.",
                        "qas": [{"id": "q3", "question": "Dove?", "answers": [{"text": "ovest"}]}],
                    },
                ],
            }
        ]
    }
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        json.dump(payload, handle)
    return path


def test_squad_gold_uses_paragraph_documents(tmp_path):
    questions = load_gold(_tiny_squad(tmp_path / "mini_squad-dev.json.gz"))
    assert [(q.id, q.doc_ids, q.answers) for q in questions] == [
        ("q1", ("Kiev#0",), ("Ucraina",)),
        ("q2", ("Kiev#0",), ("capitale",)),  # duplicate answers kept once
        ("q3", ("Kiev#1",), ("ovest",)),
    ]
    assert [q.id for q in load_gold(tmp_path / "mini_squad-dev.json.gz", limit=2)] == ["q1", "q2"]


@pytest.mark.parametrize("answers", ["Rutte", [{"text": 5}], ["Rutte"]])
def test_squad_answers_of_the_wrong_shape_are_named(tmp_path, answers):
    # an audit: answers given as a string made the question silently unanswerable; {"text": 5} broke scoring mid-run
    data = {"data": [{"title": "T", "paragraphs": [{"context": "Rutte è a Kiev.", "qas": [
        {"id": "q1", "question": "Chi è a Kiev?", "answers": answers}]}]}]}  # fmt: skip
    path = write(tmp_path / "mini.json", json.dumps(data))
    with pytest.raises(InputError, match=r"data\[0\].paragraphs\[0\].qas\[0\].answers must be a list"):
        load_gold(path)


def test_a_half_without_questions_says_so(tmp_path):
    questions = load_gold(_tiny_squad(tmp_path / "mini_squad-dev.json.gz"))
    empty = next(h for h in ("tune", "test") if all(q.tags != (f"half-{h}",) for q in questions))
    with pytest.raises(InputError, match=f"none of its questions is in the {empty} half"):
        load_gold(tmp_path / "mini_squad-dev.json.gz", half=empty)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        ({"gold": None}, "gold must be the path of a gold file"),
        ({"limit": "2"}, "limit must be a whole number"),
        ({"sample": 1.5}, "sample must be a whole number"),
    ],
)
def test_evaluate_called_with_the_wrong_kind_says_so(fake_retriever, call, message):
    # an audit: these were TypeErrors from inside the run
    with pytest.raises(InputError, match=message):
        evaluate(**{"gold": ROOT / "eval" / "seeds.jsonl", "retriever": fake_retriever, "retrieval_only": True, **call})


def test_squad_index_is_built_once_and_rebuilt_when_the_file_changes(tmp_path, fake_embedder):
    squad = _tiny_squad(tmp_path / "mini_squad-dev.json.gz")
    assert squad_index_name(squad) == "mini-squad-dev"
    path = ensure_squad_index(squad, embedder=fake_embedder)
    assert path == tmp_path / "index" / "mini-squad-dev" and fake_embedder.calls > 0
    calls = fake_embedder.calls
    assert ensure_squad_index(squad, embedder=fake_embedder) == path
    assert fake_embedder.calls == calls  # reused: nothing embedded again
    _tiny_squad(squad, context_suffix=" Ha tre milioni di abitanti.")
    ensure_squad_index(squad, embedder=fake_embedder)
    assert fake_embedder.calls > calls  # content changed: rebuilt


def test_a_squad_file_named_like_a_news_index_does_not_replace_it(tmp_path, fake_embedder):
    # an audit: `rag eval seeds.json` rebuilt index/seeds from the SQuAD file, losing its articles
    build_index(load_documents([SEEDS]), tmp_path / "index" / "seeds", fake_embedder)
    squad = _tiny_squad(tmp_path / "seeds.json.gz")
    with pytest.raises(InputError, match="holds other articles than the SQuAD file"):
        ensure_squad_index(squad, embedder=fake_embedder)
    store = Store.open(tmp_path / "index" / "seeds")
    try:
        assert sorted(store.doc_ids()) == sorted([RUTTE_DOC, UMEROV_DOC])
    finally:
        store.close()


# ---- scoring wiring with a scripted assistant ----------------------------------------------------


def test_evaluate_with_scripted_answers_gives_hand_computed_figures(tmp_path, fake_retriever):
    gold = write(
        tmp_path / "gold.jsonl",
        "\n".join(
            json.dumps(row, ensure_ascii=False)
            for row in [
                {
                    "id": "1",
                    "question": "Chi accompagnava Umerov?",
                    "answers": ["Andrii Hnatov"],
                    "doc_ids": [UMEROV_DOC],
                },
                {"id": "2", "question": "Chi va a Kiev?", "answers": ["Mark Rutte"], "doc_ids": [RUTTE_DOC]},
                {"id": "3", "question": "Quale polacco?", "answers": ["Donald Tusk"], "doc_ids": [RUTTE_DOC]},
                {"id": "4", "question": "Chi ha vinto Sanremo?", "answers": [], "doc_ids": []},
                {"id": "5", "question": "Quanto costa il pane?", "answers": [], "doc_ids": []},
            ]
        )
        + "\n",
    )
    script = {
        "Chi accompagnava Umerov?": ("Andrii Hnatov [1].", [UMEROV_DOC], False),  # EM 1, F1 1, cites gold
        "Chi va a Kiev?": ("Mark Rutte, segretario della NATO [1].", [RUTTE_DOC, UMEROV_DOC], False),  # F1 4/7
        "Quale polacco?": ("Non lo so.", [], True),  # refused an answerable question: 0s
        "Chi ha vinto Sanremo?": ("Non lo so.", [], True),  # correct refusal
        "Quanto costa il pane?": ("Un euro [1].", [RUTTE_DOC], False),  # answered the unanswerable
    }
    report = evaluate(gold, index="unused", assistant=ScriptedAssistant(script, fake_retriever), progress=False)
    assert report.meta["evaluated"] == 5 and report.meta["mode"] == "answers"
    # answer metrics over the 3 answerable questions
    assert report.get("answer.exact_match") == pytest.approx(1 / 3)
    assert report.get("answer.f1") == pytest.approx((1 + 4 / 7 + 0) / 3)
    assert report.get("answer.contains") == pytest.approx(2 / 3)
    # refused: 3 and 4; unanswerable: 4 and 5 -> precision 1/2, recall 1/2
    assert report.get("refusal.precision") == 0.5 and report.get("refusal.recall") == 0.5
    assert report.get("refusal.unanswerable") == 2 and report.get("refusal.refused") == 2
    # citations over non-refused answerable answers (1 and 2): only 1 cites gold only
    assert report.get("citations.answers") == 2 and report.get("citations.accuracy") == 0.5
    assert report.get("retrieval.questions") == 3
    assert report.get("latency.generate.p50_ms") == pytest.approx(500.0)
    assert report.get("latency.search.n") == 5
    frame = report.to_frame()
    assert list(frame["id"]) == ["1", "2", "3", "4", "5"]
    assert list(frame["refused"]) == [False, False, True, True, False]
    assert frame.loc[1, "f1"] == pytest.approx(4 / 7)
    assert "ms_total" in frame.columns
    paths = report.write(tmp_path / "out")
    assert {p.name for p in paths} == {
        "report.json",
        "report.md",
        "recall_at_k.png",
        "latency.png",
        "answers_by_kind.png",
    }
    assert EvalReport.load(tmp_path / "out" / "report.json").to_dict() == json.loads(json.dumps(report.to_dict()))


def test_summarize_retrieval_from_ranks():
    rows = [
        QuestionRow("a", "q", True, ["x"], ["d"], rank=1),
        QuestionRow("b", "q", True, ["x"], ["d"], rank=4),
        QuestionRow("c", "q", True, ["x"], ["d"], rank=None),
        QuestionRow("d", "q", False, [], [], rank=None),  # unanswerable: not a retrieval question
    ]
    figures = summarize(rows, answers=False)
    assert figures["retrieval"]["questions"] == 3
    assert figures["retrieval"]["recall@1"] == pytest.approx(1 / 3)
    assert figures["retrieval"]["recall@5"] == pytest.approx(2 / 3)
    assert figures["retrieval"]["mrr@10"] == pytest.approx((1 + 1 / 4) / 3)
    assert figures["retrieval"]["curve"][:4] == pytest.approx([1 / 3, 1 / 3, 1 / 3, 2 / 3])
    assert figures["answer"]["f1"] is None and figures["refusal"]["precision"] is None


def test_ctrl_c_keeps_the_partial_report(tmp_path, fake_retriever):
    questions = load_gold(GOLD)
    script = {q.question: ("x", [], True) for q in questions}
    assistant = ScriptedAssistant(script, fake_retriever, interrupt_at=4)
    out = tmp_path / "partial"
    report = evaluate(GOLD, index="unused", assistant=assistant, out=out, progress=False)
    assert report.meta["interrupted"] is True
    assert report.meta["evaluated"] == 3 == len(report.rows)
    saved = json.loads((out / "report.json").read_text())
    assert saved["meta"]["interrupted"] is True and len(saved["questions"]) == 3
    assert "interrupted" in (out / "report.md").read_text()


def test_error_mid_run_writes_partial_report_then_raises(tmp_path, fake_retriever):
    class Broken(ScriptedAssistant):
        def ask(self, question):
            if self.asked == 2:
                raise RuntimeError("model crashed")
            self.asked += 1
            return Answer(question, "x", refused=True)

    out = tmp_path / "broken"
    with pytest.raises(RuntimeError, match="model crashed"):
        evaluate(GOLD, index="unused", assistant=Broken({}, fake_retriever), out=out, progress=False)
    saved = json.loads((out / "report.json").read_text())
    assert saved["meta"]["error"] == "RuntimeError: model crashed" and len(saved["questions"]) == 2


def test_wrong_index_is_an_input_error(tmp_path, fake_embedder):
    from rag.index.retriever import Retriever

    other = tmp_path / "index" / "other"
    build_index(
        load_documents([write(tmp_path / "docs" / "x.txt", "Un altro articolo su altro.")]), other, fake_embedder
    )
    retriever = Retriever.load(other, embedder=fake_embedder)
    with pytest.raises(InputError, match="none of the gold documents"):
        evaluate(GOLD, index=other, retriever=retriever, retrieval_only=True, progress=False)
    retriever.store.close()


def test_cli_retrieval_only_writes_the_report(tmp_path, fake_seed_index, fake_embedder, monkeypatch):
    from rag.cli.eval import eval_command

    monkeypatch.setattr("rag.index.retriever.load_embedder", lambda info: fake_embedder)
    out = tmp_path / "cli-out"
    result = CliRunner().invoke(
        eval_command,
        [str(GOLD), "--index", str(fake_seed_index), "--retrieval-only", "--limit", "5", "--out", str(out)],
    )
    assert result.exit_code == 0, result.output
    assert "R@5" in result.output and "5 of 5 questions" in result.output
    saved = json.loads((out / "report.json").read_text())
    assert saved["meta"]["mode"] == "retrieval" and saved["answer"]["f1"] is None


# ---- end to end on the seed gold set (real embedder; answers by a deterministic stand-in) ----------


def _numbers_in_unit_interval(report: dict) -> None:
    for key in REPORT_KEYS:
        section, name = key.split(".")
        value = report[section][name]
        assert value is not None, key
        assert 0.0 <= value <= 1.0, (key, value)
    for stage, figures in report["latency"].items():
        assert figures["p50_ms"] <= figures["p95_ms"] <= figures["max_ms"], stage
        assert all(math.isfinite(v) and v >= 0 for v in figures.values()), stage


@pytest.mark.embedder
def test_end_to_end_seed_gold_set(tmp_path, seeds_index, real_embedder):
    from rag.index.retriever import Retriever

    retriever = Retriever.load(seeds_index, embedder=real_embedder)
    out = tmp_path / "report"
    report = evaluate(GOLD, index=seeds_index, assistant=OverlapAssistant(retriever), out=out, progress=False)
    retriever.store.close()

    assert isinstance(report, EvalReport)
    assert {p.name for p in out.iterdir()} >= {"report.json", "report.md", "recall_at_k.png", "latency.png"}
    saved = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert saved["schema_version"] == 1
    assert saved["meta"]["evaluated"] == saved["meta"]["questions"] == len(load_gold(GOLD))
    _numbers_in_unit_interval(saved)
    assert len(saved["retrieval"]["curve"]) == 10
    assert saved["retrieval"]["recall@5"] >= 0.9  # two documents: the real embedder must find the right one
    assert {"search", "total"} <= set(saved["latency"])
    row = saved["questions"][0]
    for field in ("id", "question", "gold_answers", "gold_doc_ids", "retrieved_doc_ids", "rank", "answer", "refused"):
        assert field in row
    md = (out / "report.md").read_text(encoding="utf-8")
    assert "![recall_at_k.png](recall_at_k.png)" in md and "## Worst failures" in md
    assert (out / "recall_at_k.png").read_bytes()[:4] == b"\x89PNG"
    assert len(report.to_frame()) == saved["meta"]["questions"]


def test_sample_draws_the_same_questions_from_across_the_file():
    gold = ROOT / "eval" / "seeds.jsonl"
    every = load_gold(gold)
    first = load_gold(gold, sample=10)
    assert first == load_gold(gold, sample=10) and len(first) == 10  # seed 0: the same every run
    positions = [every.index(q) for q in first]
    assert positions == sorted(positions) and positions[-1] > 10  # file order, not just the head
    assert load_gold(gold, sample=len(every) + 5) == every


def test_follow_ups_are_asked_with_the_answers_given_before_them(tmp_path):
    gold = tmp_path / "gold.jsonl"
    rows = [
        {"id": "a", "question": "Chi accompagnava Umerov?", "answers": ["Hnatov"], "doc_ids": ["d"]},
        {"id": "b", "question": "E che incarico ricopre?", "answers": ["Capo"], "doc_ids": ["d"], "follows": "a"},
        {"id": "c", "question": "E dopo?", "answers": [], "doc_ids": [], "follows": "b"},
    ]
    gold.write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    questions = load_gold(gold)
    assert [q.follows for q in questions] == [None, "a", "b"] and "follow-up" in questions[1].tags
    assert [q.id for q in load_gold(gold, sample=1)] in (["a"], ["a", "b"], ["a", "b", "c"])  # ancestors kept
    said = {"a": ("Chi accompagnava Umerov?", "Andrii Hnatov [1]."), "b": ("E che incarico ricopre?", "Capo [1].")}
    by_id = {q.id: q for q in questions}
    assert conversation(questions[2], said, by_id) == [said["a"], said["b"]]
    assert conversation(questions[0], said, by_id) == []
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({**rows[1], "follows": "zz"}), encoding="utf-8")
    with pytest.raises(InputError, match="'follows' must be the id of an earlier line"):
        load_gold(bad)


def test_default_squad_dataset_is_found_from_the_checkout(monkeypatch, tmp_path):
    from tests.conftest import SQUAD_DEV

    monkeypatch.chdir(tmp_path)  # not from the current folder: from where the package runs
    assert default_dataset().resolve() == SQUAD_DEV.resolve() and SQUAD_DEV.is_file()


def test_halves_split_squad_by_article_and_cover_it():
    from tests.conftest import SQUAD_DEV

    tune, test = load_gold(SQUAD_DEV, half="tune"), load_gold(SQUAD_DEV, half="test")
    articles = [{q.doc_ids[0].rsplit("#", 1)[0] for q in h} for h in (tune, test)]
    assert not articles[0] & articles[1] and len(tune) + len(test) == len(load_gold(SQUAD_DEV))
    assert min(len(tune), len(test)) > len(load_gold(SQUAD_DEV)) // 4
    # each question says its half, so one report gives the figures of both (the "By tag" table)
    assert {q.tags for q in tune} == {("half-tune",)} and {q.tags for q in test} == {("half-test",)}
