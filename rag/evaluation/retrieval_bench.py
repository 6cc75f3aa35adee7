"""``rag bench retrieval``: retrieval quality, indexing speed and query latency on a SQuAD file.

For each embedder setting (model, dimension, precision/backend) it builds a throw-away index with the
embedding cache off, so the speed is real, then asks the questions in each search mode. A hit is any
chunk of the question's gold paragraph (``<title>#<index>``). The lexical row is measured once (it
does not depend on the embedder, except through the tokenizer that sizes chunks: the first setting's).

- Recall (R@1, R@5, R@10, MRR@10) is over every question. To keep a full run short, the questions'
  vectors are computed in batches first and looked up at search time; they match what
  ``embed_query`` gives one at a time up to rounding.
- Latency (p50/p95) is over the first ``latency_questions`` questions, each searched for real: the
  query is embedded on its own, as in the product.
- Indexing speed is chunk + embed + store for the whole slice, wall clock. Because machines here are
  shared, the table also gives the rate implied by the process's CPU time on 2 cores.

Rerun the published table (``eval/retrieval-figures.md``; on a shared box ``OMP_NUM_THREADS=1`` is steadier)::

    rag bench retrieval --setting multilingual-e5-small --setting embeddinggemma-300m@bfloat16 \\
        --setting embeddinggemma-300m@float32 --markdown eval/retrieval-figures.md
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import resource
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from rag.config import DEFAULT_EMBEDDER
from rag.errors import InputError
from rag.evaluation.gold import load_gold
from rag.evaluation.metrics import first_relevant_rank, mrr_at, percentile, recall_at
from rag.index.chunk import chunk_document
from rag.index.indexer import build_index
from rag.index.retriever import Retriever
from rag.models.embed import PRECISIONS, Embedder, load_embedder
from rag.sources.ingest import read_squad
from rag.stores.lexical import LexicalIndex
from rag.types import ChunkSettings


@dataclass(frozen=True)
class EmbedderSetting:
    """One embedder configuration to measure; ``parse`` reads ``MODEL[:DIM][@PRECISION]``.

    >>> EmbedderSetting.parse("embeddinggemma-300m:256@bfloat16")
    EmbedderSetting(model='embeddinggemma-300m', dim=256, precision='bfloat16')
    """

    model: str = DEFAULT_EMBEDDER
    dim: int | None = None
    precision: str = "auto"

    @classmethod
    def parse(cls, text: str) -> EmbedderSetting:
        rest, _, precision = text.partition("@")
        model, _, dim = rest.partition(":")
        if precision and precision not in PRECISIONS:
            raise InputError(f"setting {text!r}: precision must be one of {', '.join(PRECISIONS)}")
        if dim and not dim.isdigit():
            raise InputError(f"setting {text!r}: the dimension after ':' must be a number, like {model}:256")
        return cls(model or DEFAULT_EMBEDDER, int(dim) if dim else None, precision or "auto")


@dataclass
class ModeFigures:
    mode: str
    recall_1: float
    recall_5: float
    recall_10: float
    mrr_10: float
    query_p50_ms: float
    query_p95_ms: float


@dataclass
class SettingFigures:
    """One embedder setting: what it was, how fast it indexed, and its dense and hybrid figures."""

    model: str
    backend: str
    precision: str
    dim: int
    model_load_s: float
    chunks: int
    index_s: float
    chunks_per_s: float
    cpu_chunks_per_s: float  # 2 x chunks / CPU seconds of the build: the rate on 2 free cores
    modes: list[ModeFigures] = field(default_factory=list)

    @property
    def label(self) -> str:
        return f"{self.model} {self.precision} {self.dim}d"


@dataclass
class BenchFigures:
    dataset: str
    paragraphs: int
    questions: int
    latency_questions: int
    lexical: ModeFigures | None = None
    lexical_chunks_per_s: float = 0.0  # chunking + BM25, no embedding
    settings: list[SettingFigures] = field(default_factory=list)
    peak_rss_mb: float = 0.0
    machine: str = ""

    def to_dict(self) -> dict:
        return asdict(self)

    def rows(self) -> list[tuple[str, str, ModeFigures, float, float | None]]:
        """(mode, embedder label, figures, chunks/s wall, chunks/s from CPU time) for each table row."""
        out = []
        if self.lexical:
            out.append(("lexical", "BM25 (it stemmer)", self.lexical, self.lexical_chunks_per_s, None))
        for s in self.settings:
            for m in s.modes:
                out.append((m.mode, s.label, m, s.chunks_per_s, s.cpu_chunks_per_s))
        return out

    def table(self) -> str:
        lines = [
            f"dataset {self.dataset}: {self.paragraphs} paragraphs, {self.questions} questions "
            f"(latency over the first {self.latency_questions})",
            f"{'mode':<8} {'embedder':<36} {'R@1':>6} {'R@5':>6} {'MRR@10':>7} {'chunks/s':>9} "
            f"{'(2 cores)':>9} {'p50 ms':>7}",
        ]
        for mode, label, m, wall, cpu in self.rows():
            cpu_text = f"{cpu:9.2f}" if cpu is not None else f"{'-':>9}"
            lines.append(
                f"{mode:<8} {label:<36} {m.recall_1:6.3f} {m.recall_5:6.3f} {m.mrr_10:7.3f} {wall:9.2f} "
                f"{cpu_text} {m.query_p50_ms:7.1f}"
            )
        for s in self.settings:
            lines.append(f"{s.label}: {s.chunks} chunks indexed in {s.index_s:.1f}s; model load {s.model_load_s:.1f}s")
        lines.append(f"peak RSS {self.peak_rss_mb:.0f} MB; {self.machine}")
        return "\n".join(lines)

    def markdown(self, command: str) -> str:
        head = (
            "| mode | embedder | R@1 | R@5 | MRR@10 | indexing chunks/s (wall) | chunks/s (2 cores, CPU time) "
            "| query p50 ms |\n|---|---|---|---|---|---|---|---|\n"
        )
        body = "".join(
            f"| {mode} | {label} | {m.recall_1:.3f} | {m.recall_5:.3f} | {m.mrr_10:.3f} | {wall:.2f} | "
            f"{f'{cpu:.2f}' if cpu is not None else '-'} | {m.query_p50_ms:.1f} |\n"
            for mode, label, m, wall, cpu in self.rows()
        )
        return (
            f"Dataset `{self.dataset}`: {self.paragraphs} paragraphs, {self.questions} questions; "
            f"latency over the first {self.latency_questions} questions.\n\n{head}{body}\n"
            f"Command: `{command}`\n\nMachine: {self.machine}; peak RSS {self.peak_rss_mb:.0f} MB.\n"
        )


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def machine_note() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text(errors="replace").splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    threads = os.environ.get("OMP_NUM_THREADS", "default")
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return f"{os.cpu_count()} cores ({cpu}), OMP threads {threads}, load average {load} at the end"


def run_bench(
    dataset: Path,
    model: str = DEFAULT_EMBEDDER,
    dim: int | None = None,
    limit: int | None = None,
    precision: str = "auto",
    settings: Sequence[EmbedderSetting] | None = None,
    latency_questions: int = 200,
) -> BenchFigures:
    """Measure the lexical row once and, for each embedder setting, indexing speed and dense/hybrid rows.

    ``settings`` defaults to the one given by ``model``/``dim``/``precision``.
    """
    if not Path(dataset).exists():
        raise InputError(f"{dataset}: no such dataset; pass --dataset PATH to a SQuAD v1.1 JSON(.gz)")
    docs = list(read_squad(Path(dataset)))
    docs = docs[:limit] if limit else docs
    kept = {d.id for d in docs}
    questions = [q for q in load_gold(dataset) if set(q.doc_ids) & kept]
    settings = list(settings or [EmbedderSetting(model, dim, precision)])
    figures = BenchFigures(
        dataset=str(dataset),
        paragraphs=len(docs),
        questions=len(questions),
        latency_questions=min(latency_questions, len(questions)),
    )
    for setting in settings:
        started = time.perf_counter()
        embedder = load_embedder(setting.model, dim=setting.dim, precision=setting.precision)
        load_s = time.perf_counter() - started
        if figures.lexical is None:
            figures.lexical_chunks_per_s = _lexical_speed(docs, embedder)
        with tempfile.TemporaryDirectory(prefix="rag-bench-") as tmp:
            cpu = cpu_seconds()
            report = build_index(docs, Path(tmp) / "index", embedder, ChunkSettings(), cache=None)
            cpu = cpu_seconds() - cpu
            info = embedder.info
            result = SettingFigures(
                model=info.model_id,
                backend=info.backend,
                precision=info.precision,
                dim=info.dim,
                model_load_s=load_s,
                chunks=report.chunks_embedded,
                index_s=report.seconds,
                chunks_per_s=report.chunks_embedded / report.seconds,
                cpu_chunks_per_s=2 * report.chunks_embedded / max(cpu, 1e-9),
            )
            retriever = Retriever.load(Path(tmp) / "index", embedder=embedder)
            modes = ("lexical", "dense", "hybrid") if figures.lexical is None else ("dense", "hybrid")
            embedder.query_cache_size = 0  # latency: every query embedded for real
            latencies = {mode: _latencies(retriever, questions[: figures.latency_questions], mode) for mode in modes}
            embedder.remember_queries([q.question for q in questions])  # ranks: queries embedded in batches
            for mode in modes:
                measured = _measure(retriever, questions, mode, latencies[mode])
                if mode == "lexical":
                    figures.lexical = measured
                else:
                    result.modes.append(measured)
            retriever.store.close()
        figures.settings.append(result)
        del embedder, retriever
    figures.peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    figures.machine = machine_note()
    return figures


def _lexical_speed(docs, embedder: Embedder) -> float:
    """Chunks/s of chunking + BM25 indexing alone (what a lexical-only index would cost)."""
    started = time.perf_counter()
    chunks = [c for d in docs for c in chunk_document(d, embedder.count_tokens, ChunkSettings())]
    LexicalIndex.build(list(range(len(chunks))), [c.text for c in chunks])
    return len(chunks) / (time.perf_counter() - started)


def _latencies(retriever: Retriever, questions, mode: str) -> list[float]:
    out = []
    for q in questions:
        started = time.perf_counter()
        retriever.search(q.question, k=10, mode=mode)
        out.append((time.perf_counter() - started) * 1000)
    return out


def _measure(retriever: Retriever, questions, mode: str, latencies: list[float]) -> ModeFigures:
    ranks = []
    for q in questions:
        hits = retriever.search(q.question, k=10, mode=mode)
        ranks.append(first_relevant_rank([h.doc_id for h in hits], q.doc_ids))
    return ModeFigures(
        mode=mode,
        recall_1=recall_at(ranks, 1),
        recall_5=recall_at(ranks, 5),
        recall_10=recall_at(ranks, 10),
        mrr_10=mrr_at(ranks, 10),
        query_p50_ms=percentile(latencies, 50),
        query_p95_ms=percentile(latencies, 95),
    )


NOTES_MARKER = "<!-- notes below this line are kept when the table is regenerated -->"


def write_markdown(figures: BenchFigures, path: Path, command: str) -> None:
    """Write the figures table with the command that made it; hand-written notes after
    ``NOTES_MARKER`` in an existing file are kept."""
    notes = ""
    if path.exists():
        old = path.read_text(encoding="utf-8")
        if NOTES_MARKER in old:
            notes = old[old.index(NOTES_MARKER) :]
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    path.parent.mkdir(parents=True, exist_ok=True)
    text = f"# Retrieval figures ({stamp})\n\n{figures.markdown(command)}\n{notes or NOTES_MARKER + chr(10)}"
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
