"""`rag setup` checks that the compiled llama.cpp runs on this CPU before anything relies on it."""

from __future__ import annotations

import subprocess

import pytest

from rag.errors import ModelError
from rag.models import generate


def test_a_crashing_llama_cpp_is_reported_with_the_fix(monkeypatch, tmp_path):
    monkeypatch.setattr(generate, "_SMOKE", "import os, signal; os.kill(os.getpid(), signal.SIGSEGV)")
    with pytest.raises(ModelError, match=r"model.gguf on this CPU \(killed by signal 11\).*GGML_NATIVE=OFF"):
        generate.check_llama_cpp_runs(tmp_path / "model.gguf")


def test_a_hung_llama_cpp_is_reported(monkeypatch, tmp_path):
    def hang(*args, **kwargs):
        raise subprocess.TimeoutExpired(args[0], kwargs["timeout"])

    monkeypatch.setattr(generate.subprocess, "run", hang)
    with pytest.raises(ModelError, match="over 5 minutes to decode one token of model.gguf"):
        generate.check_llama_cpp_runs(tmp_path / "model.gguf")


def test_a_failing_load_is_reported_with_its_last_words(tmp_path):
    with pytest.raises(ModelError, match="cannot run missing.gguf"):
        generate.check_llama_cpp_runs(tmp_path / "missing.gguf")


@pytest.mark.slow
def test_the_installed_llama_cpp_decodes_the_built_in_model():
    from rag.models.provision import MODELS

    generate.check_llama_cpp_runs(MODELS["qwen2.5-0.5b-instruct"].load_path())


@pytest.mark.slow
def test_drafts_from_the_prompt_leave_a_copying_reply_as_greedy_decoding_writes_it():
    messages = [
        {"role": "system", "content": "Ripeti la frase dell'utente parola per parola."},
        {"role": "user", "content": "Il ministro Umerov era accompagnato a Bruxelles da Andrii Hnatov, Capo di Stato."},
    ]
    replies = {}
    for drafts in (0, 6):
        generator = generate.load_generator("qwen2.5-0.5b-instruct", draft_tokens=drafts)
        replies[drafts] = "".join(generator.stream(messages, max_tokens=30))
        again = "".join(generator.stream(messages, max_tokens=30))  # from the prompt cache this time
        assert again == replies[drafts]
    assert "Andrii Hnatov" in replies[0] and replies[6] == replies[0]
