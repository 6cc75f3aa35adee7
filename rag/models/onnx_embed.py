"""The ``onnxruntime`` embedding backend: a sentence-transformers model run by ONNX Runtime with int8 weights.

The fast route on CPUs without native bfloat16, where PyTorch float32 is the only other choice
(eval/retrieval-figures.md has its speed and recall). Only the transformer is exported to ONNX and
quantized (dynamic int8, MatMul weights per channel); the rest of the sentence-transformers pipeline
(mean or CLS pooling, the Dense projections, normalization, Matryoshka truncation) runs in numpy in
float32 from weights saved beside it. So the Dense layers stay exact, and one export path serves models
with Dense layers (EmbeddingGemma: Transformer -> mean Pooling -> Dense -> Dense -> Normalize) and
without (multilingual-e5-small: Transformer -> mean Pooling -> Normalize).

Weights are quantized with ``reduce_range`` (7-bit): on AVX2 CPUs without VNNI, ONNX Runtime's
u8 x s8 kernel can saturate with full 8-bit weights, and those are the CPUs this backend is for.
Activations are quantized per tensor at run time, so inputs with outliers suffer: in EmbeddingGemma
the MLP output projections (``down_proj``) take such inputs, and quantizing them too cost most of
the error (cosine to float32 0.978 on SQuAD-it texts, 0.996 with them left in float32), so they stay
float32 (``KEEP_FLOAT``). multilingual-e5-small is quantized whole.

The export is built once per model into ``<models>/<name>-onnx-int8/`` (1.5 to 6 minutes for
EmbeddingGemma, by ``rag setup`` on such CPUs or at first use), checked against the float32 model on
a few Italian texts, and moved into place by rename, so a folder that exists is complete.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from rag.config import model_dir
from rag.errors import ModelError

log = logging.getLogger(__name__)

EXPORT_VERSION = 1
MIN_COSINE = 0.98  # an export whose vectors are further than this from float32 is refused
KEEP_FLOAT = ("down_proj",)  # MatMuls left in float32: Gemma's MLP output projections (see the docstring)
CHECK_TEXTS = (  # what a new export is checked on against float32 (documents, questions, a word)
    "Umerov è arrivato a Bruxelles con il generale Hnatov per la riunione dei ministri della Difesa della NATO.",
    "Il porto di Genova ha registrato un record di container nel mese di gennaio, secondo l'Autorità portuale.",
    "Chi accompagnava Umerov a Bruxelles?",
    "Quando arriva Mark Rutte a Kiev?",
    "Roma",
)


def export_dir(model: str) -> Path:
    """Where the int8 export of ``model`` (a built-in name or a folder) lives in the model folder."""
    from rag.models.provision import MODELS

    if model in MODELS:
        return model_dir() / f"{model}-onnx-int8"
    digest = hashlib.sha256(str(Path(model).resolve()).encode()).hexdigest()[:10]
    return model_dir() / f"{Path(model).name}-{digest}-onnx-int8"


def fix_hint(model: str) -> str:
    from rag.models.provision import MODELS

    if model in MODELS:
        return f"run `rag setup --onnx --model {model}` to build it again"
    return f"delete {export_dir(model)} to build it again at next use"


def _first_line(e: Exception) -> str:
    return (str(e).strip().splitlines() or [type(e).__name__])[0]


def export_problem(folder: Path) -> str | None:
    """What is wrong with an export folder at a glance (config, version, file size), or None."""
    try:
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
        size = (folder / "model.int8.onnx").stat().st_size
    except (OSError, ValueError) as e:
        return f"{type(e).__name__}: {e}"
    if config.get("version") != EXPORT_VERSION:
        return f"export version {config.get('version')}, this version reads {EXPORT_VERSION}"
    if size != config.get("onnx_bytes"):
        return f"model.int8.onnx has {size} bytes, {config.get('onnx_bytes')} were written"
    return None


def ensure_export(model: str, force: bool = False, repair: bool = False) -> Path:
    """Return the int8 export folder of ``model``, building it first if missing (or if ``force``).

    A damaged export is rebuilt with ``repair`` (``rag setup --onnx``), else a ModelError names the fix.
    """
    target = export_dir(model)
    if target.exists() and not force:
        problem = export_problem(target)
        if problem is None:
            return target
        if not repair:
            raise ModelError(f"the ONNX int8 export of {model} in {target} is damaged ({problem}): {fix_hint(model)}")
    from rag.models.provision import resolve

    source = resolve(model)
    log.warning(
        "building the ONNX int8 export of %s once (1 to 6 minutes and a few GB of memory); reused afterwards", model
    )
    started = time.perf_counter()
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=f".{target.name}-") as tmp:
        try:
            _export(source, Path(tmp))
        except ModelError:
            raise
        except Exception as e:  # torch/onnx raise many kinds; all mean "this model does not export"
            raise ModelError(f"cannot export {model!r} to ONNX ({_first_line(e)}); use --precision float32") from e
        if target.exists():
            shutil.rmtree(target)
        Path(tmp).rename(target)
        target.chmod(0o755)  # tempfile made it private
    log.warning("ONNX int8 export of %s ready at %s (%.0f s)", model, target, time.perf_counter() - started)
    return target


def _export(source: str, out: Path) -> None:
    """Export the transformer of ``source`` to ``out/model.int8.onnx``; save tokenizer, head and config."""
    import onnx
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from sentence_transformers import SentenceTransformer

    st = SentenceTransformer(source, device="cpu", local_files_only=True)
    transformer, *rest = list(st)
    tokenizer = transformer.tokenizer
    head: dict[str, np.ndarray] = {}
    pooling = None
    for module in rest:
        kind = type(module).__name__
        if kind == "Pooling":
            pooling = module.get_config_dict().get("pooling_mode")
        elif kind == "Dense":
            if not isinstance(module.activation_function, torch.nn.Identity):
                raise ModelError(f"{source}: Dense activation {module.activation_function} is not supported")
            k = len(head) // 2
            head[f"w{k}"] = module.linear.weight.detach().float().numpy().T.copy()
            bias = module.linear.bias
            head[f"b{k}"] = np.zeros(head[f"w{k}"].shape[1], np.float32) if bias is None else bias.detach().numpy()
        elif kind != "Normalize":
            raise ModelError(f"{source}: module {kind} is not supported by the ONNX backend")
    if pooling not in ("mean", "cls"):
        raise ModelError(f"{source}: pooling {pooling!r} is not supported by the ONNX backend (mean, cls)")
    sample = tokenizer(["una frase di prova più lunga", "breve"], padding=True, return_tensors="pt")
    names = [n for n in sample if n in ("input_ids", "attention_mask", "token_type_ids")]

    class Body(torch.nn.Module):  # the transformer with positional inputs, as the exporter wants them
        def __init__(self, model):
            super().__init__()
            self.model = model.eval()

        def forward(self, *tensors):
            feed, config = dict(zip(names, tensors, strict=True)), self.model.config
            if getattr(config, "use_bidirectional_attention", False):  # Gemma 3 embedders: see _gemma_masks
                feed["attention_mask"] = _gemma_masks(feed["attention_mask"], config.sliding_window)
            return self.model(**feed).last_hidden_state

    float_path = out / "model.float32.onnx"
    axes = {n: {0: "batch", 1: "tokens"} for n in [*names, "hidden"]}
    with torch.no_grad():
        args = tuple(sample[n] for n in names)
        torch.onnx.export(
            Body(transformer.auto_model),
            args,
            str(float_path),
            input_names=names,
            output_names=["hidden"],
            dynamic_axes=axes,
            opset_version=17,
            dynamo=False,
        )
    graph = onnx.load(str(float_path), load_external_data=False).graph
    keep_float = [n.name for n in graph.node if n.op_type == "MatMul" and any(k in n.name for k in KEEP_FLOAT)]
    root, level = logging.getLogger(), logging.getLogger().level
    root.setLevel(max(level, logging.ERROR))  # the quantizer logs every tensor on the root logger
    try:
        quantize_dynamic(
            float_path,
            out / "model.int8.onnx",
            op_types_to_quantize=["MatMul"],
            nodes_to_exclude=keep_float,
            per_channel=True,
            reduce_range=True,
            weight_type=QuantType.QInt8,
        )
    finally:
        root.setLevel(level)
    for path in out.glob("model.float32.onnx*"):  # with its external data, if any
        path.unlink()
    tokenizer.save_pretrained(str(out / "tokenizer"))
    np.savez(out / "head.npz", **head)
    size = (out / "model.int8.onnx").stat().st_size
    config = {
        "version": EXPORT_VERSION,
        "source": source,
        "inputs": names,
        "pooling": pooling,
        "onnx_bytes": size,
        "max_seq_length": st.max_seq_length,
        "dim": st.get_embedding_dimension(),
        "prompts": st.prompts or {},
    }
    reference = st.encode(list(CHECK_TEXTS), normalize_embeddings=True, convert_to_numpy=True)
    cosines = (OnnxModel(out, config=config).embed(CHECK_TEXTS) * reference).sum(axis=1)
    log.info("int8 vs float32 cosine on %d texts: mean %.4f, min %.4f", len(cosines), cosines.mean(), cosines.min())
    if cosines.min() < MIN_COSINE:
        raise ModelError(f"{source}: the int8 export is too far from float32 (cosine {cosines.min():.3f}); not kept")
    config["check"] = {"mean_cosine": round(float(cosines.mean()), 5), "min_cosine": round(float(cosines.min()), 5)}
    (out / "config.json").write_text(json.dumps(config, indent=1, ensure_ascii=False), encoding="utf-8")


def _gemma_masks(padding, window: int) -> dict:
    """The attention masks of a bidirectional Gemma 3, built here: transformers builds them with
    ``torch.vmap``, which the ONNX exporter cannot trace. True = may attend: every real token, and
    in sliding-window layers only those closer than ``window``."""
    import torch

    keys = padding.bool()[:, None, None, :]
    positions = torch.arange(padding.shape[1])
    near = (positions[:, None] - positions[None, :]).abs() < window
    return {"full_attention": keys, "sliding_attention": keys & near[None, None]}


class OnnxModel:
    """Tokenizer + ONNX session + numpy head of one export folder: texts in, full-size unit vectors out.

    ``rag.models.embed.OnnxInt8Embedder`` wraps it as an ``Embedder`` (prompts, titles, ``dim``).
    """

    def __init__(self, folder: Path, max_seq_length: int | None = None, batch_size: int = 16, config=None):
        import onnxruntime as ort
        from transformers import AutoTokenizer

        self.config = config or json.loads((folder / "config.json").read_text(encoding="utf-8"))
        self.session = ort.InferenceSession(str(folder / "model.int8.onnx"), providers=["CPUExecutionProvider"])
        self.tokenizer = AutoTokenizer.from_pretrained(str(folder / "tokenizer"))
        with np.load(folder / "head.npz") as head:
            self.head = [(head[f"w{k}"], head[f"b{k}"]) for k in range(len(head.files) // 2)]
        self.max_seq_length = min(max_seq_length or 10**9, self.config["max_seq_length"])
        self.batch_size = batch_size
        self.lock = threading.Lock()  # the fast tokenizer is one Rust object: one thread at a time

    def tokenize(self, texts: Sequence[str]) -> dict[str, np.ndarray]:
        """As sentence-transformers' Transformer module tokenizes (padded to the longest, truncated)."""
        with self.lock:
            batch = self.tokenizer(
                list(texts),
                padding=True,
                truncation="longest_first",
                max_length=self.max_seq_length,
                return_tensors="np",
            )
        return {n: batch[n].astype(np.int64) for n in self.config["inputs"]}

    def count_tokens(self, text: str) -> int:
        with self.lock:
            return len(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def dim(self, requested: int | None) -> int:
        """``requested`` (a Matryoshka cut) checked against the model's size; None for the full size."""
        full = self.config["dim"]
        if requested is not None and not 0 < requested <= full:
            raise ModelError(f"dim {requested} is out of range for this model (1 to {full})")
        return requested or full

    def embed(self, texts: Sequence[str], show: bool = False) -> np.ndarray:
        from tqdm.auto import tqdm

        out = np.zeros((len(texts), self.config["dim"]), dtype=np.float32)
        order = np.argsort([-len(t) for t in texts], kind="stable")  # similar lengths together: little padding
        for start in tqdm(range(0, len(texts), self.batch_size), desc="Batches", disable=not show):
            feed = self.tokenize([texts[i] for i in order[start : start + self.batch_size]])
            hidden = self.session.run(None, feed)[0].astype(np.float32)
            if self.config["pooling"] == "cls":
                pooled = hidden[:, 0]
            else:
                mask = feed["attention_mask"][:, :, None].astype(np.float32)
                pooled = (hidden * mask).sum(axis=1) / np.maximum(mask.sum(axis=1), 1e-9)
            for weight, bias in self.head:
                pooled = pooled @ weight + bias
            out[order[start : start + self.batch_size]] = pooled
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)


def load_export(model: str, max_seq_length: int | None = None, batch_size: int = 16) -> OnnxModel:
    """The int8 export of ``model``, built first if missing; a damaged one gives a ModelError naming the fix."""
    folder = ensure_export(model)
    try:
        return OnnxModel(folder, max_seq_length, batch_size)
    except Exception as e:  # onnxruntime/tokenizers raise their own kinds for a damaged file
        raise ModelError(
            f"the ONNX int8 export of {model} in {folder} is damaged ({_first_line(e)}): {fix_hint(model)}"
        ) from e
