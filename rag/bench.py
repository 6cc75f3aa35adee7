"""``rag bench``: indexing speed, memory, query latency and retrieval quality on a SQuAD file.

Builds a throw-away index (embedding cache off, so the speed is real), then asks every question in
each search mode. A hit is any chunk of the question's gold paragraph (``<title>#<index>``).
"""

from __future__ import annotations

import resource
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from rag.chunk import ChunkSettings
from rag.embed import load_embedder
from rag.errors import InputError
from rag.gold import load_gold
from rag.indexer import build_index
from rag.ingest import read_squad
from rag.metrics import first_relevant_rank, mrr_at, percentile, recall_at
from rag.retriever import MODES, Retriever


def default_dataset() -> Path:
    here = Path(__file__).resolve().parent.parent
    return here.parent / "shared" / "datasets" / "squad-it" / "squad_it-dev.json.gz"


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
class BenchFigures:
    dataset: str
    model: str
    dim: int
    paragraphs: int
    questions: int
    chunks: int
    model_load_s: float
    index_s: float
    chunks_per_s: float
    peak_rss_mb: float
    modes: list[ModeFigures] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)

    def table(self) -> str:
        lines = [
            f"dataset {self.dataset}: {self.paragraphs} paragraphs, {self.questions} questions",
            f"model {self.model} (dim {self.dim}); load {self.model_load_s:.1f}s",
            f"indexing: {self.chunks} chunks in {self.index_s:.1f}s = {self.chunks_per_s:.2f} chunks/s; "
            f"peak RSS {self.peak_rss_mb:.0f} MB",
            "",
            f"{'mode':<8} {'R@1':>6} {'R@5':>6} {'R@10':>6} {'MRR@10':>7} {'p50 ms':>7} {'p95 ms':>7}",
        ]
        for m in self.modes:
            lines.append(
                f"{m.mode:<8} {m.recall_1:6.3f} {m.recall_5:6.3f} {m.recall_10:6.3f} {m.mrr_10:7.3f} "
                f"{m.query_p50_ms:7.1f} {m.query_p95_ms:7.1f}"
            )
        return "\n".join(lines)


def run_bench(dataset: Path, model: str, dim: int | None = None, limit: int | None = None) -> BenchFigures:
    if not Path(dataset).exists():
        raise InputError(f"{dataset}: no such dataset; pass --dataset PATH to a SQuAD v1.1 JSON(.gz)")
    docs = list(read_squad(Path(dataset)))[:limit] if limit else list(read_squad(Path(dataset)))
    kept = {d.id for d in docs}
    questions = [q for q in load_gold(dataset) if set(q.doc_ids) & kept]

    started = time.perf_counter()
    embedder = load_embedder(model, dim=dim)
    load_s = time.perf_counter() - started
    with tempfile.TemporaryDirectory(prefix="rag-bench-") as tmp:
        report = build_index(docs, Path(tmp) / "index", embedder, ChunkSettings(), cache=None)
        retriever = Retriever.load(Path(tmp) / "index", embedder=embedder)
        figures = BenchFigures(
            dataset=str(dataset),
            model=model,
            dim=embedder.info.dim,
            paragraphs=len(docs),
            questions=len(questions),
            chunks=report.chunks_embedded,
            model_load_s=load_s,
            index_s=report.seconds,
            chunks_per_s=report.chunks_embedded / report.seconds,
            peak_rss_mb=0.0,
        )
        for mode in MODES:
            figures.modes.append(_measure(retriever, questions, mode))
        retriever.store.close()
    figures.peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return figures


def _measure(retriever: Retriever, questions, mode: str) -> ModeFigures:
    ranks, latencies = [], []
    for q in questions:
        started = time.perf_counter()
        hits = retriever.search(q.question, k=10, mode=mode)
        latencies.append((time.perf_counter() - started) * 1000)
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
