"""``rag bench retrieval|answers|context|refusal|concurrency|parity|checks``: the measurements behind eval/RESULTS.md.

Each command parses, calls one function of ``rag.evaluation`` and prints its figures.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click

from rag.cli.options import (
    backend_option,
    index_option,
    out_file_option,
    passage_tokens_option,
    reader_options,
    server_options,
    writable_file,
)
from rag.config import DEFAULT_EMBEDDER, DEFAULT_LLM


@click.group()
def bench() -> None:
    """Measure speed and accuracy (retrieval, answers, prompt context, refusal calibration, concurrency,
    parity of two runs, the checks of the verifier)."""


@bench.command("retrieval")
@click.option(
    "--dataset",
    type=click.Path(path_type=Path),
    default=None,
    help="SQuAD v1.1 JSON(.gz) to measure on. Default: ../shared/datasets/squad-it/squad_it-dev.json.gz",
)
@click.option(
    "--setting",
    "settings",
    multiple=True,
    metavar="MODEL[:DIM][@PRECISION]",
    help="Embedder setting to measure (repeatable), e.g. multilingual-e5-small, embeddinggemma-300m@float32, "
    "embeddinggemma-300m:256. Default: the default embedder, precision auto.",
)
@click.option(
    "--limit", type=click.IntRange(min=1), default=None, help="Use only the first N paragraphs (and their questions)."
)
@click.option(
    "--latency-questions",
    type=click.IntRange(min=1),
    default=200,
    show_default=True,
    help="Questions searched one by one for p50.",
)
@click.option(
    "--markdown",
    type=click.Path(path_type=Path),
    callback=writable_file,
    default=None,
    help="Also write the table, this command and a machine note here (notes below the marker are kept).",
)
@out_file_option("Also write the figures as JSON here.")
@click.option(
    "--paired-speed",
    type=click.IntRange(min=0),
    default=0,
    metavar="N",
    help="Instead: indexing speed only, the settings taking turns on the same batches of N paragraphs.",
)
@click.option(
    "--scale",
    default=None,
    metavar="N[,N…]",
    help="Instead: index size figures at N chunks (e.g. 100000,1000000): FAISS flat vs approximate vs Milvus vs "
    "the product's own store on synthetic 384-d vectors, and BM25 on N passages of real text (N up to 100,000).",
)
@click.option(
    "--ann",
    type=click.Choice(["auto", "hnsw", "ivfpq"]),
    default="auto",
    show_default=True,
    help="With --scale: the approximate FAISS index (auto: HNSW up to 500k vectors, IVF-PQ re-ranked above).",
)
@click.option("--no-milvus", is_flag=True, help="With --scale: leave Milvus out.")
@click.option(
    "--store-only",
    is_flag=True,
    help="With --scale: only the product's own store, an index folder of N synthetic chunks written as "
    "`rag index build` writes it and searched as `rag serve` searches it (p50, p95, recall@10 against exact).",
)
def bench_retrieval(
    dataset, settings, limit, latency_questions, markdown, out, paired_speed, scale, ann, no_milvus, store_only
) -> None:
    """Measure retrieval (R@1/R@5/R@10/MRR@10 for lexical, dense, hybrid), indexing chunks/s, peak memory
    and query latency on a SQuAD file, for one or more embedder settings.

    The embedding cache is bypassed, so indexing speed is real. Figures from a machine doing other
    work are lower; the table ends with a note of the machine and its load.
    """
    from rag.evaluation import retrieval_bench as benchmark
    from rag.evaluation.squad import default_dataset

    dataset = dataset or default_dataset()
    if scale:
        from rag.evaluation.scale_bench import run_scale, scale_table

        try:
            sizes = [int(n.replace("_", "")) for n in scale.split(",")]
            if any(n < 1 for n in sizes):
                raise ValueError("a size below 1")
        except ValueError as e:
            message = f"{scale!r}: give sizes as whole numbers of at least 1, like 100000,1000000"
            raise click.BadParameter(message, param_hint="--scale") from e
        rows = run_scale(sizes, ann=ann, milvus=not no_milvus, dataset=dataset, store_only=store_only)
        click.echo(scale_table(rows))
        click.echo(benchmark.machine_note())
        return
    parsed = [benchmark.EmbedderSetting.parse(s) for s in settings or [DEFAULT_EMBEDDER]]
    if paired_speed:
        from rag.evaluation.paired_speed import paired_speed as measure_paired
        from rag.evaluation.paired_speed import paired_table

        click.echo(paired_table(measure_paired(dataset, parsed, paragraphs=paired_speed)))
        click.echo(benchmark.machine_note())
        return
    figures = benchmark.run_bench(dataset, limit=limit, settings=parsed, latency_questions=latency_questions)
    click.echo(figures.table())
    if out:
        out.write_text(json.dumps(figures.to_dict(), indent=2))
    if markdown:
        threads = f"OMP_NUM_THREADS={os.environ['OMP_NUM_THREADS']} " if "OMP_NUM_THREADS" in os.environ else ""
        benchmark.write_markdown(figures, markdown, threads + "rag " + " ".join(sys.argv[1:]))


@bench.command("answers")
@index_option(help="Index to ask.")
@click.option(
    "--model", "-m", "models", multiple=True, help=f"Answer model(s) to measure (repeatable). Default: {DEFAULT_LLM}."
)
@backend_option
@server_options
@click.option(
    "--gold",
    type=click.Path(dir_okay=False),
    default="eval/seeds.jsonl",
    show_default=True,
    help="JSONL gold set (id, question, answers, doc_ids).",
)
@click.option(
    "--repeat", type=click.IntRange(min=1), default=1, show_default=True, help="Ask each question this many times."
)
@passage_tokens_option
@out_file_option("Also write the figures as JSON here.")
def bench_answers(index, models, backend, server, gold, repeat, passage_tokens, out) -> None:
    """Time to first token, total time (p50/p95) and accuracy on gold questions, per model.

    Accuracy is rag eval's "right": an answerable question counts when the answer contains an accepted
    answer and every cited document is gold; an unanswerable one when it is refused. The first question
    of each model is asked once untimed (warm-up). With --llm, the model(s) a server serves.
    """
    import time

    from rag.answer.assistant import Assistant
    from rag.evaluation.answers_bench import bench_answers as measure
    from rag.evaluation.gold import load_gold

    questions = load_gold(gold)
    report = {}
    for model in models or ((None,) if server else (DEFAULT_LLM,)):
        started = time.perf_counter()
        reader = {"backend": backend, **server}  # --llm: the served model (None: the server's only one)
        assistant = Assistant.load(index, model=model, **reader, passage_tokens=passage_tokens)
        load_s = time.perf_counter() - started
        model = assistant.generator.name

        def show(row) -> None:
            click.echo(f"{'ok ' if row.right else 'BAD'} {row.question}\n    {row.text}  {row.cited}")

        figures = measure(assistant, questions, model, load_s, repeat, on_row=show)
        click.echo(figures.summary())
        report[model] = figures.to_dict()
        del assistant
    if out:
        with open(out, "w", encoding="utf-8") as handle:
            json.dump(report, handle, indent=2, ensure_ascii=False)


@bench.command("context")
@click.argument("gold", required=False, type=click.Path(dir_okay=False))
@index_option(default=None, help="Index to search (default: as rag eval picks it).")
@click.option(
    "--sample", type=click.IntRange(min=1), default=300, show_default=True, help="Questions drawn at random (seed 0)."
)
@click.option(
    "--budget",
    "budgets",
    multiple=True,
    type=click.IntRange(min=20),
    help="Passage budgets in tokens (default 200 and 100).",
)
@click.option(
    "--model", "-m", default=DEFAULT_LLM, show_default=True, help="Answer model whose tokenizer counts tokens."
)
@click.option("-k", default=None, type=click.IntRange(min=1), help="Passages retrieved (default: the assistant's).")
def bench_context(gold, index, sample, budgets, model, k) -> None:
    """Context recall: the share of answerable questions whose prompt sentences contain a gold answer,
    per passage budget, with sentences ranked by shared words alone and with embedding similarity added.

    GOLD defaults to the SQuAD-it dev slice (../shared/datasets/squad-it/squad_it-dev.json.gz).
    """
    from rag.answer.settings import AskSettings
    from rag.evaluation.context import context_recall
    from rag.evaluation.gold import is_squad, load_gold
    from rag.evaluation.squad import default_dataset, ensure_squad_index
    from rag.index.retriever import Retriever
    from rag.models.generate import load_generator

    gold = Path(gold) if gold else default_dataset()
    if index is None:
        index = ensure_squad_index(gold) if is_squad(gold) else "seeds"
    questions = load_gold(gold, sample=sample)
    retriever = Retriever.load(index)
    generator = load_generator(model)
    rows = context_recall(questions, retriever, generator.count_tokens, budgets or (200, 100), k or AskSettings().k)
    click.echo(f"{gold}: {rows[0].questions if rows else 0} answerable questions, index {index}")
    click.echo("| passage budget | sentences ranked by | answer in prompt |")
    click.echo("|---|---|---|")
    for r in rows:
        click.echo(f"| {r.budget} tokens | {r.ranking} | {r.found}/{r.questions} ({r.recall:.1%}) |")


@bench.command("refusal")
@click.option(
    "--dataset",
    type=click.Path(dir_okay=False),
    default=None,
    help="SQuAD v1.1 JSON(.gz). Default: ../shared/datasets/squad-it/squad_it-dev.json.gz",
)
@index_option(default="squad-it-dev", help="Index built from that dataset.")
@click.option("--model", "-m", default=DEFAULT_LLM, show_default=True, help="Answer model.")
@click.option(
    "--limit",
    type=click.IntRange(min=1),
    default=40,
    show_default=True,
    help="Questions (each asked twice: with and without its article).",
)
@out_file_option("Write the per-question measurements (JSONL).")
@click.option(
    "--retrieval-limit",
    type=click.IntRange(min=1),
    default=200,
    show_default=True,
    help="Questions for the retrieval-only check (fast).",
)
@click.option(
    "--max-tokens", type=click.IntRange(min=1), default=48, show_default=True, help="Answer length cap (calibration)."
)
@click.option(
    "--near-miss",
    is_flag=True,
    help="Hide only the paragraph that answers (the rest of its article is still found), not the whole article.",
)
def bench_refusal(dataset, index, model, limit, out, retrieval_limit, max_tokens, near_miss) -> None:
    """Calibrate refusal: measure the refusal evidence on answerable questions and on the same questions
    asked with their article (or, with --near-miss, their paragraph) hidden, pick thresholds on the tune
    half of the articles and report refusal precision/recall on the test half."""
    from rag.answer.assistant import Assistant
    from rag.evaluation.calibrate import calibrate_refusal
    from rag.evaluation.gold import load_gold
    from rag.evaluation.squad import default_dataset

    gold = load_gold(dataset or default_dataset())
    assistant = Assistant.load(index, model=model, min_coverage=-1, min_dense=-1, min_support=-1)
    result = calibrate_refusal(assistant, gold, limit, retrieval_limit, max_tokens, near_miss=near_miss)
    if out:
        with open(out, "w", encoding="utf-8") as handle:
            handle.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in result.rows)
    for line in result.lines():
        click.echo(line)


@bench.command("concurrency")
@index_option(help="Index to ask.")
@reader_options
@click.option(
    "--gold",
    type=click.Path(dir_okay=False),
    default="eval/seeds.jsonl",
    show_default=True,
    help="JSONL gold set whose questions (and follow-ups) the chats ask.",
)
@click.option(
    "--chats",
    "-n",
    "counts",
    type=click.IntRange(min=1),
    multiple=True,
    help="Chats asking at once, one round each (repeatable). Default: 1, 4, 8, 16.",
)
@click.option(
    "--questions", "per_chat", type=click.IntRange(min=1), default=3, show_default=True, help="Questions per chat."
)
@out_file_option("Also write the rounds as JSON here.")
@click.option(
    "--markdown",
    type=click.Path(path_type=Path),
    callback=writable_file,
    default=None,
    help="Also write the table here.",
)
def bench_concurrency_command(index, reader, gold, counts, per_chat, out, markdown) -> None:
    """N chats asking at once: p50/p95 time to the first checked text and to the whole answer.

    Each chat asks a few gold questions in a row, follow-ups with their history. With the model in this
    process, questions take turns (one model, one queue); with --llm URL, every chat's requests go to the
    server at once and it batches them if it can (llama.cpp's llama-server --parallel N, vLLM). Each chat's
    first question is asked once untimed first (warm-up).

    \b
    Example (a llama.cpp server with 8 slots, then this process, same model):
      llama-server -m qwen2.5-1.5b-instruct-q4_k_m.gguf --port 8080 --parallel 8 -c 32768
      rag bench concurrency --llm http://127.0.0.1:8080/v1 --out served.json --markdown served.md
      rag bench concurrency --model qwen2.5-1.5b-instruct --out local.json --markdown local.md
    """
    from rag.answer.assistant import Assistant
    from rag.answer.settings import make_settings
    from rag.evaluation import concurrency_bench as cb
    from rag.evaluation.gold import load_gold
    from rag.index.retriever import Retriever

    questions = load_gold(gold)
    counts = counts or (1, 4, 8, 16)
    first = Assistant.load(index, **reader.settings())  # the generator and embedder all chats share
    generator, embedder = first.generator, first.retriever.embedder
    shared_embedder = None

    def make_assistant(guard):
        nonlocal shared_embedder
        shared_embedder = shared_embedder or guard(embedder)
        assistant = Assistant(Retriever.load(index, embedder=shared_embedder), generator, make_settings())
        for _ in assistant.ask_stream(questions[0].question):  # warm-up, untimed
            pass
        return assistant

    label = f"{generator.name} served at {generator.where}" if reader.url else generator.name
    click.echo(f"reader: {label}; CPU: {cb.machine()}", err=True)
    click.echo("| " + " | ".join((*cb.HEADERS, "p95 vs 1 chat")) + " |")
    rows: list[dict] = []

    def show(row: dict) -> None:
        rows.append(row)
        click.echo(cb.table(rows).splitlines()[-1])

    cb.bench_concurrency(make_assistant, questions, counts, per_chat, served=bool(reader.url), on_round=show)
    meta = {"reader": label, "cpu": cb.machine(), "per_chat": per_chat, "gold": str(gold), "served": bool(reader.url),
            "command": "rag " + " ".join(_without_key(sys.argv[1:]))}  # fmt: skip
    cb.write_report(rows, meta, out, markdown)


def _without_key(args: list[str]) -> list[str]:
    """The command line without the API key's value (it is never written down)."""
    out, skip = [], False
    for arg in args:
        if skip:
            out.append("KEY")
        else:
            out.append("--api-key=KEY" if arg.startswith("--api-key=") else arg)
        skip = arg == "--api-key"
    return out


@bench.command("parity")
@click.argument("run_a", type=click.Path(exists=True, path_type=Path))
@click.argument("run_b", type=click.Path(exists=True, path_type=Path))
@out_file_option("Also write the counts and the differing questions as JSON here.")
def bench_parity(run_a, run_b, out) -> None:
    """How many answers differ between two rag eval runs (their --out folders): e.g. the model in this
    process and the same model served with --llm.

    \b
    Example:
      rag eval eval/seeds.jsonl --model qwen2.5-1.5b-instruct --out eval/runs/local
      rag eval eval/seeds.jsonl --llm http://127.0.0.1:8080/v1 --out eval/runs/served
      rag bench parity eval/runs/local eval/runs/served
    """
    from rag.evaluation.concurrency_bench import compare_runs, parity_lines

    result = compare_runs(run_a, run_b)
    for line in parity_lines(result, str(run_a), str(run_b)):
        click.echo(line)
    if out:
        out.write_text(json.dumps(result, indent=2, ensure_ascii=False))


@bench.command("checks")
@click.argument("gold", required=False, type=click.Path(dir_okay=False), default="eval/dev/questions.jsonl")
@index_option(default="dev", help="Index the gold set's articles are in.")
@reader_options
@click.option(
    "--half",
    type=click.Choice(["tune", "test"]),
    default=None,
    help="Only this half of the articles (choose on tune, report once on test). [default: all]",
)
@click.option(
    "--from",
    "report",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="The report.json of an earlier all-checks-off run, instead of running one (--out of this command).",
)
@click.option("--curve", is_flag=True, help="Also the precision-coverage curve as the doubt check is made stricter.")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Also write the all-checks-off run's report files here (report.json: give it to --from).",
)
def bench_checks(gold, index, reader, half, report, curve, out) -> None:
    """What each check of the verifier does to single facts, by ablation.

    Runs the gold set once with every check off, so each question gets the answer it would have without
    them and a record of which checks fired, then recomputes what would be shown with all checks, none,
    and each one left out: the answers it alone hides that were right (its cost) and wrong or near misses
    (its gain). Summaries, digests and lists are not checked this way and are left out.

    \b
    Example:
      rag bench checks --half tune --curve --out runs/checks-tune
      rag bench checks --from runs/checks-tune/report.json --curve
    """
    from rag.answer.refusal import DENSE_FLOORS
    from rag.answer.verify import Thresholds
    from rag.errors import InputError
    from rag.evaluation import checks_bench as cb

    if report:
        try:
            data = json.loads(Path(report).read_text(encoding="utf-8"))
            rows, embedder = data["questions"], data["meta"]["embedder"]
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise click.BadParameter(f"{report}: not a report.json of rag eval ({e})", param_hint="--from") from e
    else:
        from rag.answer.assistant import Assistant
        from rag.evaluation.run import evaluate

        try:
            assistant = Assistant.load(index, checks_off=cb.ALL_CHECKS, **reader.settings())
            result = evaluate(gold, index=index, assistant=assistant, half=half, out=out)
        except InputError as e:
            raise click.UsageError(str(e)) from e
        rows, embedder = result.rows, result.meta["embedder"]
    facts = cb.facts_of(rows)
    if not facts:
        raise click.UsageError("no single-fact question was answered in that run: nothing to measure")
    click.echo(f"{len(facts)} single facts, checks at their defaults (embedder {embedder})\n")
    click.echo(cb.markdown(facts, Thresholds(min_dense=DENSE_FLOORS.get(embedder)), curve=curve))
