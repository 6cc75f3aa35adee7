"""The transformers backend on a real checkpoint: the 0.5B GGUF, dequantized by transformers; its tokenizer and
config are saved beside the GGUF once and read from there while the file is unchanged."""

import os
import tempfile

import pytest

from rag.models.generate import load_generator
from rag.models.hf_generate import _from_gguf


@pytest.mark.llm
def test_transformers_backend_streams_an_answer_from_a_gguf_file():
    from rag.models.provision import resolve

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
    gguf = resolve("qwen2.5-0.5b-instruct")
    saved = gguf + ".transformers"
    assert {"source.json", "config.json", "tokenizer.json"} <= set(os.listdir(saved))  # read there next time


class Part:
    """Stands in for a transformers tokenizer or config: records where it was read from, saves a file."""

    reads: list = []

    def __init__(self, source):
        self.source = source

    @classmethod
    def from_pretrained(cls, folder, gguf_file=None, **_):
        cls.reads.append((cls.__name__, gguf_file or os.path.basename(folder)))
        if gguf_file is None and not os.path.exists(os.path.join(folder, f"{cls.__name__}.txt")):
            raise OSError("nothing saved")
        return cls(gguf_file or folder)

    def save_pretrained(self, folder):
        with open(os.path.join(folder, f"{type(self).__name__}.txt"), "w") as f:
            f.write("saved")


class Tokenizer(Part):
    pass


class Config(Part):
    pass


def test_the_tokenizer_is_read_from_the_gguf_once_then_from_beside_it_until_the_file_changes(tmp_path, monkeypatch):
    import transformers

    monkeypatch.setattr(transformers, "AutoTokenizer", Tokenizer)
    monkeypatch.setattr(transformers, "AutoConfig", Config)
    gguf = tmp_path / "m.gguf"
    gguf.write_bytes(b"GGUF one")
    Part.reads = []
    _from_gguf(gguf)
    assert Part.reads == [("Tokenizer", "m.gguf"), ("Config", "m.gguf")]  # the first load parses the file
    Part.reads = []
    tokenizer, config = _from_gguf(gguf)
    assert Part.reads == [("Tokenizer", "m.gguf.transformers"), ("Config", "m.gguf.transformers")]
    (tmp_path / "m.gguf.transformers" / "Tokenizer.txt").unlink()  # damaged: made again from the file
    Part.reads = []
    _from_gguf(gguf)
    assert Part.reads == [("Tokenizer", "m.gguf.transformers"), ("Tokenizer", "m.gguf"), ("Config", "m.gguf")]
    Part.reads = []
    _from_gguf(gguf)
    assert Part.reads == [("Tokenizer", "m.gguf.transformers"), ("Config", "m.gguf.transformers")]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.gguf", "m.gguf.transformers"]  # no temporary left
    gguf.write_bytes(b"GGUF two, another model")  # replaced under the same name: read again, saved again
    Part.reads = []
    _from_gguf(gguf)
    assert Part.reads == [("Tokenizer", "m.gguf"), ("Config", "m.gguf")]

    def read_only(*args, **kwargs):
        raise PermissionError("read-only file system")

    monkeypatch.setattr(tempfile, "mkdtemp", read_only)  # a folder it cannot write to: loads, from the file
    gguf.write_bytes(b"GGUF three")
    Part.reads = []
    assert isinstance(_from_gguf(gguf)[0], Tokenizer)
    assert Part.reads == [("Tokenizer", "m.gguf"), ("Config", "m.gguf")]
