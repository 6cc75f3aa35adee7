"""Speculative decoding for llama.cpp with drafts taken from the prompt (no draft model).

Answers copy their sources, so the tokens that followed the reply's last few tokens in the prompt are
good guesses; llama-cpp-python checks them in one batch (``Llama(draft_model=PromptLookup(...))``).
``RAG_DRAFT_TOKENS`` sets how many (``rag.config.draft_tokens``; 0 turns drafting off).
"""

from __future__ import annotations

import numpy as np


class PromptLookup:
    """Drafts for speculative decoding taken from the prompt: where the text's last ``ngram + 1`` (else
    ``ngram``) tokens stood before, the ``tokens`` that followed them there (the latest such place).
    Answers copy their sources, so drafts are often right, and checking a few in one batch costs little
    more than one token's decode step on a CPU whose decoding is bound by memory bandwidth. The reply
    is what greedy decoding gives, up to rounding: a batch is multiplied by other kernels than a single
    token, so a near tie can break the other way.

    >>> PromptLookup(tokens=2)(np.array([5, 1, 2, 3, 4, 9, 1, 2, 3]))
    array([4, 9])
    >>> PromptLookup(tokens=2)(np.array([5, 1, 2, 7, 1, 2]))  # two tokens are too common a match
    array([], dtype=int32)
    """

    def __init__(self, tokens: int = 6, ngram: int = 3):
        self.tokens, self.ngram = tokens, ngram

    def __call__(self, input_ids: np.ndarray, /, **kwargs) -> np.ndarray:
        for n in range(self.ngram + 1, self.ngram - 1, -1):
            if len(input_ids) <= n:
                continue
            windows = np.lib.stride_tricks.sliding_window_view(input_ids[:-1], n)
            found = np.nonzero((windows == input_ids[-n:]).all(axis=1))[0]
            if len(found):
                start = found[-1] + n
                return input_ids[start : start + self.tokens]
        return np.array([], dtype=np.intc)


def logits_for_drafts_only(llm, draft_tokens: int) -> None:
    """Replace ``llm.eval`` by one that asks llama.cpp for logits where sampling needs them.

    Speculative decoding samples at the decode step's token and at each draft after it, so those need
    logits; llama-cpp-python then turns logits on for every batch, the prompt's ~1,000 tokens included
    (151k logits each, copied into a matrix sized for the prompt's batch only, which fails past 512
    tokens). Here a decode step (at most the sampled token and its drafts) gets logits for all its
    tokens, and a prompt only for its last one. Nothing reads the logits matrix: llama.cpp samples
    from its own buffer. (llama-cpp-python 0.3.36, pinned.)"""

    def eval_(tokens):
        llm._ctx.kv_cache_seq_rm(-1, llm.n_tokens, -1)
        every = len(tokens) <= draft_tokens + 1
        for i in range(0, len(tokens), llm.n_batch):
            batch = tokens[i : i + llm.n_batch]
            llm._batch.set_batch(batch=batch, n_past=llm.n_tokens, logits_all=every)
            llm._ctx.decode(llm._batch)
            llm.input_ids[llm.n_tokens : llm.n_tokens + len(batch)] = batch
            llm.n_tokens += len(batch)
        llm._requires_eval = False

    llm.eval = eval_
