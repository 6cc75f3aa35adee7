"""``rag ask`` (answer with sources) and ``rag bench-answers`` (speed and accuracy on a gold set).
Heavy imports stay inside the commands."""

from __future__ import annotations

import click


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
    if final.refused:
        withdrawn = "the draft answer was withdrawn; " if shown else ""
        click.echo(click.style(f"({withdrawn}why: {', '.join(final.refusal_reasons)})", dim=True))


@click.command("bench-answers")
@click.option("--index", "-i", default="seeds", show_default=True, help="Index to ask.")
@click.option(
    "--model", "-m", "models", multiple=True, help="LLM(s) to measure (repeatable). Default: the default model."
)
@click.option("--backend", type=click.Choice(["llama-cpp", "transformers"]), default="llama-cpp", show_default=True)
@click.option(
    "--gold",
    type=click.Path(dir_okay=False),
    default="eval/seeds.jsonl",
    show_default=True,
    help="JSONL gold set (id, question, answers, doc_ids).",
)
@click.option("--repeat", default=1, show_default=True, help="Ask each question this many times (timings).")
@click.option("--passage-tokens", type=int, default=None, help="Prompt budget for passages (default 200).")
@click.option("--out", type=click.Path(dir_okay=False), default=None, help="Also write the figures as JSON here.")
def bench_answers(index, models, backend, gold, repeat, passage_tokens, out) -> None:
    """Time to first token, total time (p50/p95) and accuracy on gold questions, per model.

    Accuracy: an answerable question counts when the answer contains an accepted answer (as `rag eval`'s
    "contains") and cites a gold document; an unanswerable one when it is refused. The first question of each model is
    asked once untimed (warm-up).
    """
    import json
    import time

    from rag.config import DEFAULT_LLM
    from rag.gold import load_gold
    from rag.metrics import answer_contains, percentile
    from rag.pipeline import Assistant

    questions = [(g.question, g.answers, set(g.doc_ids)) for g in load_gold(gold)]
    settings = {"passage_tokens": passage_tokens} if passage_tokens else {}
    report = {}
    for model in models or (DEFAULT_LLM,):
        started = time.perf_counter()
        assistant = Assistant.load(index, model=model, backend=backend, **settings)
        load = time.perf_counter() - started
        assistant.ask(questions[0][0])  # warm-up
        ttft, total, rows = [], [], []
        for question, accepted, docs in questions:
            for _ in range(repeat):
                answer = assistant.ask(question)
                total.append(answer.timings["total"])
                if "first_token" in answer.timings:
                    ttft.append(answer.timings["first_token"])
            cited = {c.doc_id for c in answer.citations}
            ok = (
                answer.refused
                if not docs
                else (not answer.refused and bool(answer_contains(answer.text, accepted)) and bool(docs & cited))
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
