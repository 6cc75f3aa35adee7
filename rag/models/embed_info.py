"""What built an index's vectors: ``EmbedderInfo``, shared by the embedders (``rag.models.embed``), the
vector cache (``rag.models.embed_cache``) and the index's ``meta.json`` (``rag.stores.meta``).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class EmbedderInfo:
    """What built an index's vectors; saved in ``meta.json`` and compared on load.

    ``backend`` and ``precision`` have defaults so that indexes written before they existed still load
    (they were all sentence-transformers in float32).
    """

    model_id: str
    dim: int
    query_prompt: str
    document_prompt: str  # may hold "{title}"
    max_seq_length: int
    backend: str = "sentence-transformers"
    precision: str = "float32"
