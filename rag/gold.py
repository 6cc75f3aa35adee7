"""Gold question sets: our JSONL format or SQuAD v1.1 JSON(.gz).

JSONL, one object a line: ``{"id", "question", "answers": [...], "doc_ids": [...]}``.
Empty ``answers`` and ``doc_ids`` mark a question the documents cannot answer.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from rag.errors import InputError
from rag.ingest import read_squad_json, read_text, squad_doc_id


@dataclass(frozen=True)
class GoldQuestion:
    id: str
    question: str
    answers: tuple[str, ...]
    doc_ids: tuple[str, ...]

    @property
    def answerable(self) -> bool:
        return bool(self.answers)


def is_squad(path: Path) -> bool:
    return path.name.lower().endswith((".json", ".json.gz"))


def load_gold(path: str | Path, limit: int | None = None) -> list[GoldQuestion]:
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such gold file; give a JSONL gold set or a SQuAD v1.1 JSON(.gz)")
    questions = _load_squad(path) if is_squad(path) else _load_jsonl(path)
    return questions[:limit] if limit else questions


def _load_squad(path: Path) -> list[GoldQuestion]:
    out = []
    for i, article in enumerate(read_squad_json(path)):
        for j, para in enumerate(article["paragraphs"]):
            for q, qa in enumerate(para.get("qas", [])):
                if not isinstance(qa, dict) or not isinstance(qa.get("question"), str):
                    raise InputError(f"{path}: data[{i}].paragraphs[{j}].qas[{q}].question is missing")
                answers = tuple(dict.fromkeys(a["text"] for a in qa.get("answers", []) if isinstance(a, dict) and a.get("text")))
                out.append(
                    GoldQuestion(str(qa.get("id", f"{i}-{j}-{q}")), qa["question"], answers, (squad_doc_id(article["title"], j),))
                )
    return out


def _load_jsonl(path: Path) -> list[GoldQuestion]:
    out = []
    for number, line in enumerate(read_text(path).splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as e:
            raise InputError(f"{path}:{number}: not valid JSON ({e.msg}); fix or remove that line") from e
        if not isinstance(row, dict):
            raise InputError(f"{path}:{number}: expected an object with id, question, answers, doc_ids")
        if not isinstance(row.get("question"), str) or not row["question"].strip():
            raise InputError(f"{path}:{number}: field 'question' is missing or empty")
        for field in ("answers", "doc_ids"):
            value = row.get(field, [])
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise InputError(f"{path}:{number}: field {field!r} must be a list of strings")
        out.append(GoldQuestion(str(row.get("id", number)), row["question"], tuple(row.get("answers", [])), tuple(row.get("doc_ids", []))))
    return out
