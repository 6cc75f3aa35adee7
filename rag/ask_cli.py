"""``rag ask`` (answer with sources), ``rag bench-answers`` (speed and accuracy on seed questions) and
``rag calibrate-refusal`` (refusal precision/recall on SQuAD-it). Heavy imports stay inside the commands."""

from __future__ import annotations

import click

# Seed gold questions: (question, accepted answer substrings, doc id of the source); no doc = unanswerable.
SEED_QUESTIONS: list[tuple[str, tuple[str, ...], str | None]] = [
    ("Chi accompagnava Umerov a Bruxelles?", ("Hnatov",), "004_bfb007c660085e29.txt"),
    ("Quando sarà Mark Rutte a Kiev?", ("3 febbraio",), "000_917bb592a5e8f3ed.txt"),
    ("Chi si recherà a Kiev su invito di Zelensky nei prossimi giorni?", ("Tusk",), "000_917bb592a5e8f3ed.txt"),
    ("Quale paese ha ritirato il veto sulle sanzioni contro Mosca?", ("Slovacchia",), "000_917bb592a5e8f3ed.txt"),
    ("Dove terrà un discorso Mark Rutte?", ("Verkhovna Rada", "Parlamento ucraino"), "000_917bb592a5e8f3ed.txt"),
    (
        "Dove si svolgono gli incontri di Umerov con i consiglieri per la sicurezza nazionale?",
        ("Bruxelles",),
        "004_bfb007c660085e29.txt",
    ),
    ("Who accompanied Umerov to Brussels?", ("Hnatov",), "004_bfb007c660085e29.txt"),
    ("Chi ha vinto il Festival di Sanremo 2026?", (), None),
    ("Quanti soldati ucraini sono morti nel 2025?", (), None),
]


def _echo_answer_sources(answer) -> None:
    if answer.refused:
        return
    click.echo()
    for c in answer.citations:
        when = f" ({c.date})" if c.date else ""
        click.echo(click.style(f"[{c.number}] {c.doc_id}{when}", bold=True) + f"  {c.title}")
        click.echo(f"    «{c.quote}»")


def _erase(text: str) -> None:
    """Move the cursor back over ``text`` just streamed to a terminal and clear it."""
    import shutil

    width = max(20, shutil.get_terminal_size().columns)
    lines = sum(max(1, -(-len(line) // width)) for line in text.split("\n"))
    click.echo("\r" + ("\x1b[1A" * (lines - 1)) + "\x1b[J", nl=False)


@click.command("ask")
@click.argument("question")
@click.option("--index", "-i", default="seeds", show_default=True, help="Index name under ./index (or a path).")
@click.option(
    "--model", "-m", default=None, help="Built-in LLM name, GGUF file or HF folder. Default: qwen2.5-1.5b-instruct."
)
@click.option("--backend", type=click.Choice(["llama-cpp", "transformers"]), default="llama-cpp", show_default=True)
@click.option("-k", type=int, default=None, help="Passages to retrieve (default 4).")
@click.option("--max-tokens", type=int, default=None, help="Answer length cap in tokens (default 80).")
@click.option(
    "--passage-tokens", type=int, default=None, help="Prompt budget for passages (default 200; 100 answers faster)."
)
@click.option("--json", "as_json", is_flag=True, help="Print the whole Answer as JSON (no streaming).")
def ask(question, index, model, backend, k, max_tokens, passage_tokens, as_json) -> None:
    """Answer QUESTION from the indexed articles, with numbered sources.

    The answer streams as it is written, then is replaced by its checked version: [n] markers
    point to the sources listed below it. When the sources do not hold the answer, a fixed
    message says so (refused).
    """
    import json
    import sys

    from rag.config import DEFAULT_LLM
    from rag.pipeline import Assistant

    settings = {"passage_tokens": passage_tokens} if passage_tokens else {}
    assistant = Assistant.load(index, model=model or DEFAULT_LLM, backend=backend, **settings)
    if as_json:
        click.echo(
            json.dumps(assistant.ask(question, k=k, max_tokens=max_tokens).to_dict(), indent=2, ensure_ascii=False)
        )
        return
    live = sys.stdout.isatty()
    shown = ""
    final = None
    for answer in assistant.ask_stream(question, k=k, max_tokens=max_tokens):
        if answer.done:
            final = answer
            break
        if live and answer.text.startswith(shown):
            click.echo(click.style(answer.text[len(shown) :], dim=True), nl=False)
            shown = answer.text
    if live and shown:
        _erase(shown)
    click.echo(final.text)
    _echo_answer_sources(final)
    if final.refused and shown:
        click.echo(click.style("(the draft answer was withdrawn: it is not supported by the sources)", dim=True))


def _contains(text: str, accepted) -> bool:
    from rag.language import fold

    return any(fold(a) in fold(text) for a in accepted)


@click.command("bench-answers")
@click.option("--index", "-i", default="seeds", show_default=True, help="Index to ask.")
@click.option(
    "--model", "-m", "models", multiple=True, help="LLM(s) to measure (repeatable). Default: the default model."
)
@click.option("--backend", type=click.Choice(["llama-cpp", "transformers"]), default="llama-cpp", show_default=True)
@click.option(
    "--gold",
    type=click.Path(dir_okay=False),
    default=None,
    help="JSONL gold set (id, question, answers, doc_ids). Default: the built-in seed questions.",
)
@click.option("--repeat", default=1, show_default=True, help="Ask each question this many times (timings).")
@click.option("--passage-tokens", type=int, default=None, help="Prompt budget for passages (default 200).")
@click.option("--out", type=click.Path(dir_okay=False), default=None, help="Also write the figures as JSON here.")
def bench_answers(index, models, backend, gold, repeat, passage_tokens, out) -> None:
    """Time to first token, total time (p50/p95) and accuracy on gold questions, per model.

    Accuracy: an answerable question counts when the answer contains an accepted answer and cites
    the gold document; an unanswerable one when it is refused. The first question of each model is
    asked once untimed (warm-up).
    """
    import json
    import time

    from rag.config import DEFAULT_LLM
    from rag.metrics import percentile
    from rag.pipeline import Assistant

    if gold:
        from rag.gold import load_gold

        questions = [(g.question, g.answers, g.doc_ids[0] if g.doc_ids else None) for g in load_gold(gold)]
    else:
        questions = SEED_QUESTIONS
    settings = {"passage_tokens": passage_tokens} if passage_tokens else {}
    report = {}
    for model in models or (DEFAULT_LLM,):
        started = time.perf_counter()
        assistant = Assistant.load(index, model=model, backend=backend, **settings)
        load = time.perf_counter() - started
        assistant.ask(questions[0][0])  # warm-up
        ttft, total, rows = [], [], []
        for question, accepted, doc in questions:
            for _ in range(repeat):
                answer = assistant.ask(question)
                total.append(answer.timings["total"])
                if "first_token" in answer.timings:
                    ttft.append(answer.timings["first_token"])
            cited = {c.doc_id for c in answer.citations}
            ok = (
                answer.refused
                if doc is None
                else (not answer.refused and _contains(answer.text, accepted) and doc in cited)
            )
            rows.append(
                {
                    "question": question,
                    "ok": ok,
                    "refused": answer.refused,
                    "text": answer.text,
                    "cited": sorted(cited),
                    "timings": answer.timings,
                }
            )
            click.echo(f"{'ok ' if ok else 'BAD'} {question}\n    {answer.text}  {sorted(cited)}")
        figures = {
            "load_s": load,
            "ttft_p50": percentile(ttft, 50),
            "ttft_p95": percentile(ttft, 95),
            "total_p50": percentile(total, 50),
            "total_p95": percentile(total, 95),
            "accuracy": sum(r["ok"] for r in rows) / len(rows),
            "questions": len(rows),
            "rows": rows,
        }
        report[model] = figures
        click.echo(
            f"{model}: load {load:.1f} s | "
            f"first token p50 {figures['ttft_p50']:.2f} s p95 {figures['ttft_p95']:.2f} s | "
            f"total p50 {figures['total_p50']:.2f} s p95 {figures['total_p95']:.2f} s | "
            f"accuracy {sum(r['ok'] for r in rows)}/{len(rows)}"
        )
        del assistant
    if out:
        with open(out, "w", encoding="utf-8") as handle:
            json.dump(report, handle, indent=2, ensure_ascii=False)


class _Excluding:
    """A retriever that hides the documents of one SQuAD article (ids ``<title>#<n>``)."""

    def __init__(self, inner, title: str):
        self.inner, self.prefix = inner, title + "#"

    def search(self, query, k=5, filters=None, mode=None):
        import dataclasses

        hits = [
            h
            for h in self.inner.search(query, k=k + 60, filters=filters, mode=mode)
            if not h.doc_id.startswith(self.prefix)
        ]
        return [dataclasses.replace(h, rank=i) for i, h in enumerate(hits[:k], 1)]

    def __getattr__(self, name):
        return getattr(self.inner, name)


@click.command("calibrate-refusal")
@click.option(
    "--dataset",
    type=click.Path(dir_okay=False),
    default=None,
    help="SQuAD v1.1 JSON(.gz). Default: ../shared/datasets/squad-it/squad_it-dev.json.gz",
)
@click.option("--index", "-i", default="squad-it-dev", show_default=True, help="Index built from that dataset.")
@click.option("--model", "-m", default=None, help="LLM (default: the default model).")
@click.option(
    "--limit", default=40, show_default=True, help="Questions (each asked twice: with and without its article)."
)
@click.option(
    "--out", type=click.Path(dir_okay=False), default=None, help="Write the per-question measurements (JSONL)."
)
@click.option(
    "--retrieval-limit", default=200, show_default=True, help="Questions for the retrieval-only check (fast)."
)
@click.option("--max-tokens", default=48, show_default=True, help="Answer length cap during calibration.")
def calibrate_refusal(dataset, index, model, limit, out, retrieval_limit, max_tokens) -> None:
    """Measure the refusal features on answerable questions and on the same questions asked with their
    article hidden, pick thresholds on the first half and report refusal precision/recall on the second."""
    import json
    import random

    from rag.bench import default_dataset
    from rag.config import DEFAULT_LLM
    from rag.gold import load_gold
    from rag.grounding import Thresholds, coverage
    from rag.pipeline import Assistant

    gold = load_gold(dataset or default_dataset())
    assistant = Assistant.load(index, model=model or DEFAULT_LLM, min_coverage=-1, min_dense=-1, min_support=-1)
    present = set(assistant.retriever.store.doc_ids())
    gold = [g for g in gold if g.doc_ids and g.doc_ids[0] in present]
    random.Random(0).shuffle(gold)
    full = assistant.retriever
    retrieval_rows = []
    for g in gold[:retrieval_limit]:  # retrieval evidence only: the check made before any generation
        for answerable in (True, False):
            retriever = full if answerable else _Excluding(full, g.doc_ids[0].rsplit("#", 1)[0])
            hits = retriever.search(g.question, k=assistant.settings.k)
            retrieval_rows.append(
                {
                    "answerable": answerable,
                    "coverage": coverage(g.question, [h.text for h in hits]),
                    "dense": assistant._dense(g.question, hits),
                    "support": None,
                    "focus": None,
                    "model_refused": False,
                    "correct": answerable,
                }
            )
    click.echo(
        f"retrieval-only check on {len(retrieval_rows)} questions, default thresholds: "
        + describe(refusal_scores(retrieval_rows, Thresholds()))
    )
    gold = gold[:limit]
    rows = []
    for i, g in enumerate(gold):
        for answerable in (True, False):
            assistant.retriever = full if answerable else _Excluding(full, g.doc_ids[0].rsplit("#", 1)[0])
            answer = assistant.ask(g.question, max_tokens=max_tokens)
            e = assistant.last_evidence
            rows.append(
                {
                    "id": g.id,
                    "question": g.question,
                    "answerable": answerable,
                    "coverage": e.coverage,
                    "dense": e.dense,
                    "support": e.support,
                    "focus": e.focus,
                    "model_refused": e.model_refused,
                    "correct": answerable and _contains(e.reply, g.answers),
                    "reply": e.reply,
                    "half": "tune" if i < len(gold) // 2 else "test",
                    "total_s": answer.timings["total"],
                }
            )
            click.echo(json.dumps(rows[-1], ensure_ascii=False), err=True)
    assistant.retriever = full
    if out:
        with open(out, "w", encoding="utf-8") as handle:
            handle.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    best = choose_thresholds([r for r in rows if r["half"] == "tune"])
    click.echo(f"chosen on the tune half: {best}")
    for half in ("tune", "test"):
        click.echo(f"{half}: " + describe(refusal_scores([r for r in rows if r["half"] == half], best)))
    click.echo("default " + str(Thresholds()) + ": " + describe(refusal_scores(rows, Thresholds())))


def _refuses(row: dict, t) -> bool:
    from rag.grounding import Evidence

    e = Evidence(
        coverage=row["coverage"],
        dense=row["dense"],
        support=row["support"],
        focus=row["focus"],
        model_refused=row["model_refused"],
    )
    return t.refuse(e)


def refusal_scores(rows: list[dict], t) -> dict:
    """Refusal precision/recall (positive = unanswerable), and answerable questions answered correctly."""
    refused = [_refuses(r, t) for r in rows]
    tp = sum(1 for r, x in zip(rows, refused, strict=True) if x and not r["answerable"])
    fp = sum(1 for r, x in zip(rows, refused, strict=True) if x and r["answerable"])
    fn = sum(1 for r, x in zip(rows, refused, strict=True) if not x and not r["answerable"])
    answerable = [r for r in rows if r["answerable"]]
    kept_correct = sum(1 for r, x in zip(rows, refused, strict=True) if r["answerable"] and not x and r["correct"])
    return {
        "precision": tp / (tp + fp) if tp + fp else float("nan"),
        "recall": tp / (tp + fn) if tp + fn else float("nan"),
        "refused_answerable": fp,
        "answerable": len(answerable),
        "answered_correctly": kept_correct,
        "correct_before_refusal": sum(r["correct"] for r in answerable),
    }


def describe(s: dict) -> str:
    return (
        f"refusal precision {s['precision']:.2f}, recall {s['recall']:.2f}; "
        f"answerable refused {s['refused_answerable']}/{s['answerable']}; "
        f"answered correctly {s['answered_correctly']} (model right before refusal: {s['correct_before_refusal']})"
    )


def choose_thresholds(rows: list[dict]):
    """The thresholds with the best refusal F1 on ``rows`` (ties: fewer answerable questions refused)."""
    import itertools

    from rag.grounding import Thresholds

    best, best_key = Thresholds(), None
    grid = itertools.product(
        (0.0, 0.3, 0.4, 0.5, 0.6, 0.7),
        (-1.0, 0.3, 0.35, 0.4, 0.45, 0.5, 0.55),
        (0.0, 0.25, 0.5, 0.67, 0.75),
        (0.0, 0.2, 0.3, 0.4, 0.5),
    )
    for cov, dense, sup, focus in grid:
        t = Thresholds(min_coverage=cov, min_dense=dense, min_support=sup, min_focus=focus)
        s = refusal_scores(rows, t)
        p, r = s["precision"], s["recall"]
        f1 = 0.0 if not (p == p and r == r) or p + r == 0 else 2 * p * r / (p + r)
        key = (round(f1, 4), -s["refused_answerable"])
        if best_key is None or key > best_key:
            best, best_key = t, key
    return best
