"""The Hugging Face transformers backend: ``TransformersGenerator`` (``transformers``), any causal-LM
folder, or a GGUF file (dequantized by transformers). The path for a GPU or an HF checkpoint; slow on a
small CPU. Chosen by name through ``rag.models.generate.load_generator``.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

from rag.errors import ModelError
from rag.models.llm import Generator, first_new_token


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
            self.tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True, **kwargs)
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


def _stop_at(text: str, stop: Sequence[str]) -> int | None:
    positions = [text.find(s) for s in stop if s and s in text]
    return min(positions) if positions else None
