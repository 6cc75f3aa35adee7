"""The product on the Milvus store: `rag index build seeds --store milvus://…` then `rag ask` cites what the
default store cites (real embedder and answer model, run as a user runs them).

The default store's answer is the session's: the 1.5B over the session's seed index (``assistant_15b``, what
``rag ask --index seeds`` loads), so only the Milvus side loads the models again, in the child processes."""

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


def cited(citations) -> list[tuple]:
    """What a citation points at in its article. Not its chunk id: a warm model (the session's) may read the
    whole articles first, whose passage is the article's own ("…::doc"), where a cold one reads chunks."""
    return [(c["doc_id"], c["quote"], c["quote_start"], c["quote_end"]) for c in citations]


def test_ask_answers_with_the_same_citation_on_both_stores(tmp_path, assistant_15b):
    pytest.importorskip("milvus_lite")
    question = "Chi accompagnava Umerov a Bruxelles?"
    assert assistant_15b.retriever.store.info()["backend"] == "faiss"  # the default store
    answers = {"faiss": assistant_15b.ask(question).to_dict()}
    rag("index", "build", str(SEEDS), "--name", "seeds_milvus", "--store", f"milvus://{tmp_path}/news.db")
    answers["milvus"] = json.loads(rag("ask", question, "--index", "seeds_milvus", "--json"))
    for answer in answers.values():
        assert not answer["refused"], answer["refusal_reasons"]
        assert "Hnatov" in answer["text"]
    faiss, milvus = (cited(answer["citations"]) for answer in answers.values())
    assert milvus == faiss and UMEROV_DOC in {doc for doc, *_ in milvus}
    assert "milvus" in rag("index", "info", "--name", "seeds_milvus")
