"""The prompt cache with a real llama.cpp model (the shared 0.5B, quick): states kept by token prefix,
bounded in bytes, restored across articles, and never reused for an article whose text changed."""

from __future__ import annotations

import pytest

from rag.errors import ModelError
from rag.models.kv_cache import PrefixCache, common_prefix

pytestmark = pytest.mark.llm

ARTICLE_A = "Roma, 3 dicembre 2025 – Il ministro Rustem Umerov è a Bruxelles con il generale Andrii Hnatov. " * 6
ARTICLE_B = "Kiev, 2 febbraio 2026 – Domani il segretario della NATO Mark Rutte parlerà alla Verkhovna Rada. " * 6


@pytest.fixture
def generator(qwen_05b):
    return qwen_05b


def ask(generator, article: str, question: str) -> str:
    messages = [
        {"role": "system", "content": "Rispondi in breve."},
        {"role": "user", "content": f"{article}\n{question}"},
    ]
    return generator.generate(messages, max_tokens=8)


def test_a_second_article_does_not_evict_the_first_from_the_reusable_prefix(generator):
    ask(generator, ARTICLE_A, "Chi è con Umerov?")
    ask(generator, ARTICLE_B, "Dove parlerà Rutte?")  # the live context now holds B
    messages = [
        {"role": "system", "content": "Rispondi in breve."},
        {"role": "user", "content": f"{ARTICLE_A}\nE poi?"},
    ]
    tokens = generator.prompt_tokens(messages)
    live = common_prefix(generator.llm.input_ids[: generator.llm.n_tokens].tolist(), tokens)
    cached = generator.prompt_cache.longest(tokens)[0]
    assert cached > live + 100 and generator.cached_share(messages) > 0.8  # A's prefix comes back from the cache
    assert generator.prompt_cache.restore(generator.llm, tokens) == cached
    assert ask(generator, ARTICLE_A, "E poi?").strip()  # and generation goes on from the restored state


def test_a_replaced_article_is_read_again_not_taken_from_the_cache(generator):
    ask(generator, ARTICLE_A, "Chi è con Umerov?")
    changed = ARTICLE_A.replace("Andrii Hnatov", "Valerii Zaluzhnyi")
    messages = [{"role": "system", "content": "Rispondi in breve."}, {"role": "user", "content": f"{changed}\nChi?"}]
    assert generator.cached_share(messages) < 0.5  # the new text shares only what comes before the change
    answer = ask(generator, changed, "Chi è con Umerov? Rispondi con il nome.")
    assert "Zaluzhnyi" in answer or "Zaluzh" in answer


def test_the_cache_holds_no_more_than_its_capacity(generator):
    sizes = []
    for article in (ARTICLE_A, ARTICLE_B):
        ask(generator, article, "Chi?")
        probe = PrefixCache()
        probe.save(generator.llm)
        sizes.append(probe.size_bytes)
    small = PrefixCache(capacity_bytes=max(sizes) + 1)  # room for one state, not two
    for article in (ARTICLE_A, ARTICLE_B):
        ask(generator, article, "Chi?")
        small.save(generator.llm)
    assert len(small) == 1 and small.size_bytes <= small.capacity_bytes  # the older one was let go
    off = PrefixCache(capacity_bytes=0)
    off.save(generator.llm)
    assert len(off) == 0


def test_a_cap_beyond_the_context_ends_where_the_context_does(generator):
    # an audit: --max-tokens 100000 was reported as "the prompt has 475 tokens, too many for a context"
    messages = [{"role": "user", "content": "Rispondi con una sola parola: di che colore è il cielo?"}]
    assert "".join(generator.stream(messages, max_tokens=100_000)).strip()
    context = generator.context_tokens
    with pytest.raises(ModelError, match=f"too many for a context of {context}"):
        list(generator.stream([{"role": "user", "content": "parola " * (context + 100)}], max_tokens=100_000))
