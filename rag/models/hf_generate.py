"""The Hugging Face transformers backend: ``TransformersGenerator`` (``transformers``), any causal-LM
folder, or a GGUF file (dequantized by transformers). The path for a GPU or an HF checkpoint; slow on a
small CPU. Chosen by name through ``rag.models.generate.load_generator``.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path

from rag.errors import ModelError
from rag.models.llm import Generator, first_new_token

log = logging.getLogger(__name__)


class TransformersGenerator(Generator):
    """A Hugging Face causal LM: a model folder, or a ``.gguf`` file (dequantized; slow on CPU)."""

    supports_first_token = True
    supports_token_count = True

    def __init__(self, model: str, device: str | None = None, dtype: str = "auto", context_tokens: int = 4096):
        from rag.models.provision import resolve

        path = Path(resolve(model))
        try:
            import torch
            from transformers import AutoModelForCausalLM, AutoTokenizer
        except ImportError as e:
            raise ModelError("transformers and torch are needed for this backend: run `make setup`") from e
        if path.is_file() and path.suffix == ".gguf":
            folder, kwargs = str(path.parent), {"gguf_file": path.name}
        elif path.is_dir():
            folder, kwargs = str(path), {}
        else:
            raise ModelError(
                f"{path}: not a model folder or .gguf file; give a Hugging Face model folder or a GGUF path"
            )
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        try:
            if kwargs:
                self.tokenizer, config = _from_gguf(path)
                kwargs["config"] = config
            else:
                self.tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
            self.model = AutoModelForCausalLM.from_pretrained(
                folder, local_files_only=True, dtype=dtype if dtype != "auto" else "auto", **kwargs
            ).to(self.device)
        except Exception as e:  # transformers raises many kinds; all mean "cannot load this model"
            raise ModelError(f"cannot load {path} with transformers ({e}); check it is a causal-LM checkpoint") from e
        self.model.eval()
        self.name = model
        self.context_tokens = context_tokens
        self._lock = threading.Lock()

    def count_tokens(self, text: str) -> int:
        return len(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def stream(self, messages, max_tokens=256, stop=(), reply_prefix="", first=None):
        import torch
        from transformers import LogitsProcessorList, TextIteratorStreamer

        with self._lock:
            text = self.tokenizer.apply_chat_template(list(messages), add_generation_prompt=True, tokenize=False)
            inputs = self.tokenizer(text + reply_prefix, return_tensors="pt", add_special_tokens=False).to(self.device)
            processors = LogitsProcessorList()
            if first is not None:
                longer = self.tokenizer(text + reply_prefix + first.text, add_special_tokens=False)["input_ids"]
                target = first_new_token(inputs["input_ids"][0].tolist(), longer)
                if target is not None:
                    processors.append(first.capture(target))
            streamer = TextIteratorStreamer(self.tokenizer, skip_prompt=True, skip_special_tokens=True)
            errors: list[BaseException] = []

            def run():
                try:
                    with torch.inference_mode():
                        self.model.generate(
                            **inputs,
                            max_new_tokens=max_tokens,
                            do_sample=False,
                            streamer=streamer,
                            logits_processor=processors,
                        )
                except BaseException as e:  # re-raised in the caller's thread below
                    errors.append(e)
                    streamer.end()

            worker = threading.Thread(target=run, daemon=True)
            worker.start()
            produced = ""
            for piece in streamer:
                if not piece:
                    continue
                produced += piece
                cut = _stop_at(produced, stop)
                if cut is not None:
                    yield piece[: len(piece) - (len(produced) - cut)]
                    break
                yield piece
            worker.join()
            if errors:
                raise ModelError(f"generation failed ({errors[0]})") from errors[0]


def _from_gguf(path: Path):
    """The tokenizer and config of a GGUF file. transformers rebuilds each by parsing the whole file (about 10 s
    each for Qwen2.5's vocabulary on 2 cores); they are saved once beside it, in ``NAME.gguf.transformers/``
    with the file's size and time and the transformers version, and read from there while those are unchanged;
    saved parts that cannot be read are made again."""
    import transformers
    from transformers import AutoConfig, AutoTokenizer

    saved = path.with_name(path.name + ".transformers")
    stat = path.stat()
    stamp = json.dumps({"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "transformers": transformers.__version__})
    try:
        if (saved / "source.json").read_text(encoding="utf-8") == stamp:
            return AutoTokenizer.from_pretrained(saved, local_files_only=True), AutoConfig.from_pretrained(saved)
    except Exception:  # noqa: BLE001 (not saved yet, from another file or version, or damaged: read the GGUF)
        pass
    tokenizer = AutoTokenizer.from_pretrained(path.parent, gguf_file=path.name, local_files_only=True)
    config = AutoConfig.from_pretrained(path.parent, gguf_file=path.name, local_files_only=True)
    tmp = None
    try:
        tmp = tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.")
        os.chmod(tmp, 0o755)  # readable as the model file beside it is
        tokenizer.save_pretrained(tmp)
        config.save_pretrained(tmp)
        Path(tmp, "source.json").write_text(stamp, encoding="utf-8")
        shutil.rmtree(saved, ignore_errors=True)
        os.replace(tmp, saved)  # whole or not at all
    except OSError as e:  # a read-only model folder: the GGUF is read again next time
        log.info("cannot save %s's tokenizer beside it (%s); it is read from the file at each load", path.name, e)
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
    return tokenizer, config


def _stop_at(text: str, stop: Sequence[str]) -> int | None:
    positions = [text.find(s) for s in stop if s and s in text]
    return min(positions) if positions else None
