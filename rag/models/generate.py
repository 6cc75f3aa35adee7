"""Text generators behind one small interface (``rag.models.llm.Generator``): ``stream(messages)`` yields
pieces of the reply.

Everything else (``generate``, token counting) is derived from it. Three backends, chosen by name in
``load_generator`` (``rag.backends.REGISTRY``), each saying what it can do with capability flags:

- ``LlamaCppGenerator`` (``llama-cpp``, the default): GGUF files through llama-cpp-python. It keeps
  the key/value cache of the previous prompt, so a fixed prompt prefix is not evaluated twice.
- ``TransformersGenerator`` (``transformers``, in ``rag.models.hf_generate``): any Hugging Face causal-LM
  folder, or a GGUF file (dequantized by transformers). The path for a GPU or an HF checkpoint; slow on a
  small CPU.
- ``OpenAIGenerator`` (``openai``, in ``rag.models.openai_generate``): a model served by any
  OpenAI-compatible server (llama.cpp server, vLLM, Ollama) at a URL.

>>> gen = load_generator("qwen2.5-1.5b-instruct")                       # doctest: +SKIP
>>> "".join(gen.stream([{"role": "user", "content": "Ciao"}], max_tokens=8))  # doctest: +SKIP
"""

from __future__ import annotations

import logging
import subprocess
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

from rag import config
from rag.backends import backend_class
from rag.errors import ModelError
from rag.models.drafts import PromptLookup, logits_for_drafts_only
from rag.models.kv_cache import PrefixCache, common_prefix
from rag.models.llm import Generator, Message, first_new_token

log = logging.getLogger(__name__)


class LlamaCppGenerator(Generator):
    """A GGUF model run by llama-cpp-python on the CPU (or GPU layers with ``n_gpu_layers``)."""

    supports_prefix_cache = True  # the live context's prefix, and PrefixCache's saved states
    supports_first_token = True
    supports_cached_share = True
    supports_token_count = True

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
        from rag.models.provision import resolve

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

            target = first_new_token(tokens, self.prompt_tokens(messages, reply_prefix + first.text))
            processors = LogitsProcessorList([first.capture(target)]) if target is not None else None
        room = self.context_tokens - len(tokens)
        if room < min(max_tokens, 32):  # no room left for an answer
            raise ModelError(
                f"the prompt has {len(tokens)} tokens, too many for a context of {self.context_tokens}; "
                "ask with fewer passages or a smaller passage budget"
            )
        max_tokens = min(max_tokens, room)  # a cap beyond the context ("max_tokens": 100000): the context's end
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


def _builtin() -> str:
    from rag.models.provision import MODELS

    return ", ".join(name for name, spec in MODELS.items() if spec.kind == "file")


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
    """Load ``model`` (built-in name, GGUF file or HF folder) with ``backend`` (``rag.backends.REGISTRY``)."""
    return backend_class("generator", backend)(model, **settings)
