"""Text generators behind one small interface: ``stream(messages)`` yields pieces of the reply.

Everything else (``generate``, token counting) is derived from it. Two backends:

- ``LlamaCppGenerator`` (``llama-cpp``, the default): GGUF files through llama-cpp-python. It keeps
  the key/value cache of the previous prompt, so a fixed prompt prefix is not evaluated twice.
- ``TransformersGenerator`` (``transformers``): any Hugging Face causal-LM folder, or a GGUF file
  (dequantized by transformers). The path for a GPU or an HF checkpoint; slow on a small CPU.

>>> gen = load_generator("qwen2.5-1.5b-instruct")                       # doctest: +SKIP
>>> "".join(gen.stream([{"role": "user", "content": "Ciao"}], max_tokens=8))  # doctest: +SKIP
"""

from __future__ import annotations

import logging
import subprocess
import sys
import threading
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rag import config
from rag.answer.drafts import PromptLookup, logits_for_drafts_only
from rag.answer.kv_cache import PrefixCache, common_prefix
from rag.errors import ModelError

log = logging.getLogger(__name__)

Message = dict[str, str]  # {"role": "system"|"user"|"assistant", "content": "..."}


@dataclass
class FirstToken:
    """Asks ``stream`` how likely the reply was to start like ``text``: ``probability`` is filled in with
    the model's probability of ``text``'s first token as the reply's first token (None if the backend
    cannot tell). Reading it costs nothing: it is the distribution greedy decoding picks from anyway.

    ``FirstToken(" Non lo so")`` measures how close the model came to saying the sources lack the answer,
    even when its greedy reply answers (SQuAD 2.0 readers use the same no-answer score).
    """

    text: str
    probability: float | None = None

    def capture(self, target: int):
        """A logits processor (llama.cpp and transformers call it with the ids so far and the next-token
        scores) that reads the first call's distribution and leaves the scores alone."""

        def read(input_ids, scores):
            if self.probability is None:
                logits = np.asarray(scores.float().cpu() if hasattr(scores, "cpu") else scores, dtype=np.float64)
                logits = logits.reshape(-1, logits.shape[-1])[-1]
                weights = np.exp(logits - logits.max())
                self.probability = float(weights[target] / weights.sum())
            return scores

        return read


class Generator(ABC):
    """A chat model. Subclasses implement ``stream``; ``name`` says which model it is."""

    name: str = "generator"
    context_tokens: int = 4096

    @abstractmethod
    def stream(
        self,
        messages: Sequence[Message],
        max_tokens: int = 256,
        stop: Sequence[str] = (),
        reply_prefix: str = "",
        first: FirstToken | None = None,
    ) -> Iterator[str]:
        """Yield the reply to ``messages`` piece by piece (greedy decoding), at most ``max_tokens`` tokens.

        ``reply_prefix`` is written as the start of the reply (e.g. ``"Risposta breve:"``); the pieces
        yielded continue it. ``first``, when given, gets the probability of a reply starting like its
        text."""

    def generate(
        self, messages: Sequence[Message], max_tokens: int = 256, stop: Sequence[str] = (), reply_prefix: str = ""
    ) -> str:
        return "".join(self.stream(messages, max_tokens=max_tokens, stop=stop, reply_prefix=reply_prefix))

    def cached_share(self, messages: Sequence[Message]) -> float:
        """Share of the prompt of ``messages`` already read (reusable without prefill); 0 if unknown."""
        return 0.0

    def count_tokens(self, text: str) -> int:
        """Tokens ``text`` takes in the prompt; backends with a tokenizer count exactly."""
        return max(1, len(text) // 3)


class LlamaCppGenerator(Generator):
    """A GGUF model run by llama-cpp-python on the CPU (or GPU layers with ``n_gpu_layers``)."""

    def __init__(
        self,
        model: str,
        n_ctx: int = 4096,
        n_threads: int | None = None,
        n_gpu_layers: int = 0,
        seed: int = 0,
        prompt_cache_mb: int = 256,
        draft_tokens: int | None = None,
    ):
        from rag.index.provision import resolve

        path = resolve(model)
        if not Path(path).is_file():
            raise ModelError(f"{path}: no such GGUF file; give a built-in model name ({_builtin()}) or a .gguf path")
        try:
            from llama_cpp import Llama
        except ImportError as e:
            raise ModelError(
                "llama-cpp-python is not installed: run `make setup` (or `pip install llama-cpp-python`)"
            ) from e
        threads = n_threads or config.threads()
        draft_tokens = config.draft_tokens() if draft_tokens is None else draft_tokens
        draft = PromptLookup(draft_tokens) if draft_tokens > 0 else None
        try:
            self.llm = Llama(
                model_path=str(path),
                n_ctx=n_ctx,
                n_threads=threads,
                n_threads_batch=threads,
                n_batch=512,
                n_gpu_layers=n_gpu_layers,
                seed=seed,
                draft_model=draft,
                verbose=False,
            )
        except (ValueError, RuntimeError) as e:
            raise ModelError(
                f"cannot load {path} with llama.cpp ({e}); check the file or run `rag setup --force`"
            ) from e
        if draft is not None:
            logits_for_drafts_only(self.llm, draft_tokens)
        self.name = model
        self.context_tokens = n_ctx
        self.prompt_cache = PrefixCache(prompt_cache_mb << 20)
        self._lock = threading.Lock()  # one llama context: one generation at a time
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        eos = self.llm._model.token_get_text(self.llm.token_eos())
        self._format = Jinja2ChatFormatter(self.llm.metadata["tokenizer.chat_template"], eos_token=eos, bos_token="")

    def count_tokens(self, text: str) -> int:
        return len(self.llm.tokenize(text.encode("utf-8"), add_bos=False, special=True))

    def prompt_tokens(self, messages: Sequence[Message], reply_prefix: str = "") -> list[int]:
        text = self._format(messages=list(messages)).prompt + reply_prefix
        return self.llm.tokenize(text.encode("utf-8"), add_bos=False, special=True)

    def cached_share(self, messages):
        tokens = self.prompt_tokens(messages)
        live = common_prefix(self.llm.input_ids[: self.llm.n_tokens].tolist(), tokens)
        return max(live, self.prompt_cache.longest(tokens)[0]) / max(1, len(tokens))

    def stream(self, messages, max_tokens=256, stop=(), reply_prefix="", first=None):
        tokens = self.prompt_tokens(messages, reply_prefix)
        processors = None
        if first is not None:
            from llama_cpp import LogitsProcessorList

            target = _first_new_token(tokens, self.prompt_tokens(messages, reply_prefix + first.text))
            processors = LogitsProcessorList([first.capture(target)]) if target is not None else None
        if len(tokens) + max_tokens > self.context_tokens:
            raise ModelError(
                f"the prompt has {len(tokens)} tokens, too many for a context of {self.context_tokens}; "
                "ask with fewer passages or a smaller passage budget"
            )
        with self._lock:
            self.prompt_cache.restore(self.llm, tokens)
            pieces = self.llm.create_completion(
                tokens,
                max_tokens=max_tokens,
                temperature=0.0,
                top_k=1,
                repeat_penalty=1.0,
                stop=list(stop) or None,
                stream=True,
                logits_processor=processors,
            )
            for piece in pieces:
                text = piece["choices"][0]["text"]
                if text:
                    yield text
            self.prompt_cache.save(self.llm)


class TransformersGenerator(Generator):
    """A Hugging Face causal LM: a model folder, or a ``.gguf`` file (dequantized; slow on CPU)."""

    def __init__(self, model: str, device: str | None = None, dtype: str = "auto", context_tokens: int = 4096):
        from rag.index.provision import resolve

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
                target = _first_new_token(inputs["input_ids"][0].tolist(), longer)
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


def _first_new_token(prompt: Sequence[int], longer: Sequence[int]) -> int | None:
    """The token ``longer`` adds right after ``prompt`` (None when tokenizing the two merged their ends).

    >>> _first_new_token([1, 2], [1, 2, 7, 8]), _first_new_token([1, 2], [1, 3, 7])
    (7, None)
    """
    n = len(prompt)
    return longer[n] if len(longer) > n and list(longer[:n]) == list(prompt) else None


def _stop_at(text: str, stop: Sequence[str]) -> int | None:
    positions = [text.find(s) for s in stop if s and s in text]
    return min(positions) if positions else None


def _builtin() -> str:
    from rag.index.provision import MODELS

    return ", ".join(name for name, spec in MODELS.items() if spec.kind == "file")


BACKENDS: dict[str, type[Generator]] = {
    "llama-cpp": LlamaCppGenerator,
    "transformers": TransformersGenerator,
}


_SMOKE = "import sys; from llama_cpp import Llama; Llama(sys.argv[1], n_ctx=64, verbose=False)('Ciao', max_tokens=1)"


def check_llama_cpp_runs(gguf: Path) -> None:
    """Decode one token from ``gguf`` in a child process; raise ``ModelError`` if llama.cpp crashes.

    A llama.cpp binary built for the wrong CPU (or with kernels the CPU or its VM does not run) dies
    with a signal at the first decode, which would kill the chat page or an evaluation with no message.
    """
    try:
        done = subprocess.run([sys.executable, "-c", _SMOKE, str(gguf)], capture_output=True, text=True, timeout=300)
    except subprocess.TimeoutExpired as e:
        raise ModelError(f"llama.cpp took over 5 minutes to decode one token of {gguf.name}; retry when idle") from e
    if done.returncode == 0:
        return
    why = f"killed by signal {-done.returncode}" if done.returncode < 0 else done.stderr.strip()[-300:]
    raise ModelError(
        f"llama.cpp cannot run {gguf.name} on this CPU ({why}). Rebuild it portable: "
        "rm .venv/.installed && CMAKE_ARGS=-DGGML_NATIVE=OFF make setup"
    )


def load_generator(model: str, backend: str = "llama-cpp", **settings) -> Generator:
    """Load ``model`` (built-in name, GGUF file or HF folder) with ``backend`` (see ``BACKENDS``)."""
    if backend not in BACKENDS:
        raise ModelError(f"unknown backend {backend!r}; use one of {', '.join(BACKENDS)}")
    return BACKENDS[backend](model, **settings)
