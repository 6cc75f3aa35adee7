"""What each check of the verifier (``rag.answer.verify.CHECKS``) does to single facts, measured by ablation.

One evaluation runs with every check switched off (``AskSettings.checks_off``), so every question gets the
answer it would have without them, and its ``Evidence`` records what each check measured and which fired.
From those rows the answers shown under any set of checks and thresholds are recomputed exactly (a check
only hides an answer), except that with checks on a doubtful answer from the best sentences is tried again
on the whole articles (``escalate``), which the ablation cannot replay: it may show a little less than the
real run.

For each check: the answers it alone hides that were right (its cost) and wrong or near misses (its gain),
and the figures with every check on but it. The precision-coverage curve follows ``max_doubt``, the one
threshold meant to be moved (``rag bench checks --curve``). Run it on the tune half to choose, then once on
the test half to report (``eval/RESULTS.md``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from rag.answer.verify import CHECKS, Reason, Thresholds, run_checks
from rag.types import Evidence

ALL_CHECKS = frozenset(r.name for r in Reason)
_FIELDS = {f.name for f in dataclasses.fields(Evidence)}
DOUBT_CURVE = (1.01, 0.5, 0.3, 0.2, 0.15, 0.1, 0.07, 0.05, 0.03, 0.02, 0.01)


@dataclass(frozen=True)
class Fact:
    """One single-fact question of the all-checks-off run."""

    id: str
    answerable: bool
    near_miss: bool
    answered: bool  # the model gave an answer (not "the sources do not say")
    right: bool  # that answer is right and cited (False for any answer to an unanswerable question)
    evidence: Evidence


@dataclass(frozen=True)
class Outcome:
    shown: int
    shown_right: int
    answerable: int
    near_misses: int
    near_misses_refused: int

    @property
    def precision(self) -> float | None:
        return self.shown_right / self.shown if self.shown else None

    @property
    def coverage(self) -> float | None:
        return self.shown_right / self.answerable if self.answerable else None

    @property
    def near_miss_refusal(self) -> float | None:
        return self.near_misses_refused / self.near_misses if self.near_misses else None


def facts_of(rows: Iterable) -> list[Fact]:
    """The single facts of an evaluation's rows (``QuestionRow`` objects or ``report.json``'s dicts)."""
    out = []
    for row in rows:
        get = row.get if isinstance(row, Mapping) else lambda name, default=None, r=row: getattr(r, name, default)
        if get("kind", "fact") != "fact" or get("refused") is None:
            continue
        evidence = Evidence(**{k: v for k, v in (get("evidence") or {}).items() if k in _FIELDS})
        answered = not get("refused")
        answerable = bool(get("answerable"))
        right = answered and answerable and bool(get("right"))
        out.append(Fact(get("id"), answerable, bool(get("near_miss")), answered, right, evidence))
    return out


def shown(fact: Fact, thresholds: Thresholds, off: frozenset[str]) -> bool:
    """Whether the answer is shown with the checks not ``off``, at ``thresholds``."""
    if not fact.answered:
        return False
    evidence = dataclasses.replace(fact.evidence, fired=[], reasons=[])
    return not run_checks(evidence, thresholds, off)


def outcome(facts: Sequence[Fact], thresholds: Thresholds, off: frozenset[str] = frozenset()) -> Outcome:
    visible = [f for f in facts if shown(f, thresholds, off)]
    near = [f for f in facts if f.near_miss]
    return Outcome(
        shown=len(visible),
        shown_right=sum(f.right for f in visible),
        answerable=sum(f.answerable for f in facts),
        near_misses=len(near),
        near_misses_refused=sum(not shown(f, thresholds, off) for f in near),
    )


@dataclass(frozen=True)
class CheckEffect:
    check: str  # Reason name
    hides_right: int  # right answers only this check hides (its cost)
    hides_wrong: int  # wrong answers and near misses only this check hides (its gain)
    without: Outcome  # every other check on


def effects(facts: Sequence[Fact], thresholds: Thresholds) -> list[CheckEffect]:
    """Each check's own effect: what it alone hides, and the figures with all checks on but it."""
    out = []
    for check in CHECKS:
        name = check.reason.name
        others = frozenset({name})
        alone = [f for f in facts if shown(f, thresholds, others) and not shown(f, thresholds, frozenset())]
        out.append(
            CheckEffect(name, sum(f.right for f in alone), sum(not f.right for f in alone),
                        outcome(facts, thresholds, others))
        )  # fmt: skip
    return out


def doubt_curve(facts: Sequence[Fact], thresholds: Thresholds, values: Sequence[float] = DOUBT_CURVE):
    """``(max_doubt, Outcome)`` as the doubt check is made stricter, every other check as ``thresholds``."""
    return [(v, outcome(facts, dataclasses.replace(thresholds, max_doubt=v))) for v in values]


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{100 * x:.0f}%"


def _row(label: str, o: Outcome) -> str:
    return (
        f"| {label} | {o.shown} | {o.shown_right} | {_pct(o.precision)} | {o.shown_right}/{o.answerable} "
        f"({_pct(o.coverage)}) | {o.near_misses_refused}/{o.near_misses} ({_pct(o.near_miss_refusal)}) |"
    )


def markdown(facts: Sequence[Fact], thresholds: Thresholds, curve: bool = False) -> str:
    """The ablation as Markdown tables: all checks, none, and each check left out; the curve if asked."""
    lines = [
        "| checks | shown | right | precision | answerable answered right | near misses refused |",
        "|---|---:|---:|---:|---:|---:|",
        _row("all on", outcome(facts, thresholds)),
        _row("all off", outcome(facts, thresholds, ALL_CHECKS)),
    ]
    lines += [_row(f"all but {e.check.lower()}", e.without) for e in effects(facts, thresholds)]
    lines += ["", "| check | hides alone: right (cost) | hides alone: wrong or near miss (gain) |", "|---|---:|---:|"]
    lines += [f"| {e.check.lower()} | {e.hides_right} | {e.hides_wrong} |" for e in effects(facts, thresholds)]
    if curve:
        lines += ["", "| max_doubt | shown | right | precision | answerable answered right | near misses refused |",
                  "|---:|---:|---:|---:|---:|---:|"]  # fmt: skip
        lines += [_row(f"{v:g}", o) for v, o in doubt_curve(facts, thresholds)]
    return "\n".join(lines)
