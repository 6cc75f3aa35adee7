"""Where an index's chunks live: FAISS + BM25 + SQLite folders or Milvus, behind one ``ChunkStore``
interface (``registry``), written atomically (``atomic``), described by ``meta.json`` (``meta``).
Imports ``rag.models`` (the embedder's interface) and the core modules.
"""
