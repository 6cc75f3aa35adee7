"""``rag eval``: score retrieval and answers against a gold set."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import click

from rag.cli.options import index_option, reader_options, writable_folder


@click.command("eval")
@click.argument("gold", type=click.Path(path_type=Path))
@index_option(
    default=None,
    help="Index to search (name under ./index or $RAG_INDEX_DIR, or a path). Default: seeds for a JSONL gold "
    "set; for SQuAD, an index built once from the same file (index/<file stem>).",
)
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Only the first N questions.")
@click.option(
    "--sample",
    type=click.IntRange(min=1),
    default=None,
    help="N questions drawn at random across the file (seed 0, the same on every run) instead of the first N.",
)
@click.option(
    "--half",
    type=click.Choice(["tune", "test"]),
    default=None,
    help="Only the questions of one half of the articles (a stable split): tune on one, report on the other.",
)
@click.option("--retrieval-only", is_flag=True, help="Score retrieval only; do not generate answers.")
@reader_options(backend=False)
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    callback=writable_folder,
    default=None,
    help="Folder for report.json, report.md and plots. Default: eval/runs/<gold stem>-<mode>[-<half>].",
)
def eval_command(gold: Path, index, limit, sample, half, retrieval_only, reader, out) -> None:
    """Evaluate on GOLD: a JSONL gold set (see eval/README.md) or a SQuAD v1.1 JSON(.gz).

    Prints a summary and writes report.json, report.md, recall_at_k.png, latency.png and answers_by_kind.png
    (answers right, wrong and refused for each kind of question).
    Ctrl-C stops early and still writes the report of the questions done.

    \b
    Examples:
      rag eval eval/seeds.jsonl
      rag eval ../shared/datasets/squad-it/squad_it-dev.json.gz --retrieval-only
      rag eval eval/seeds.jsonl --llm http://127.0.0.1:8080/v1   (the model a server serves)
    """
    from rag.evaluation.run import evaluate
    from rag.evaluation.squad import squad_index_name

    if out is None:
        mode = "retrieval" if retrieval_only else "answers"
        out = Path("eval") / "runs" / "-".join([squad_index_name(gold), mode, *([half] if half else [])])
    assistant, model = None, reader.model
    if reader.url and not retrieval_only:  # the served model: loaded here, named with its server in the report
        from rag.answer.assistant import Assistant
        from rag.evaluation.gold import is_squad
        from rag.evaluation.squad import ensure_squad_index

        if index is None:
            index = str(ensure_squad_index(gold) if is_squad(gold) else "seeds")
        assistant = Assistant.load(index=index, **reader.settings())
        model = str(dataclasses.replace(reader, model=assistant.generator.name))
    report = evaluate(
        gold,
        index=index,
        limit=limit,
        sample=sample,
        half=half,
        retrieval_only=retrieval_only,
        model=model,
        assistant=assistant,
        out=out,
    )
    click.echo(report.table())
    click.echo(f"\nreport: {out / 'report.md'}  (figures: {out / 'report.json'})")
    if report.meta["interrupted"]:
        click.echo("interrupted: the report covers only the questions done", err=True)
        sys.exit(130)
