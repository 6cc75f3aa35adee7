"""The product on the Milvus store: `rag index build seeds --store milvus://…` then `rag ask` cites what the
default store cites (real embedder and answer model, run as a user runs them)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import SEEDS, UMEROV_DOC

pytestmark = [pytest.mark.llm, pytest.mark.embedder]  # `rag ask` in child processes loads both


def rag(*args):
    done = subprocess.run([sys.executable, "-m", "rag", *args], capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_ask_answers_with_the_same_citation_on_both_stores(tmp_path):
    pytest.importorskip("milvus_lite")
    question = "Chi accompagnava Umerov a Bruxelles?"
    cited = {}
    for name, store in (("seeds_faiss", "faiss"), ("seeds_milvus", f"milvus://{tmp_path}/news.db")):
        rag("index", "build", str(SEEDS), "--name", name, "--store", store)
        answer = json.loads(rag("ask", question, "--index", name, "--json"))
        assert not answer["refused"], answer["refusal_reasons"]
        assert "Hnatov" in answer["text"]
        cited[store] = [(c["doc_id"], c["quote"]) for c in answer["citations"]]
    faiss, milvus = cited.values()
    assert milvus == faiss and UMEROV_DOC in {doc for doc, _ in milvus}
    assert "milvus" in rag("index", "info", "--name", "seeds_milvus")
