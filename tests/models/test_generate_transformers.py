"""The transformers backend on a real checkpoint: the 0.5B GGUF, dequantized by transformers."""

import pytest

from rag.models.generate import load_generator

pytestmark = pytest.mark.llm


def test_transformers_backend_streams_an_answer_from_a_gguf_file():
    # its own load: the transformers backend is what is tested, the shared qwen_05b runs on llama.cpp
    generator = load_generator("qwen2.5-0.5b-instruct", backend="transformers", dtype="bfloat16")
    messages = [
        {"role": "system", "content": "Rispondi in italiano, brevemente."},
        {
            "role": "user",
            "content": "Testo: Umerov sarà accompagnato da Andrii Hnatov. Domanda: chi accompagna Umerov?",
        },
    ]
    pieces = list(generator.stream(messages, max_tokens=12))
    assert len(pieces) > 1  # streamed, not returned at once
    assert "Hnatov" in "".join(pieces)
    assert generator.count_tokens("Chi accompagnava Umerov?") > 3
