"""Gold question sets: our JSONL format or SQuAD v1.1 JSON(.gz).

JSONL, one object a line::

    {"id": "rutte-01", "question": "...", "answers": ["...", "..."], "doc_ids": ["000_917bb592a5e8f3ed.txt"]}

``answers`` are alternative acceptable answers; ``doc_ids`` the documents that hold the answer (any one
of them counts as a retrieval hit). A question the documents cannot answer has both lists empty.
An optional ``tags`` list of strings (e.g. ``["date", "en"]``) is kept for per-tag breakdowns.
An optional ``follows`` names the id of an earlier line: the question is a follow-up in a conversation
("E davanti a chi parlerà?" after "In che giorno Rutte sarà a Kiev?"), asked with the assistant's own
earlier answers as history (``conversation``); such a line is tagged ``follow-up``.
In SQuAD the gold document of a question is its paragraph, ``<title>#<paragraph index>``, as
``rag.sources.ingest`` names it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import random
from dataclasses import dataclass
from pathlib import Path

from rag.errors import InputError
from rag.sources.ingest import jsonl_objects, read_squad_json, read_text, squad_doc_id

FIELDS = ("id", "question", "answers", "doc_ids")


@dataclass(frozen=True)
class GoldQuestion:
    id: str
    question: str
    answers: tuple[str, ...]
    doc_ids: tuple[str, ...]
    tags: tuple[str, ...] = ()
    follows: str | None = None  # id of the earlier question this one follows up

    @property
    def answerable(self) -> bool:
        return bool(self.answers)


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


def half_of(question: GoldQuestion) -> str:
    """``tune`` or ``test``: a stable split by article (SQuAD title, or the gold document), so the questions
    of one article are all on one side. Thresholds and prompts are chosen on ``tune``, reported on ``test``.

    >>> one, other = GoldQuestion("1", "Chi?", ("x",), ("Roma#3",)), GoldQuestion("2", "Dove?", ("y",), ("Roma#0",))
    >>> half_of(one) == half_of(other)
    True
    """
    article = (question.doc_ids[0] if question.doc_ids else question.id).rsplit("#", 1)[0]
    return HALVES[hashlib.sha1(article.encode("utf-8")).digest()[0] % 2]


def load_gold(
    path: str | Path, limit: int | None = None, sample: int | None = None, half: str | None = None
) -> list[GoldQuestion]:
    """Read a gold set (JSONL, or SQuAD v1.1 ``.json``/``.json.gz``); the first ``limit`` questions if given,
    or ``sample`` questions drawn at random (seed 0, so runs compare) and kept in file order; with ``half``
    (``tune`` or ``test``, see ``half_of``) only the questions of that half of the articles.

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
    if half is not None:
        if half not in HALVES:
            raise InputError(f"unknown half {half!r}; use one of {', '.join(HALVES)}")
        questions = [q for q in questions if half_of(q) == half]
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
                # the half of the split it falls in, so a report gives figures for both (README: answers)
                out.append(dataclasses.replace(question, tags=(f"half-{half_of(question)}",)))
    return out


def _string_list(row: dict, field: str, where: str) -> tuple[str, ...]:
    value = row.get(field)
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise InputError(f"{where}: field {field!r} must be a list of non-empty strings (use [] for none)")
    return tuple(value)


def _load_jsonl(path: Path) -> list[GoldQuestion]:
    out: list[GoldQuestion] = []
    seen: dict[str, int] = {}
    for number, row in jsonl_objects(path, read_text(path), ", ".join(FIELDS)):
        where = f"{path}:{number}"
        missing = [f for f in FIELDS if f not in row]
        if missing:
            raise InputError(f"{where}: missing field(s) {', '.join(missing)}; every line needs {', '.join(FIELDS)}")
        if not isinstance(row["id"], str | int) or not str(row["id"]).strip():
            raise InputError(f"{where}: field 'id' must be a non-empty string")
        if not isinstance(row["question"], str) or not row["question"].strip():
            raise InputError(f"{where}: field 'question' must be a non-empty string")
        answers = _string_list(row, "answers", where)
        doc_ids = _string_list(row, "doc_ids", where)
        if bool(answers) != bool(doc_ids):
            raise InputError(
                f"{where}: 'answers' and 'doc_ids' must both be filled (answerable) or both empty (unanswerable)"
            )
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
        out.append(GoldQuestion(qid, row["question"], answers, doc_ids, tags, follows))
    return out
