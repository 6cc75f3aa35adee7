"""How questions are answered: ``AskSettings`` (one definition of every default), built from keyword
arguments by ``make_settings``. Light to import: the command line reads its defaults from here."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from rag.answer.verify import Thresholds, check_names


@dataclass(frozen=True)
class AskSettings:
    """How questions are answered. Pass any field to ``Assistant.load(..., field=value)``."""

    k: int = 4  # passages retrieved
    passage_tokens: int = 200  # prompt budget for passage text: prefill dominates time to first token
    max_tokens: int = 80  # answer length cap
    max_question_chars: int = 1000  # longer questions are cut (with a warning) before search and prompt
    history_turns: int = 1  # earlier exchanges given to the model with a follow-up question
    mode: str = "hybrid"
    source_language: str = "it"  # language of the indexed articles (for sentence splitting)
    # What the model reads: "sentences" (the best sentences of the passages, within passage_tokens),
    # "articles" (the passages' whole articles, within document_tokens), or "auto": the whole articles
    # when reading them is mostly cached already (a second question about an article), else sentences.
    context: str = "auto"
    document_tokens: int = 1200
    cached_share: float = 0.8  # "mostly cached": this share of the prompt's tokens already read
    escalate: bool = True  # when the sentences give no backed answer, read the whole articles and retry
    thresholds: Thresholds = Thresholds()
    # checks switched off, by name (``rag.answer.verify.Reason``: "doubt", "not_cited", …); ``rag bench checks``
    # switches them all off to see every check that fires, and what each would change
    checks_off: frozenset[str] = frozenset()

    def __post_init__(self):
        object.__setattr__(self, "checks_off", check_names(self.checks_off))


def split_settings(settings: dict) -> tuple[dict, dict]:
    """(AskSettings and Thresholds fields, the rest: generator settings such as n_ctx)."""
    fields = {f.name for f in dataclasses.fields(AskSettings)} | {f.name for f in dataclasses.fields(Thresholds)}
    ask = {k: v for k, v in settings.items() if k in fields}
    return ask, {k: v for k, v in settings.items() if k not in fields}


def make_settings(**values) -> AskSettings:
    threshold_fields = {f.name for f in dataclasses.fields(Thresholds)}
    chosen = {k: values.pop(k) for k in list(values) if k in threshold_fields}
    thresholds = values.pop("thresholds", None) or Thresholds(**chosen)
    return AskSettings(**values, thresholds=thresholds)
