"""What every answer model is: ``Generator``, whose ``stream(messages)`` yields pieces of the reply.

The backends (``rag.models.generate``, ``rag.models.hf_generate``, ``rag.models.openai_generate``)
implement it; ``Message`` is one turn of the chat, ``FirstToken`` asks a backend how likely the reply was to
start with a given text. What a backend can do beyond ``stream`` it says with capability flags
(``rag.backends.CAPABILITIES``), read before asking:

>>> from rag.backends import capabilities
>>> capabilities(Generator)
{'supports_prefix_cache': False, 'supports_first_token': False, 'supports_cached_share': False, \
'supports_token_count': False}
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

Message = dict[str, str]  # {"role": "system"|"user"|"assistant", "content": "..."}


@dataclass
class FirstToken:
    """Asks ``stream`` how likely the reply was to start like ``text``: ``probability`` is filled in with
    the model's probability of ``text``'s first token as the reply's first token, by a backend whose
    ``supports_first_token`` is True (the others leave it None: read the flag, not the None). Reading it
    costs nothing: it is the distribution greedy decoding picks from anyway.

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
    """A chat model. Subclasses implement ``stream``; ``name`` says which model it is.

    The ``supports_*`` flags say what else it can do (``rag.backends.CAPABILITIES``); a subclass sets the
    ones it supports (on the class, or on the instance when it depends on the model or server reached).
    """

    name: str = "generator"
    context_tokens: int = 4096
    supports_prefix_cache: bool = False  # keeps the states of prompts it has read
    supports_first_token: bool = False  # fills in ``FirstToken.probability``
    supports_cached_share: bool = False  # ``cached_share`` tells how much of a prompt is already read
    supports_token_count: bool = False  # ``count_tokens`` is exact (else an estimate: 3 characters a token)

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
        """Share of the prompt of ``messages`` already read (reusable without prefill), from a backend whose
        ``supports_cached_share`` is True; check the flag first. Here (no such backend): 0.0, nothing known to
        be read, kept only while callers written before the flag still call it unchecked."""
        return 0.0

    def count_tokens(self, text: str) -> int:
        """Tokens ``text`` takes in the prompt: exact where ``supports_token_count``, else an estimate."""
        return max(1, len(text) // 3)


def first_new_token(prompt: Sequence[int], longer: Sequence[int]) -> int | None:
    """The token ``longer`` adds right after ``prompt`` (None when tokenizing the two merged their ends).

    >>> first_new_token([1, 2], [1, 2, 7, 8]), first_new_token([1, 2], [1, 3, 7])
    (7, None)
    """
    n = len(prompt)
    return longer[n] if len(longer) > n and list(longer[:n]) == list(prompt) else None
