"""Gold question sets: our JSONL format or SQuAD v1.1 JSON(.gz).

JSONL, one object a line::

    {"id": "rutte-01", "question": "...", "answers": ["...", "..."], "doc_ids": ["000_917bb592a5e8f3ed.txt"]}

``answers`` are alternative acceptable answers; ``doc_ids`` the documents that hold the answer (any one
of them counts as a retrieval hit). A question the documents cannot answer has both lists empty.
An optional ``tags`` list of strings (e.g. ``["date", "en"]``) is kept for per-tag breakdowns.
An optional ``follows`` names the id of an earlier line: the question is a follow-up in a conversation
("E davanti a chi parlerà?" after "In che giorno Rutte sarà a Kiev?"), asked with the assistant's own
earlier answers as history (``conversation``); such a line is tagged ``follow-up``.

Question kinds (optional ``kind``, default ``fact``): a ``fact`` is scored on ``answers``/``doc_ids`` as above;
a ``summary`` (of one article), a ``digest`` (news by time or topic, newest first) or a ``list`` gives
``docs`` (the articles the answer must cite, and no other) and ``key_facts`` (each a string, or a list of
alternatives, one of which the answer must hold); ``answers`` and ``doc_ids`` may be left out there
(``doc_ids`` defaults to ``docs``). Optional on any line: ``answerable`` (``false`` for a question the
articles do not answer; checked against the rest of the line), ``about`` (the articles a near miss is
about, though they do not answer it) and ``today`` (``YYYY-MM-DD``, the day the question is asked; by
default the day after the newest article of the index).

Halves: ``half_of`` puts a question in ``tune`` or ``test`` by its articles (``doc_ids``, ``docs``, ``about``):
by the ``halves.json`` beside the gold file when there is one (the articles of each half, written
down), else by a hash of each article's name; a question whose articles fall in both halves is in
``test``, and a conversation (a question and its follow-ups) is in one half, ``test`` if any of it is.
In SQuAD the gold document of a question is its paragraph, ``<title>#<paragraph index>``, as
``rag.sources.ingest`` names it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import random
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from rag.errors import InputError
from rag.sources.ingest import jsonl_objects, read_squad_json, read_text, squad_doc_id

FIELDS = ("id", "question", "answers", "doc_ids")  # of a fact
NEWS_FIELDS = ("id", "question", "docs", "key_facts")  # of a summary, digest or list
KINDS = ("fact", "summary", "digest", "list")
NEWS_KINDS = KINDS[1:]  # scored as news questions (rag.evaluation.metrics.news_verdict)
HALVES_FILE = "halves.json"  # beside a gold file: its articles by half


@dataclass(frozen=True)
class GoldQuestion:
    id: str
    question: str
    answers: tuple[str, ...]
    doc_ids: tuple[str, ...]
    tags: tuple[str, ...] = ()
    follows: str | None = None  # id of the earlier question this one follows up
    kind: str = "fact"  # one of KINDS
    docs: tuple[str, ...] = ()  # news kinds: the articles to cite, all of them and no other (a digest: newest first)
    key_facts: tuple[tuple[str, ...], ...] = ()  # news kinds: each the alternatives of one fact the answer must hold
    about: tuple[str, ...] = ()  # the articles a near miss is about (they do not answer it)
    today: str | None = None  # YYYY-MM-DD, the day the question is asked; None: the day after the newest article

    @property
    def answerable(self) -> bool:
        return bool(self.answers or self.docs)

    @property
    def near_miss(self) -> bool:
        """Unanswerable, but on the subject of articles that are there (tagged ``near-miss``, or ``about`` given)."""
        return not self.answerable and ("near-miss" in self.tags or bool(self.about))

    @property
    def articles(self) -> tuple[str, ...]:
        """Every article the question names: the ones that answer it, must be cited, or that it is about."""
        return tuple(dict.fromkeys((*self.doc_ids, *self.docs, *self.about)))


def conversation(question: GoldQuestion, said: dict[str, tuple[str, str]], by_id: dict[str, GoldQuestion]):
    """The history to ask ``question`` with: the (question, answer) pairs of the questions it follows, oldest
    first, as ``said`` (id -> (question, answer given)) recorded them while asking the set in order."""
    chain, current = [], question.follows
    while current is not None and current in said:
        chain.append(said[current])
        current = by_id[current].follows
    return chain[::-1]


def is_squad(path: Path) -> bool:
    return path.name.lower().endswith((".json", ".json.gz"))


HALVES = ("tune", "test")


def _article(doc_id: str) -> str:
    return doc_id.rsplit("#", 1)[0]  # a SQuAD paragraph "<title>#<n>" belongs to its article "<title>"


def hashed_half(name: str) -> str:
    """The half of an article (or of a question tied to none) when no list says it: a hash of its name."""
    return HALVES[hashlib.sha1(name.encode("utf-8")).digest()[0] % 2]


def half_of(question: GoldQuestion, halves: Mapping[str, str] | None = None) -> str:
    """``tune`` or ``test``: a stable split by article, so the questions of one article are all on one side.
    Thresholds and prompts are chosen on ``tune``, reported on ``test``.

    An article's half is ``halves[article]`` when a mapping is given (``read_halves``), else ``hashed_half``
    of its name (a SQuAD paragraph counts as its article, its title). A question whose articles fall in both
    halves is in ``test``; one tied to no article is split by a hash of its id.

    >>> one, other = GoldQuestion("1", "Chi?", ("x",), ("Roma#3",)), GoldQuestion("2", "Dove?", ("y",), ("Roma#0",))
    >>> half_of(one) == half_of(other)
    True
    >>> both = GoldQuestion("3", "Novità?", (), (), kind="digest", docs=("a.txt", "b.txt"))
    >>> half_of(both, {"a.txt": "tune", "b.txt": "test"})
    'test'
    """
    articles = {_article(d) for d in question.articles}
    if not articles:
        return hashed_half(question.id)
    sides = {halves[a] if halves is not None else hashed_half(a) for a in articles}
    return "test" if "test" in sides else "tune"


def read_halves(path: Path) -> dict[str, str]:
    """The ``halves.json`` at ``path`` (``{"tune": [articles], "test": [articles]}``) as article -> half."""
    where = f"{path}"
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise InputError(f"{where}: cannot read the halves file ({e}); it must be a JSON object") from e
    if not isinstance(raw, dict):
        raise InputError(f'{where}: expected an object {{"tune": [articles], "test": [articles]}}')
    out: dict[str, str] = {}
    for half in HALVES:
        names = raw.get(half)
        if not isinstance(names, list) or not all(isinstance(n, str) and n.strip() for n in names):
            raise InputError(f"{where}: field {half!r} must be a list of article ids (file names)")
        for name in names:
            if out.get(name, half) != half:
                raise InputError(f"{where}: article {name!r} is in both halves; keep it in one")
            out[name] = half
    return out


def split_halves(questions: list[GoldQuestion], halves: Mapping[str, str] | None, source: str = "") -> list[str]:
    """The half of each question (``half_of``), a conversation kept in one half (``test`` if any of it is).

    With ``halves`` given, an article of a question missing from it is an ``InputError`` (``source`` names the
    halves file): a new article must be put in a half before its questions are asked.
    """
    if halves is not None:
        for q in questions:
            for article in (_article(d) for d in q.articles):
                if article not in halves:
                    raise InputError(
                        f"{source}: article {article!r} (question {q.id}) is in neither half; add it to tune or test"
                    )
    root: dict[str, str] = {}
    for q in questions:  # follows points at an earlier line, so the root of its chain is known already
        root[q.id] = root.get(q.follows, q.follows) if q.follows is not None else q.id
    own = [half_of(q, halves) for q in questions]
    tested = {root[q.id] for q, h in zip(questions, own, strict=True) if h == "test"}
    return ["test" if root[q.id] in tested else "tune" for q in questions]


def load_gold(
    path: str | Path, limit: int | None = None, sample: int | None = None, half: str | None = None
) -> list[GoldQuestion]:
    """Read a gold set (JSONL, or SQuAD v1.1 ``.json``/``.json.gz``); the first ``limit`` questions if given,
    or ``sample`` questions drawn at random (seed 0, so runs compare) and kept in file order; with ``half``
    (``tune`` or ``test``, see ``half_of``) only the questions of that half of the articles. A JSONL set with
    a ``halves.json`` beside it is split by that file, and each question is tagged with its half.

    Raises ``InputError`` naming the file and line (or SQuAD field) of the first problem.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such gold file; give a JSONL gold set or a SQuAD v1.1 JSON(.gz)")
    questions = _load_squad(path) if is_squad(path) else _load_jsonl(path)
    if limit is not None and sample is not None:
        raise InputError("give either limit (the first N questions) or sample (N drawn at random), not both")
    if not questions:
        raise InputError(f"{path}: no questions in this gold file")
    if half is not None and half not in HALVES:
        raise InputError(f"unknown half {half!r}; use one of {', '.join(HALVES)}")
    listed = path.parent / HALVES_FILE
    if not is_squad(path) and listed.is_file():
        sides = split_halves(questions, read_halves(listed), str(listed))
        questions = [
            dataclasses.replace(q, tags=(*q.tags, f"half-{side}")) for q, side in zip(questions, sides, strict=True)
        ]
    else:
        sides = split_halves(questions, None)
    if half is not None:
        questions = [q for q, side in zip(questions, sides, strict=True) if side == half]
        if not questions:
            raise InputError(f"{path}: none of its questions is in the {half} half (their articles are in the other)")
    if sample is not None and sample < len(questions):
        chosen = set(random.Random(0).sample(range(len(questions)), sample))
    else:
        chosen = set(range(limit if limit else len(questions)))
    position = {q.id: i for i, q in enumerate(questions)}
    for i in list(chosen):  # a follow-up is asked after the questions it follows
        current = questions[i].follows
        while current is not None:
            chosen.add(position[current])
            current = questions[position[current]].follows
    return [questions[i] for i in sorted(chosen)]


def _load_squad(path: Path) -> list[GoldQuestion]:
    out = []
    for i, article in enumerate(read_squad_json(path)):
        for j, para in enumerate(article["paragraphs"]):
            for q, qa in enumerate(para.get("qas", [])):
                if not isinstance(qa, dict) or not isinstance(qa.get("question"), str):
                    raise InputError(f"{path}: data[{i}].paragraphs[{j}].qas[{q}].question is missing")
                where = f"{path}: data[{i}].paragraphs[{j}].qas[{q}].answers"
                given = qa.get("answers", [])
                if not isinstance(given, list) or not all(
                    isinstance(a, dict) and isinstance(a.get("text", ""), str) for a in given
                ):
                    raise InputError(f'{where} must be a list of {{"text": "…", "answer_start": N}} objects')
                answers = tuple(dict.fromkeys(a["text"] for a in given if a.get("text", "").strip()))
                question = GoldQuestion(
                    str(qa.get("id", f"{i}-{j}-{q}")),
                    qa["question"],
                    answers,
                    (squad_doc_id(article["title"], j),) if answers else (),
                )
                # the half of the split it falls in, so a report gives figures for both (eval/README.md)
                out.append(dataclasses.replace(question, tags=(f"half-{half_of(question)}",)))
    return out


def _string_list(row: dict, field: str, where: str) -> tuple[str, ...]:
    value = row.get(field)
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise InputError(f"{where}: field {field!r} must be a list of non-empty strings (use [] for none)")
    return tuple(value)


def _key_facts(row: dict, where: str) -> tuple[tuple[str, ...], ...]:
    value = row.get("key_facts")
    out = []
    for fact in value if isinstance(value, list) else [None]:
        alternatives = [fact] if isinstance(fact, str) else fact
        if (
            not isinstance(alternatives, list)
            or not alternatives
            or not all(isinstance(a, str) and a.strip() for a in alternatives)
        ):
            raise InputError(
                f"{where}: field 'key_facts' must be a list whose items are strings or lists of alternative strings, "
                f'e.g. ["45 milioni", ["12 voti", "dodici voti"]] (use [] for none)'
            )
        out.append(tuple(alternatives))
    return tuple(out) if isinstance(value, list) else ()


def _news_fields(row: dict, kind: str, where: str) -> tuple[tuple[str, ...], tuple[str, ...], tuple, tuple]:
    """answers, doc_ids, docs, key_facts of a summary, digest or list line."""
    missing = [f for f in NEWS_FIELDS if f not in row]
    if missing:
        raise InputError(
            f"{where}: missing field(s) {', '.join(missing)}; a {kind} line needs {', '.join(NEWS_FIELDS)}"
        )
    docs = _string_list(row, "docs", where)
    key_facts = _key_facts(row, where)
    answers = _string_list(row, "answers", where) if "answers" in row else ()
    doc_ids = _string_list(row, "doc_ids", where) if "doc_ids" in row else docs
    if answers:
        raise InputError(f"{where}: a {kind} is scored on 'key_facts'; leave 'answers' empty or out")
    if not set(docs) <= set(doc_ids):
        raise InputError(f"{where}: every article of 'docs' must also be in 'doc_ids' (or leave 'doc_ids' out)")
    if bool(docs) != bool(key_facts) or bool(docs) != bool(doc_ids):
        raise InputError(
            f"{where}: 'docs' and 'key_facts' must both be filled (answerable) or both empty (unanswerable)"
        )
    return answers, doc_ids, docs, key_facts


def _today(row: dict, where: str) -> str | None:
    value = row.get("today")
    if value is None:
        return None
    try:
        if not isinstance(value, str) or len(value) != 10:
            raise ValueError
        date.fromisoformat(value)
    except ValueError as e:
        raise InputError(f"{where}: field 'today' is {value!r}; write the day as YYYY-MM-DD, or leave it out") from e
    return value


def _load_jsonl(path: Path) -> list[GoldQuestion]:
    out: list[GoldQuestion] = []
    seen: dict[str, int] = {}
    for number, row in jsonl_objects(path, read_text(path), ", ".join(FIELDS)):
        where = f"{path}:{number}"
        kind = row.get("kind", "fact")
        if kind not in KINDS:
            raise InputError(
                f"{where}: field 'kind' is {kind!r}; use one of {', '.join(KINDS)} (or leave it out: fact)"
            )
        if kind == "fact":
            missing = [f for f in FIELDS if f not in row]
            if missing:
                raise InputError(
                    f"{where}: missing field(s) {', '.join(missing)}; every line needs {', '.join(FIELDS)}"
                )
        if not isinstance(row["id"], str | int) or not str(row["id"]).strip():
            raise InputError(f"{where}: field 'id' must be a non-empty string")
        if not isinstance(row["question"], str) or not row["question"].strip():
            raise InputError(f"{where}: field 'question' must be a non-empty string")
        if kind == "fact":
            answers = _string_list(row, "answers", where)
            doc_ids = _string_list(row, "doc_ids", where)
            if bool(answers) != bool(doc_ids):
                raise InputError(
                    f"{where}: 'answers' and 'doc_ids' must both be filled (answerable) or both empty (unanswerable)"
                )
            for field in ("docs", "key_facts"):
                if field in row:
                    raise InputError(f"{where}: field {field!r} is for {', '.join(NEWS_KINDS)} lines; give 'kind'")
            docs, key_facts = (), ()
        else:
            answers, doc_ids, docs, key_facts = _news_fields(row, kind, where)
        about = _string_list(row, "about", where) if "about" in row else ()
        answerable = bool(answers or docs)
        if "answerable" in row and row["answerable"] is not answerable:
            said = "answers" if kind == "fact" else "docs and key_facts"
            raise InputError(
                f"{where}: 'answerable' is {json.dumps(row['answerable'])} but {said} say "
                f"{json.dumps(answerable)}; an unanswerable question has no {said}"
            )
        if about and answerable:
            raise InputError(f"{where}: 'about' is for near misses (unanswerable questions); use doc_ids or docs")
        today = _today(row, where)
        tags = _string_list(row, "tags", where) if "tags" in row else ()
        qid = str(row["id"])
        if qid in seen:
            raise InputError(f"{where}: id {qid!r} already used on line {seen[qid]}; ids must be unique")
        follows = row.get("follows")
        if follows is not None:
            if str(follows) not in seen:
                raise InputError(f"{where}: 'follows' must be the id of an earlier line, not {follows!r}")
            follows = str(follows)
            tags = tags if "follow-up" in tags else (*tags, "follow-up")
        seen[qid] = number
        out.append(
            GoldQuestion(qid, row["question"], answers, doc_ids, tags, follows, kind, docs, key_facts, about, today)
        )
    return out
