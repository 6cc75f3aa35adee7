"""``rag bench retrieval --paired-speed N``: indexing speed of several embedder settings, measured in turns.

On a shared machine another process's load changes absolute rates from one minute to the next; embedding
the same batches with every setting in turn makes it fall on all of them alike, so the ratios hold.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from rag.evaluation.gold import load_gold
from rag.evaluation.metrics import percentile
from rag.evaluation.retrieval_bench import EmbedderSetting, cpu_seconds
from rag.index.chunk import chunk_document
from rag.models.embed import load_embedder
from rag.sources.ingest import read_squad
from rag.types import ChunkSettings


@dataclass
class PairedSpeed:
    """Indexing speed of several settings measured in turns on the same batches (fair on a shared machine)."""

    label: str
    chunks: int
    chunks_per_s: float
    cpu_chunks_per_s: float  # 2 x chunks / CPU seconds
    query_p50_ms: float


def paired_speed(
    dataset: Path, settings: Sequence[EmbedderSetting], paragraphs: int = 48, batch: int = 8, queries: int = 40
) -> list[PairedSpeed]:
    """Embed the same chunks with every setting, one batch each in turn, then the same queries in turn.

    Load from other processes then falls on all settings alike, so the ratios between them hold even
    when the absolute rates do not. Chunks are cut once, with the first setting's tokenizer.
    """
    docs = list(read_squad(Path(dataset)))[:paragraphs]
    questions = [q.question for q in load_gold(dataset)][:queries]
    embedders = [load_embedder(s.model, dim=s.dim, precision=s.precision) for s in settings]
    chunks = [c for d in docs for c in chunk_document(d, embedders[0].count_tokens, ChunkSettings())]
    for e in embedders:
        e.encode(["riscaldamento", "warm-up"])
        e.query_cache_size = 0  # every query embedded for real
    wall = [0.0] * len(embedders)
    cpu = [0.0] * len(embedders)
    latencies: list[list[float]] = [[] for _ in embedders]
    for start in range(0, len(chunks), batch):
        for i, e in enumerate(embedders):
            started, cpu_started = time.perf_counter(), cpu_seconds()
            e.embed_chunks(chunks[start : start + batch])
            wall[i] += time.perf_counter() - started
            cpu[i] += cpu_seconds() - cpu_started
    for q in questions:
        for i, e in enumerate(embedders):
            started = time.perf_counter()
            e.embed_query(q)
            latencies[i].append((time.perf_counter() - started) * 1000)
    return [
        PairedSpeed(
            f"{e.info.model_id} {e.info.precision} {e.info.dim}d",
            len(chunks),
            len(chunks) / wall[i],
            2 * len(chunks) / max(cpu[i], 1e-9),
            percentile(latencies[i], 50),
        )
        for i, e in enumerate(embedders)
    ]


def paired_table(rows: Sequence[PairedSpeed]) -> str:
    base = rows[0].chunks_per_s
    head = "| embedder | chunks | chunks/s (wall) | x first | chunks/s (2 cores, CPU time) | query p50 ms |\n"
    head += "|---|---|---|---|---|---|\n"
    return head + "".join(
        f"| {r.label} | {r.chunks} | {r.chunks_per_s:.2f} | {r.chunks_per_s / base:.2f} | {r.cpu_chunks_per_s:.2f} "
        f"| {r.query_p50_ms:.0f} |\n"
        for r in rows
    )
