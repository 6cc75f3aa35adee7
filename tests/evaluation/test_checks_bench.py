"""The ablation of the verifier's checks (rag.evaluation.checks_bench) on rows of an all-checks-off run:
pure, fast (the rows are written by hand as rag eval writes them)."""

from __future__ import annotations

from rag.answer.verify import Thresholds
from rag.evaluation.checks_bench import facts_of, markdown, outcome

SOUND = {"coverage": 0.9, "dense": 0.9, "support": 1.0, "doubt": 0.01, "cited": True, "verbatim": True}


def row(id, answerable=True, right=True, refused=False, near_miss=False, kind="fact", **evidence):
    return {"id": id, "kind": kind, "answerable": answerable, "near_miss": near_miss, "refused": refused,
            "right": right, "evidence": {**SOUND, **evidence, "fired": ["ignored: recomputed"]}}  # fmt: skip


ROWS = [
    row("right"),
    row("right, doubtful", doubt=0.3),
    row("wrong, doubtful", right=False, doubt=0.4),
    row("wrong, not verbatim", right=False, verbatim=False),
    row("near miss answered", answerable=False, right=False, near_miss=True, doubt=0.5),
    row("near miss answered, unnoticed", answerable=False, right=False, near_miss=True),
    row("model said no", refused=True, right=False),
    row("a summary", kind="summary"),
]


def test_the_rows_are_the_single_facts_and_their_evidence():
    facts = facts_of(ROWS)
    assert [f.id for f in facts] == [r["id"] for r in ROWS[:-1]]
    assert facts[1].evidence.doubt == 0.3 and not facts[-1].answered and not facts[4].right


def test_what_is_shown_is_recomputed_for_any_checks_and_thresholds():
    facts = facts_of(ROWS)
    everything = outcome(facts, Thresholds(min_dense=0.5))
    assert (everything.shown, everything.shown_right, everything.answerable) == (2, 1, 5)
    assert (everything.near_misses, everything.near_misses_refused) == (2, 1)
    no_doubt = outcome(facts, Thresholds(min_dense=0.5), frozenset({"DOUBT"}))
    assert (no_doubt.shown, no_doubt.shown_right, no_doubt.near_misses_refused) == (5, 2, 0)
    lenient = outcome(facts, Thresholds(min_dense=0.5, max_doubt=0.35))
    assert (lenient.shown, lenient.shown_right) == (3, 2)


def test_the_report_gives_each_checks_cost_and_gain():
    text = markdown(facts_of(ROWS), Thresholds(min_dense=0.5), curve=True)
    assert "| all on | 2 | 1 | 50% | 1/5 (20%) | 1/2 (50%) |" in text
    assert "| doubt | 1 | 2 |" in text  # hides one right answer alone, and one wrong and one near miss
    assert "| not_verbatim | 0 | 1 |" in text
    assert "| max_doubt |" in text


def test_the_command_reads_an_earlier_run_and_refuses_a_file_that_is_not_one(tmp_path):
    import json

    from click.testing import CliRunner

    from rag.cli import cli

    report = tmp_path / "report.json"
    report.write_text(json.dumps({"meta": {"embedder": "multilingual-e5-small"}, "questions": ROWS}))
    result = CliRunner().invoke(cli, ["bench", "checks", "--from", str(report), "--curve"])
    assert result.exit_code == 0, result.output
    assert (
        result.output.startswith("7 single facts")
        and "| all on |" in result.output
        and "| max_doubt |" in result.output
    )
    (tmp_path / "bad.json").write_text("[1, 2]")
    result = CliRunner().invoke(cli, ["bench", "checks", "--from", str(tmp_path / "bad.json")])
    assert result.exit_code == 2 and "bad.json: not a report.json of rag eval" in result.output
