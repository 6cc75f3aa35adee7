"""``FirstToken``: the probability of a reply's first token, read from the scores greedy decoding uses."""

from __future__ import annotations

import numpy as np
import pytest

from rag.config import DEFAULT_LLM
from rag.models.llm import FirstToken


def test_capture_reads_the_softmax_of_the_first_call_only():
    first = FirstToken(" Non lo so")
    read = first.capture(2)
    scores = np.log(np.array([0.1, 0.2, 0.7], dtype=np.float32))
    assert read(np.array([5, 6]), scores) is scores  # the scores are left alone
    assert first.probability == pytest.approx(0.7, abs=1e-6)
    read(np.array([5, 6, 2]), np.log(np.array([0.9, 0.05, 0.05], dtype=np.float32)))
    assert first.probability == pytest.approx(0.7, abs=1e-6)


def test_capture_takes_torch_scores_of_a_batch_of_one():
    torch = pytest.importorskip("torch")
    first = FirstToken("x")
    first.capture(0)(None, torch.tensor([[2.0, 0.0]], dtype=torch.bfloat16))
    assert first.probability == pytest.approx(np.exp(2) / (np.exp(2) + 1), abs=1e-3)


@pytest.mark.llm
def test_the_model_doubts_a_near_miss_more_than_an_answer_its_source_gives(qwen_15b):
    generator = qwen_15b  # the default model: the 0.5B barely doubts at all
    assert generator.name == DEFAULT_LLM
    source = "Il ministro Umerov era accompagnato a Bruxelles da Andrii Hnatov, Capo di Stato Maggiore."
    doubts = {}
    for question in ("Chi accompagnava Umerov a Bruxelles?", "Quanti anni ha Umerov?"):
        first = FirstToken(" Non lo so")
        messages = [
            {"role": "system", "content": "Rispondi solo con la fonte. Se non lo dice, scrivi: Non lo so."},
            {"role": "user", "content": f"Fonte: {source}\nDomanda: {question}"},
        ]
        reply = "".join(generator.stream(messages, max_tokens=6, reply_prefix="Risposta breve:", first=first))
        doubts[question] = (first.probability, reply)
    answered, missed = doubts["Chi accompagnava Umerov a Bruxelles?"], doubts["Quanti anni ha Umerov?"]
    assert "Hnatov" in answered[1] and answered[0] < 0.1
    assert missed[0] > 3 * answered[0]
