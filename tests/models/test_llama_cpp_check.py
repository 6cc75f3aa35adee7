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


@pytest.mark.llm
def test_the_installed_llama_cpp_decodes_the_built_in_model(monkeypatch):
    from rag.models.provision import MODELS

    children = []
    run = subprocess.run

    def recorded(*args, **kwargs):
        children.append(run(*args, **kwargs))
        return children[-1]

    monkeypatch.setattr(generate.subprocess, "run", recorded)
    gguf = MODELS["qwen2.5-0.5b-instruct"].load_path()
    assert generate.check_llama_cpp_runs(gguf) is None  # no ModelError
    (child,) = children  # the model was decoded in a child process, which ended well
    assert child.args[-1] == str(gguf) and child.returncode == 0, child.stderr[-2000:]


@pytest.mark.llm
def test_a_truncated_model_file_is_reported_by_the_real_llama_cpp(tmp_path):
    from rag.models.provision import MODELS

    with MODELS["qwen2.5-0.5b-instruct"].load_path().open("rb") as whole:
        (tmp_path / "cut.gguf").write_bytes(whole.read(1 << 20))  # the header and the start of the weights
    # the child's last words name the cause
    with pytest.raises(ModelError, match=r"(?s)cannot run cut\.gguf .*Failed to load model from file"):
        generate.check_llama_cpp_runs(tmp_path / "cut.gguf")


@pytest.mark.llm
def test_drafts_from_the_prompt_leave_a_copying_reply_as_greedy_decoding_writes_it(qwen_05b):
    from rag import config

    messages = [
        {"role": "system", "content": "Ripeti la frase dell'utente parola per parola."},
        {"role": "user", "content": "Il ministro Umerov era accompagnato a Bruxelles da Andrii Hnatov, Capo di Stato."},
    ]
    # the shared 0.5B drafts (the default setting); the plain one is loaded here: drafts are set at load
    assert config.draft_tokens() > 0 and qwen_05b.llm.draft_model is not None
    plain = generate.load_generator("qwen2.5-0.5b-instruct", draft_tokens=0)
    assert plain.llm.draft_model is None
    replies = {}
    for name, generator in (("plain", plain), ("drafts", qwen_05b)):
        replies[name] = "".join(generator.stream(messages, max_tokens=30))
        again = "".join(generator.stream(messages, max_tokens=30))  # from the prompt cache this time
        assert again == replies[name], name
    assert "Andrii Hnatov" in replies["plain"] and replies["drafts"] == replies["plain"]
