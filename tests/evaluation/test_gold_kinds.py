"""The gold format's question kinds and the tune/test split by article; the dev set as the brief asks (fast)."""

from __future__ import annotations

import json
import re
import unicodedata

import pytest

from rag.errors import InputError
from rag.evaluation.gold import HALVES_FILE, KINDS, load_gold, read_halves
from rag.evaluation.metrics import normalize_answer

from tests.conftest import ROOT, write

DEV = ROOT / "eval" / "dev"
DEV_GOLD = DEV / "questions.jsonl"
ARTICLES = DEV / "articles"
# the four articles written before the question kinds; the others were written for them
OLDER = {"bce-tassi.txt", "piemonte-ospedali.txt", "torino-metro.txt", "volley-conegliano.txt"}


def _lines(path, rows) -> None:
    write(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))


def _folded(text: str) -> str:
    text = normalize_answer(text.replace("%", " per cento"))
    return " " + "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c)) + " "


# ---- the dev set --------------------------------------------------------------------------------


def test_dev_articles_are_many_dated_and_of_news_length():
    new = sorted(p for p in ARTICLES.iterdir() if p.name not in OLDER)
    assert len(new) >= 14
    dateline = re.compile(r"^[A-ZÀ-Ý][\w' ]+, (\d{1,2}) (gennaio|febbraio|marzo|aprile) 2026 – ", re.MULTILINE)
    months = []
    for path in new:
        text = path.read_text(encoding="utf-8")
        assert 250 <= len(text.split()) <= 600, path.name
        head, _, _ = text.partition("\n\n")
        found = dateline.search(text)
        assert found and found.start() > 0, f"{path.name}: a headline above a dateline of January-April 2026"
        assert "–" not in head.splitlines()[-1], f"{path.name}: the headline is a line of its own"
        months.append(found[2])
    assert months.count("marzo") >= 5 and {"gennaio", "febbraio", "aprile"} <= set(months)
    assert sum(p.suffix == ".md" for p in new) >= 2
    assert sum("Riproduzione riservata" in p.read_text(encoding="utf-8") for p in new) >= 2


def test_dev_questions_cover_every_kind_in_the_numbers_asked():
    questions = load_gold(DEV_GOLD)
    assert len(questions) >= 150 and len({q.id for q in questions}) == len(questions)
    kinds = [q.kind for q in questions]
    assert set(kinds) == set(KINDS) and kinds.count("fact") > len(kinds) / 2
    assert sum(q.near_miss for q in questions) >= 20
    assert sum(k != "fact" for k in kinds) >= 40
    assert sum(q.follows is not None for q in questions) >= 5 and sum("en" in q.tags for q in questions) >= 5
    digests = [q for q in questions if q.kind == "digest"]
    assert sum(len(q.docs) >= 2 for q in digests) >= 5 and all(q.today for q in digests)
    stories = {frozenset(q.docs) for q in digests if len(q.docs) == 2}
    assert len(stories) >= 4  # at least four stories told by two articles at different dates


def test_dev_gold_answers_and_key_facts_are_written_as_the_articles_write_them():
    texts = {p.name: _folded(p.read_text(encoding="utf-8")) for p in ARTICLES.iterdir()}
    for q in load_gold(DEV_GOLD):
        assert set(q.articles) <= set(texts), q.id
        if q.kind == "fact" and q.answerable and not {"date", "en"} & set(q.tags):
            for doc in q.doc_ids:  # every gold article holds an accepted answer
                assert any(_folded(a) in texts[doc] for a in q.answers), (q.id, doc)
        for alternatives in q.key_facts:
            assert any(_folded(a) in texts[d] for a in alternatives for d in q.docs), (q.id, alternatives)


def _head(text: str) -> str:
    """An article up to the end of its first sentence after the dateline: kicker, headline, byline, lead."""
    dateline = re.search(r"\d{4} – ", text)
    lead = re.search(r"[.!?](\s|$)", text[dateline.end() :]) if dateline else None
    return text[: dateline.end() + lead.end()] if lead else text[:400]


def test_dev_digest_key_facts_are_what_a_dated_line_of_an_article_gives():
    """A digest gives one or two lines an article (rag.answer.news: its date, headline and lead), so each of
    its key facts is in the headline or the opening sentence of one of its articles, not deeper."""
    heads = {p.name: _folded(_head(p.read_text(encoding="utf-8"))) for p in ARTICLES.iterdir()}
    for q in load_gold(DEV_GOLD):
        if q.kind == "digest":
            for alternatives in q.key_facts:
                assert any(_folded(a) in heads[d] for a in alternatives for d in q.docs), (q.id, alternatives)


def test_dev_halves_list_every_article_once_and_split_the_questions():
    halves = read_halves(DEV / HALVES_FILE)
    assert set(halves) == {p.name for p in ARTICLES.iterdir()}
    tune, test = load_gold(DEV_GOLD, half="tune"), load_gold(DEV_GOLD, half="test")
    assert len(tune) + len(test) == len(load_gold(DEV_GOLD)) and min(len(tune), len(test)) >= 50
    assert all(halves[a] == "tune" for q in tune for a in q.articles)
    assert all("half-tune" in q.tags for q in tune) and all("half-test" in q.tags for q in test)
    for half in (tune, test):  # each half has every kind, near misses and follow-ups
        assert {q.kind for q in half} == set(KINDS) and any(q.near_miss for q in half)
        ids = {q.id for q in half}
        assert all(q.follows in ids for q in half if q.follows)


@pytest.mark.parametrize("name", ["fresh", "fresh2"])
def test_a_fresh_set_is_written_as_its_articles_write_it_and_all_in_test(name):
    """eval/fresh, eval/fresh2: written apart from the code and run once to report, so every article is in test."""
    folder = ROOT / "eval" / name
    articles = folder / "articles"
    texts = {p.name: p.read_text(encoding="utf-8") for p in articles.iterdir()}
    folded = {name: _folded(text) for name, text in texts.items()}
    heads = {name: _folded(_head(text)) for name, text in texts.items()}
    questions = load_gold(folder / "questions.jsonl")
    assert len(questions) >= 90 and {q.kind for q in questions} == set(KINDS)
    assert set(read_halves(folder / HALVES_FILE).values()) == {"test"}
    assert set(read_halves(folder / HALVES_FILE)) == set(texts)
    assert len(load_gold(folder / "questions.jsonl", half="test")) == len(questions)
    for q in questions:
        assert set(q.articles) <= set(texts), q.id
        if q.kind == "fact" and q.answerable and not {"date", "relative"} & set(q.tags):
            assert any(_folded(a) in folded[d] for a in q.answers for d in q.doc_ids), q.id
        for alternatives in q.key_facts:
            where = heads if q.kind == "digest" else folded
            assert any(_folded(a) in where[d] for a in alternatives for d in q.docs), (q.id, alternatives)


# ---- the format ----------------------------------------------------------------------------------


def test_old_lines_are_facts_and_news_lines_load_with_their_fields(tmp_path):
    path = tmp_path / "gold.jsonl"
    _lines(
        path,
        [
            {"id": "f", "question": "Chi?", "answers": ["Rutte"], "doc_ids": ["a.txt"]},
            {"id": "d", "kind": "digest", "question": "Novità?", "docs": ["b.txt", "a.txt"],
             "key_facts": ["640", ["45 milioni", "45 million"]], "today": "2026-03-28"},
            {"id": "n", "question": "Quanti astenuti?", "answers": [], "doc_ids": [], "answerable": False,
             "about": ["a.txt"]},
        ],
    )  # fmt: skip
    fact, digest, miss = load_gold(path)
    assert (fact.kind, fact.answerable, fact.near_miss, fact.today) == ("fact", True, False, None)
    assert digest.answerable and digest.doc_ids == digest.docs == ("b.txt", "a.txt")
    assert digest.key_facts == (("640",), ("45 milioni", "45 million")) and digest.today == "2026-03-28"
    assert not miss.answerable and miss.near_miss and miss.articles == ("a.txt",)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ({"kind": "essay", "answers": [], "doc_ids": []}, "field 'kind' is 'essay'; use one of fact, summary"),
        ({"kind": "summary", "docs": ["a.txt"]}, "missing field(s) key_facts; a summary line needs"),
        ({"kind": "list", "docs": ["a.txt"], "key_facts": [3]}, "'key_facts' must be a list whose items"),
        ({"kind": "list", "docs": ["a.txt"], "key_facts": [[]]}, "'key_facts' must be a list whose items"),
        ({"kind": "list", "docs": ["a.txt"], "key_facts": []}, "'docs' and 'key_facts' must both be filled"),
        ({"kind": "summary", "docs": ["a.txt"], "key_facts": ["x"], "answers": ["x"]}, "leave 'answers' empty"),
        ({"answers": ["x"], "doc_ids": ["a.txt"], "key_facts": ["x"]}, "'key_facts' is for summary, digest, list"),
        ({"answers": ["x"], "doc_ids": ["a.txt"], "answerable": False}, "'answerable' is false but answers say true"),
        ({"answers": ["x"], "doc_ids": ["a.txt"], "about": ["a.txt"]}, "'about' is for near misses"),
        ({"answers": [], "doc_ids": [], "today": "15/04/2026"}, "field 'today' is '15/04/2026'; write the day"),
    ],
)
def test_malformed_kind_fields_name_the_line(tmp_path, line, message):
    path = tmp_path / "gold.jsonl"
    _lines(path, [{"id": "a", "question": "Dove?", "answers": ["Kiev"], "doc_ids": ["a.txt"]},
                  {"id": "b", "question": "Che cosa?", **line}])  # fmt: skip
    with pytest.raises(InputError) as excinfo:
        load_gold(path)
    assert f"{path}:2:" in str(excinfo.value) and message in str(excinfo.value)


# ---- the split -------------------------------------------------------------------------------------


def _split_set(tmp_path, halves: dict | str):
    rows = [
        {"id": "t1", "question": "Chi?", "answers": ["x"], "doc_ids": ["a.txt"]},
        {"id": "t2", "question": "E poi?", "answers": ["y"], "doc_ids": ["a.txt"], "follows": "t1"},
        {"id": "s1", "question": "Dove?", "answers": ["z"], "doc_ids": ["b.txt"]},
        {"id": "both", "kind": "digest", "question": "Novità?", "docs": ["a.txt", "b.txt"], "key_facts": ["x"]},
        {"id": "m1", "question": "Quanto?", "answers": [], "doc_ids": [], "about": ["a.txt"]},
        {"id": "c1", "question": "Chi è?", "answers": ["x"], "doc_ids": ["a.txt"]},
        {"id": "c2", "question": "E dove?", "answers": ["z"], "doc_ids": ["b.txt"], "follows": "c1"},
    ]
    _lines(tmp_path / "gold.jsonl", rows)
    write(tmp_path / HALVES_FILE, halves if isinstance(halves, str) else json.dumps(halves))
    return tmp_path / "gold.jsonl"


def test_a_halves_file_splits_by_article_and_keeps_conversations_whole(tmp_path):
    gold = _split_set(tmp_path, {"tune": ["a.txt"], "test": ["b.txt"]})
    tune, test = load_gold(gold, half="tune"), load_gold(gold, half="test")
    # the digest spans both halves: test; c2 is on b.txt, so its whole conversation (c1 too) is test
    assert [q.id for q in tune] == ["t1", "t2", "m1"]
    assert [q.id for q in test] == ["s1", "both", "c1", "c2"]
    assert [q.tags for q in test][:1] == [("half-test",)] and "half-tune" in tune[1].tags


@pytest.mark.parametrize(
    ("halves", "message"),
    [
        ({"tune": ["a.txt"], "test": []}, "article 'b.txt' (question s1) is in neither half; add it to tune or test"),
        ({"tune": ["a.txt", "b.txt"], "test": ["b.txt"]}, "article 'b.txt' is in both halves"),
        ({"tune": ["a.txt"], "test": "b.txt"}, "field 'test' must be a list of article ids"),
        ("[1, 2", "cannot read the halves file"),
    ],
)
def test_a_wrong_halves_file_is_named(tmp_path, halves, message):
    gold = _split_set(tmp_path, halves)
    with pytest.raises(InputError) as excinfo:
        load_gold(gold, half="test")
    assert str(tmp_path / HALVES_FILE) in str(excinfo.value) and message in str(excinfo.value)


def test_a_half_of_the_seeds_keeps_each_follow_up_with_the_question_it_follows():
    # a follow-up whose first question was in the other half crashed `rag eval eval/seeds.jsonl --half ...`
    # (KeyError: 'rutte-14'): each half is now whole conversations
    seeds = ROOT / "eval" / "seeds.jsonl"
    tune, test = load_gold(seeds, half="tune"), load_gold(seeds, half="test")
    assert len(tune) + len(test) == len(load_gold(seeds))
    for half in (tune, test):
        ids = {q.id for q in half}
        assert all(q.follows in ids for q in half if q.follows)
    assert {q.id for q in test} >= {"both-01"}  # its two articles: test if either is
