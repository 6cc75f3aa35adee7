"""``rag bench concurrency`` and ``rag bench parity`` with scripted assistants and hand-written reports: how the
rounds are run and timed, and how two runs are compared (the real server's figures are the lead's to take)."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field

import pytest

from rag.evaluation import concurrency_bench as cb
from rag.evaluation.gold import GoldQuestion


@dataclass
class Said:
    text: str
    done: bool
    refused: bool = False


@dataclass
class Slow:
    """Answers after ``seconds``: shows a first text half-way, then the whole answer; records its histories."""

    seconds: float = 0.3
    histories: list = field(default_factory=list)

    def ask_stream(self, question, history=(), max_tokens=None, today=None):
        self.histories.append((question, list(history)))
        time.sleep(self.seconds / 2)
        yield Said(f"{question}…", False)
        time.sleep(self.seconds / 2)
        yield Said(f"risposta a {question}", True)


QUESTIONS = [
    GoldQuestion("a", "Chi?", (), ()),
    GoldQuestion("b", "E quando?", (), (), follows="a"),
    GoldQuestion("c", "Dove?", (), ()),
]


def test_chats_keep_conversations_whole_and_follow_ups_get_their_history():
    chats = cb.make_chats(QUESTIONS, n=2, per_chat=2)
    assert [[q.id for q in chat] for chat in chats] == [["a", "b"], ["c", "a", "b"]]
    slow = Slow(0.01)
    cb.run_round([slow], chats[:1], lock=None)
    assert slow.histories == [("Chi?", []), ("E quando?", [("Chi?", "risposta a Chi?")])]


def test_in_process_questions_take_turns_and_served_ones_go_at_once():
    chats = cb.make_chats(QUESTIONS[2:], n=4, per_chat=1)  # 4 chats of one question each
    queued = cb.run_round([Slow() for _ in chats], chats, lock=threading.Lock()).row()
    together = cb.run_round([Slow() for _ in chats], chats, lock=None).row()
    assert queued["answers"] == together["answers"] == 4 and queued["errors"] == 0
    assert queued["wall"] >= 4 * 0.3 * 0.95 and together["wall"] < 2 * 0.3  # one queue vs all at once
    assert queued["whole_p95"] >= 3 * together["whole_p50"]  # the last in the queue waited for three others
    assert together["first_p50"] < together["whole_p50"]  # the first text is shown before the end


def test_bench_concurrency_makes_one_assistant_per_chat_and_reports_each_round():
    made, shown = [], []

    def make(guard):
        made.append(Slow(0.02))
        return made[-1]

    rows = cb.bench_concurrency(make, QUESTIONS, counts=(1, 3), per_chat=2, served=True, on_round=shown.append)
    assert len(made) == 3 and rows == shown and [r["chats"] for r in rows] == [1, 3]
    text = cb.table(rows)
    assert "| 1 | 2 | 0 |" in text and text.splitlines()[2].endswith("1.0× |")


def report(path, answers: dict[str, tuple[str, bool, bool, list[str]]]):
    rows = [
        {"id": i, "question": f"q{i}", "answer": a, "refused": r, "right": ok, "cited_doc_ids": c}
        for i, (a, r, ok, c) in answers.items()
    ]
    path.mkdir()
    (path / "report.json").write_text(json.dumps({"schema_version": 1, "meta": {}, "questions": rows}))
    return path


def test_parity_counts_the_answers_that_differ(tmp_path):
    local = report(tmp_path / "local", {"1": ("Hnatov [1]", False, True, ["d"]), "2": ("Rutte", False, True, ["e"]),
                                        "3": ("No", True, True, [])})  # fmt: skip
    served = report(tmp_path / "served", {"1": ("Hnatov [1]", False, True, ["d"]), "2": ("No", True, False, []),
                                          "3": ("No", True, True, [])})  # fmt: skip
    result = cb.compare_runs(local, served)
    assert {k: result[k] for k in ("questions", "text", "refused", "right", "cited")} == {
        "questions": 3, "text": 1, "refused": 1, "right": 1, "cited": 1,
    }  # fmt: skip
    assert [d["id"] for d in result["differ"]] == ["2"]
    out = subprocess.run([sys.executable, "-m", "rag", "bench", "parity", str(local), str(served)],
                         capture_output=True, text=True, timeout=120)  # fmt: skip
    assert out.returncode == 0 and "refused in one, answered in the other: 1" in out.stdout


def test_parity_of_a_folder_without_a_report_is_one_line(tmp_path):
    (tmp_path / "empty").mkdir()
    out = subprocess.run([sys.executable, "-m", "rag", "bench", "parity", str(tmp_path / "empty"), str(tmp_path)],
                         capture_output=True, text=True, timeout=120)  # fmt: skip
    assert out.returncode == 2 and "not a rag eval report.json" in out.stderr + out.stdout
    assert "Traceback" not in out.stderr


@pytest.mark.parametrize("args", [["-n", "0"], ["--questions", "0"]])
def test_counts_below_one_are_refused(args):
    out = subprocess.run([sys.executable, "-m", "rag", "bench", "concurrency", *args],
                         capture_output=True, text=True, timeout=120)  # fmt: skip
    assert out.returncode == 2 and "x>=1" in out.stderr
