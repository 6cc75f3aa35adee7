"""Many readers at once (``rag bench concurrency``): N chats asked at the same moment, each a few gold
questions in a row with their follow-ups (the earlier answers as history), and how long each answer took
as its asker saw it: until its first checked text was shown, and until it was whole (p50/p95 over every
answer of the N chats). Also ``compare_runs``: how many answers differ between two ``rag eval`` runs (the
model in this process and the same model served, ``rag bench parity``).

Each chat has its own ``Assistant`` (its own retriever and search connection) over one shared embedder
(calls to it take turns: a query's vector is a few milliseconds) and one shared generator:

- **in this process** (llama.cpp): one model answers one question at a time, so questions take turns as on
  the page and in ``rag serve`` (one queue); the time waiting counts, as the asker waits it too;
- **served** (``--llm URL``): every chat sends its requests at once, and the server decides: llama.cpp's
  ``llama-server --parallel N`` and vLLM batch them (continuous batching), llama-cpp-python's
  ``python -m llama_cpp.server`` answers one at a time (it has no parallel slots; start it with
  ``--interrupt_requests False``, else a new request cuts the one streaming).

>>> chats = make_chats([_q("a"), _q("b", follows="a"), _q("c"), _q("d")], n=3, per_chat=2)
>>> [[q.id for q in chat] for chat in chats]
[['a', 'b'], ['c', 'd'], ['a', 'b']]
"""

from __future__ import annotations

import json
import os
import platform
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from rag.errors import InputError, RagError, check_counts


@dataclass
class Timed:
    """One answer as its asker saw it (seconds from the moment it was asked)."""

    chat: int
    question: str
    first_shown: float  # the first checked text (or the final answer, when nothing was shown before)
    whole: float
    refused: bool
    error: str = ""


@dataclass
class Round:
    """N chats at once: every answer's times, and the wall time of the whole round."""

    chats: int
    answers: list[Timed] = field(default_factory=list)
    wall: float = 0.0

    def row(self) -> dict:
        done = [a for a in self.answers if not a.error]
        firsts, wholes = [a.first_shown for a in done], [a.whole for a in done]
        return {
            "chats": self.chats,
            "answers": len(done),
            "errors": len(self.answers) - len(done),
            "first_p50": _percentile(firsts, 50),
            "first_p95": _percentile(firsts, 95),
            "whole_p50": _percentile(wholes, 50),
            "whole_p95": _percentile(wholes, 95),
            "wall": round(self.wall, 2),
            "per_minute": round(60 * len(done) / self.wall, 1) if self.wall else None,
        }


def _percentile(values: Sequence[float], p: float) -> float | None:
    """The ``p``-th percentile (nearest rank), rounded to 10 ms; None without values.

    >>> _percentile([1.0, 2.0, 3.0, 4.0], 50), _percentile([1.0, 2.0, 3.0, 4.0], 95), _percentile([], 50)
    (2.0, 4.0, None)
    """
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * p // 100))
    return round(ordered[int(rank) - 1], 2)


def _q(id: str, follows: str | None = None):  # for the doctest
    from rag.evaluation.gold import GoldQuestion

    return GoldQuestion(id=id, question=id, answers=(), doc_ids=(), follows=follows)


def make_chats(questions, n: int, per_chat: int = 3) -> list[list]:
    """``n`` chats of about ``per_chat`` gold questions each: whole conversations (a question and the ones
    following it up) taken in turn, so every chat has its follow-ups; chat ``i`` starts where chat ``i-1``
    stopped, and the set wraps round when there are more chats than questions."""
    check_counts(("chats", n), ("questions per chat", per_chat))
    by_root: dict[str, list] = {}
    root: dict[str, str] = {}
    for q in questions:
        root[q.id] = root.get(q.follows, q.follows) if q.follows else q.id
        by_root.setdefault(root[q.id], []).append(q)
    threads = list(by_root.values())
    if not threads:
        raise InputError("no gold questions to ask: give a gold file with questions")
    chats, at = [], 0
    for _ in range(n):
        chat: list = []
        while len(chat) < per_chat:
            chat.extend(threads[at % len(threads)])
            at += 1
        chats.append(chat)
    return chats


class _TakingTurns:
    """``obj`` whose methods are called one caller at a time (``lock``); attributes are passed through."""

    def __init__(self, obj, lock: threading.Lock):
        self._obj, self._lock = obj, lock

    def __getattr__(self, name):
        value = getattr(self._obj, name)
        if not callable(value):
            return value

        def call(*args, **kwargs):
            with self._lock:
                return value(*args, **kwargs)

        return call


def run_round(
    assistants: Sequence, chats: Sequence[Sequence], lock: threading.Lock | None, today=None, max_tokens=None
) -> Round:
    """Ask the ``chats`` at once, chat ``i`` by ``assistants[i]``, each question after the last one's answer
    (its history: the chat's earlier answers). With ``lock``, questions take turns (one model in this
    process); the time waiting for it counts."""
    result = Round(chats=len(chats))
    answers_lock = threading.Lock()
    start = threading.Barrier(len(chats) + 1)

    def chat(i: int) -> None:
        assistant, history = assistants[i], []
        start.wait()
        for q in chats[i]:
            asked, first, final, error = time.perf_counter(), None, None, ""
            past = history[-2:] if q.follows else []
            try:
                with lock or _nothing():
                    for answer in assistant.ask_stream(q.question, history=past, max_tokens=max_tokens, today=today):
                        if first is None and (answer.text or answer.done):
                            first = time.perf_counter() - asked
                        if answer.done:
                            final = answer
            except RagError as e:
                error = str(e)
            whole = time.perf_counter() - asked
            refused = bool(final and final.refused)
            with answers_lock:
                result.answers.append(Timed(i, q.question, first or whole, whole, refused, error))
            history.append((q.question, final.text if final else ""))

    threads = [threading.Thread(target=chat, args=(i,), daemon=True) for i in range(len(chats))]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    result.wall = time.perf_counter() - began
    return result


class _nothing:
    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return False


def bench_concurrency(
    make_assistant: Callable[[Callable], object],
    questions,
    counts: Sequence[int] = (1, 4, 8, 16),
    per_chat: int = 3,
    served: bool = False,
    on_round: Callable[[dict], None] | None = None,
    today=None,
) -> list[dict]:
    """One round per N in ``counts``; returns each round's row (``Round.row``). ``make_assistant(guard)``
    makes one chat's assistant, ``guard(obj)`` giving the objects it shares with the others (the embedder)
    in turns. ``served``: the generator is a server's, asked at once; else questions take turns."""
    check_counts(*[("chats", n) for n in counts])
    lock = threading.Lock()

    def guard(obj):
        return _TakingTurns(obj, lock=threading.Lock())

    rows, assistants = [], []
    for n in counts:
        while len(assistants) < n:
            assistants.append(make_assistant(guard))
        chats = make_chats(questions, n, per_chat)
        row = run_round(assistants[:n], chats, None if served else lock, today=today).row()
        rows.append(row)
        if on_round:
            on_round(row)
    return rows


def machine() -> str:
    """The CPU these figures came from (model name and cores)."""
    name = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                name = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{name}, {os.cpu_count()} cores"


HEADERS = (
    "chats",
    "answers",
    "errors",
    "first_p50",
    "first_p95",
    "whole_p50",
    "whole_p95",
    "wall",
    "per_minute",
)


def table(rows: Sequence[dict]) -> str:
    """The rows as a Markdown table, with each round's p95 whole answer against one chat's.

    >>> print(table([{"chats": 1, "whole_p95": 2.0}, {"chats": 4, "whole_p95": 5.0}]))  # doctest: +NORMALIZE_WHITESPACE
    | chats | answers | errors | first_p50 | first_p95 | whole_p50 | whole_p95 | wall | per_minute | p95 vs 1 chat |
    |---|---|---|---|---|---|---|---|---|---|
    | 1 |  |  |  |  |  | 2.0 |  |  | 1.0× |
    | 4 |  |  |  |  |  | 5.0 |  |  | 2.5× |
    """
    single = next((r.get("whole_p95") for r in rows if r.get("chats") == 1), None)
    lines = ["| " + " | ".join((*HEADERS, "p95 vs 1 chat")) + " |", "|" + "---|" * (len(HEADERS) + 1)]
    for row in rows:
        ratio = f"{row['whole_p95'] / single:.1f}×" if single and row.get("whole_p95") is not None else ""
        cells = ["" if row.get(h) is None else str(row.get(h)) for h in HEADERS]
        lines.append("| " + " | ".join((*cells, ratio)) + " |")
    return "\n".join(lines)


def write_report(rows: Sequence[dict], meta: dict, json_path: Path | None, markdown: Path | None) -> None:
    if json_path:
        json_path.write_text(json.dumps({"meta": meta, "rounds": list(rows)}, indent=2, ensure_ascii=False))
    if markdown:
        head = f"Reader: {meta['reader']}. CPU: {meta['cpu']}. {meta['per_chat']} questions per chat. Seconds.\n\n"
        markdown.write_text(f"{head}{table(rows)}\n\n`{meta['command']}`\n")


# ---- parity: the same questions answered in this process and by a server --------------------------------------
def compare_runs(a: str | Path, b: str | Path) -> dict:
    """How the answers of two ``rag eval`` runs (their ``report.json``) differ, question by question: text,
    refused or answered, right or wrong, the documents cited. Questions are matched by gold id.

    Returns counts and the differing questions (``differ``: id, question, the two answers)."""
    rows = [_rows(path) for path in (a, b)]
    shared = [i for i in rows[0] if i in rows[1]]
    if not shared:
        raise InputError(f"{a} and {b} share no question: compare two runs of the same gold file")
    out = {"questions": len(shared), "text": 0, "refused": 0, "right": 0, "cited": 0, "differ": []}
    for i in shared:
        x, y = rows[0][i], rows[1][i]
        changed = {
            "text": (x.get("answer") or "").strip() != (y.get("answer") or "").strip(),
            "refused": x.get("refused") != y.get("refused"),
            "right": x.get("right") != y.get("right"),
            "cited": sorted(x.get("cited_doc_ids") or []) != sorted(y.get("cited_doc_ids") or []),
        }
        for what, yes in changed.items():
            out[what] += yes
        if any(changed.values()):
            out["differ"].append(
                {"id": i, "question": x.get("question"), "a": x.get("answer"), "b": y.get("answer"), **changed}
            )
    return out


def _rows(path: str | Path) -> dict[str, dict]:
    path = Path(path)
    if path.is_dir():
        path = path / "report.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        rows = data["questions"] if isinstance(data, dict) else None
        return {r["id"]: r for r in rows}
    except (OSError, ValueError, KeyError, TypeError):
        raise InputError(f"{path}: not a rag eval report.json (give the --out folder of a rag eval run)") from None


def parity_lines(result: dict, a: str, b: str) -> list[str]:
    n = result["questions"]
    lines = [
        f"{n} questions in both runs ({a} | {b}):",
        f"  answer text differs: {result['text']}",
        f"  refused in one, answered in the other: {result['refused']}",
        f"  right in one, wrong in the other: {result['right']}",
        f"  cited documents differ: {result['cited']}",
    ]
    for d in result["differ"][:20]:
        lines.append(f"- {d['id']} {d['question']!r}\n    {d['a']!r}\n    {d['b']!r}")
    if len(result["differ"]) > 20:
        lines.append(f"… and {len(result['differ']) - 20} more (see the JSON with --out)")
    return lines
