"""Evaluated prompts kept for reuse: llama.cpp context states keyed by their tokens, LRU by bytes.

Prefill (reading the prompt) dominates time to first token on a CPU. llama.cpp already reuses the
longest common token prefix of two consecutive prompts; this cache extends that to prompts seen
before the last one: a question about article A, then B, then A again restores A's state and only
reads the new question. Keys are token sequences, so a replaced article (other text, other tokens)
never matches a stale state: invalidation is by construction, and stale entries age out.

Only llama.cpp's own context state is stored (``llama_state_get_data``: the KV cache), about 28 KB per
token for the 1.5B model; llama-cpp-python's ``save_state`` would also copy its logits matrix
(hundreds of MB), so it is not used. ``capacity_bytes`` bounds the memory held.
"""

from __future__ import annotations

import ctypes
import logging
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SavedState:
    tokens: tuple[int, ...]
    data: bytes


def common_prefix(a: Sequence[int], b: Sequence[int]) -> int:
    """Length of the common prefix of two token sequences.

    >>> common_prefix([1, 2, 3, 4], [1, 2, 9])
    2
    """
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


class PrefixCache:
    """States of a ``llama_cpp.Llama`` by token prefix; at most ``capacity_bytes`` held (0 turns it off)."""

    def __init__(self, capacity_bytes: int = 256 << 20):
        self.capacity_bytes = capacity_bytes
        self._states: OrderedDict[tuple[int, ...], SavedState] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def size_bytes(self) -> int:
        return sum(len(s.data) for s in self._states.values())

    def __len__(self) -> int:
        return len(self._states)

    def longest(self, tokens: Sequence[int]) -> tuple[int, SavedState | None]:
        """The saved state sharing the longest prefix with ``tokens``, and that prefix's length."""
        best, found = 0, None
        with self._lock:
            for key, state in self._states.items():
                n = common_prefix(key, tokens)
                if n > best:
                    best, found = n, state
            if found is not None:
                self._states.move_to_end(found.tokens)
        return best, found

    def save(self, llm) -> None:
        """Keep the state ``llm`` holds now (its evaluated tokens and their KV cache)."""
        if self.capacity_bytes <= 0 or llm.n_tokens == 0:
            return
        import llama_cpp

        size = llama_cpp.llama_state_get_size(llm._ctx.ctx)
        buffer = (ctypes.c_uint8 * size)()
        written = llama_cpp.llama_state_get_data(llm._ctx.ctx, buffer, size)
        state = SavedState(tuple(int(t) for t in llm.input_ids[: llm.n_tokens]), bytes(buffer)[:written])
        if len(state.data) > self.capacity_bytes:
            return
        with self._lock:
            self._states.pop(state.tokens, None)
            # a saved prefix of this state is redundant: this one serves every prompt it served
            for key in [k for k in self._states if common_prefix(k, state.tokens) == len(k)]:
                del self._states[key]
            self._states[state.tokens] = state
            while self.size_bytes > self.capacity_bytes:
                self._states.popitem(last=False)

    def restore(self, llm, tokens: Sequence[int]) -> int:
        """Before evaluating ``tokens``: load the saved state sharing more of them than ``llm`` holds now.
        Returns how many of ``tokens`` are then already evaluated."""
        live = common_prefix(llm.input_ids[: llm.n_tokens].tolist(), tokens)
        saved, state = self.longest(tokens)
        if state is None or saved <= live:
            return live
        import llama_cpp

        buffer = (ctypes.c_uint8 * len(state.data)).from_buffer_copy(state.data)
        if llama_cpp.llama_state_set_data(llm._ctx.ctx, buffer, len(state.data)) != len(state.data):
            log.warning("could not restore a cached prompt state; reading the prompt again")
            return live
        llm.input_ids[: len(state.tokens)] = state.tokens
        llm.n_tokens = len(state.tokens)
        llm._requires_eval = True  # logits come from the next decode, not the restored state
        log.debug("restored %d cached prompt tokens (of %d)", saved, len(tokens))
        return saved
