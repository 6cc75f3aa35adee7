"""Answer questions: retrieve -> prompt -> generate -> ground, with citations and honest refusal.

>>> from rag.answer.assistant import Assistant
>>> assistant = Assistant.load("seeds")                                  # doctest: +SKIP
>>> answer = assistant.ask("Chi accompagnava Umerov a Bruxelles?")       # doctest: +SKIP
>>> answer.text, [(c.number, c.doc_id, c.quote) for c in answer.citations]  # doctest: +SKIP
>>> for partial in assistant.ask_stream("Quando sarà Mark Rutte a Kiev?"):  # doctest: +SKIP
...     print(partial.text, partial.done)

The index, the embedder and the LLM are loaded once by ``Assistant.load``; ``ask`` may be called
any number of times (one generation runs at a time per Assistant).
"""

from __future__ import annotations

import dataclasses
import logging
import re
import time
from collections.abc import Iterator, Sequence
from datetime import date

import numpy as np

from rag.answer.citations import strip_markers
from rag.answer.kinds import Asked, Kind, read_question
from rag.answer.news import answer_news
from rag.answer.prompt import DONT_KNOW, SHORT_LABEL, SYSTEM, Prompt, build_prompt, document_hit, labels
from rag.answer.refusal import DENSE_FLOORS, REFUSAL, absent_names, coverage
from rag.answer.reply import parse
from rag.answer.settings import AskSettings, make_settings, split_settings
from rag.answer.verify import run_checks, verify_fact
from rag.config import DEFAULT_LLM
from rag.errors import InputError, check_counts
from rag.index.retriever import Retriever
from rag.models.generate import load_generator
from rag.models.llm import FirstToken, Generator
from rag.text import all_stopwords, detect_language, fold, keys, valid_text
from rag.types import Answer, Evidence, Filters, Hit

log = logging.getLogger(__name__)

_FOLLOW_UP_RE = re.compile(
    r"^(e|ed|ma|and|but|what about|e invece|invece)\b|\b(lo|la|li|le|gli|lui|lei|loro|esso|essa|questo|questa|"
    r"quello|quella|costui|suo|sua|suoi|sue|he|she|it|they|him|her|them|his|its|their|this|that)\b",
    re.IGNORECASE,
)


# What is being done while nothing checked can be shown yet, in the question's language.
STATUS = {
    "reading": {"it": "Leggo {n} passaggi degli articoli…", "en": "Reading {n} passages of the articles…"},
    "reading_one": {"it": "Leggo un passaggio degli articoli…", "en": "Reading one passage of the articles…"},
    "reading_articles": {"it": "Leggo {n} articoli interi…", "en": "Reading {n} whole articles…"},
    "reading_articles_one": {"it": "Leggo l'articolo intero…", "en": "Reading the whole article…"},
    "summary": {
        "it": "Cerco l'articolo e le sue frasi principali…",
        "en": "Finding the article and its main sentences…",
    },
    "digest": {"it": "Cerco gli articoli di cui si chiede…", "en": "Finding the articles asked about…"},
    "list": {"it": "Cerco l'articolo e ciò che nomina…", "en": "Finding the article and what it names…"},
}


_SHOWN_FACT_RE = re.compile(r"^(?P<short>[^\n«]*?) — «(?P<sentence>.+)»\s*(?:\[\d+\])?\s*$", re.DOTALL)


def as_said(answer: str) -> str:
    """An earlier answer as the model is shown it in a follow-up: a fact's quoted sentence as plain text
    (shown "Andrii Hnatov — «Umerov sarà accompagnato dal …» [1]", the model would copy that form into its
    short answer), without [n] markers.

    >>> as_said("Andrii Hnatov — «Umerov sarà accompagnato da Andrii Hnatov.» [1]")
    'Umerov sarà accompagnato da Andrii Hnatov.'
    >>> as_said("Il 3 febbraio [1].")
    'Il 3 febbraio.'
    """
    match = _SHOWN_FACT_RE.match(answer.strip())
    return strip_markers(match["sentence"] if match else answer)


def needs_conversation(question: str, history: Sequence[tuple[str, str]]) -> bool:
    """Whether ``question`` continues the conversation: it leans on it (a pronoun, "E …", or too few words to
    stand alone: "Quanti anni ha?") and does not change subject (a name the conversation never said) or
    language ("Who is he?" after an Italian question is a new question, in English).

    >>> said = [("Chi accompagnava Umerov a Bruxelles?", "Andrii Hnatov — «Umerov sarà accompagnato da …» [1]")]
    >>> needs_conversation("E chi lo accompagnava?", said), needs_conversation("Quanti anni ha?", said)
    (True, True)
    >>> needs_conversation("Chi ha vinto Sanremo?", said), needs_conversation("Who is he?", said)
    (False, False)
    >>> needs_conversation("Quale paese ha ritirato il veto sulle sanzioni?", said)
    False
    """
    last_question = history[-1][0]
    asked_in = detect_language(question, default="")
    if asked_in and asked_in != detect_language(last_question):
        return False
    earlier = fold(" ".join(f"{q} {a}" for q, a in history))
    names = re.findall(r"(?<=\w)\s+([A-ZÀ-Ý][\w'’-]+)", question)  # capitalised, not the first word
    if any(fold(name) not in earlier for name in names):
        return False
    return bool(_FOLLOW_UP_RE.search(question)) or len(keys(question)) <= 2


def _cited_hit(citation) -> Hit:
    """The passage a news reply cites, as a search hit (the page lists what was consulted)."""
    return Hit(
        citation.chunk_id, citation.doc_id, citation.title, citation.passage, citation.score, citation.number,
        0, len(citation.passage), citation.date, citation.place, None, None,
    )  # fmt: skip


class Assistant:
    """Retriever + generator loaded once; ``ask``/``ask_stream`` answer with citations or refuse."""

    retriever: Retriever

    def __init__(self, retriever: Retriever, generator: Generator, settings: AskSettings | None = None):
        settings = settings or AskSettings()
        if settings.thresholds.min_dense is None:  # the cosine scale is the embedding model's own
            floor = DENSE_FLOORS.get(retriever.embedder.info.model_id)
            settings = dataclasses.replace(
                settings, thresholds=dataclasses.replace(settings.thresholds, min_dense=floor)
            )
        self.retriever = retriever
        self.generator = generator
        self.settings = settings
        if not generator.supports_first_token and "DOUBT" not in settings.checks_off:
            log.warning("%s gives no first-token probabilities: the doubt check is off", type(generator).__name__)

    @classmethod
    def load(
        cls, index: str | Retriever = "seeds", model: str = DEFAULT_LLM, backend: str = "llama-cpp", **settings
    ) -> Assistant:
        """Open ``index`` (a name or path, or a ``Retriever`` already open: its embedder is not loaded again)
        and load ``model`` with ``backend`` (``llama-cpp``, ``transformers``, or ``openai``: a served model,
        with ``url=`` and ``api_key=``; ``model=None`` then takes the server's only model).

        ``settings`` are ``AskSettings``/``Thresholds`` fields (``k=6``, ``passage_tokens=300``,
        ``min_support=0.6``); the rest go to the generator (``n_ctx``, ``n_threads``, ``device``, ``url``).
        """
        ask, generator_settings = split_settings(settings)
        retriever = index if isinstance(index, Retriever) else Retriever.load(index)
        generator = load_generator(model, backend, **generator_settings)
        assistant = cls(retriever, generator, make_settings(**ask))
        assistant.warm_up()
        return assistant

    def warm_up(self) -> None:
        """Evaluate the fixed system prompt once, so llama.cpp reuses it for the first question too."""
        started = time.perf_counter()
        detect_language("Chi accompagnava Umerov?")  # loads the language model now, not at the first question
        for _ in self.generator.stream([{"role": "system", "content": SYSTEM}, {"role": "user", "content": "Ciao"}], 1):
            break
        log.debug("warm-up %.2f s", time.perf_counter() - started)

    # ---- public API ----------------------------------------------------------------------
    def ask(
        self,
        question: str,
        history: Sequence[tuple[str, str]] = (),
        k: int | None = None,
        max_tokens: int | None = None,
        filters: Filters | None = None,
        today: date | None = None,
    ) -> Answer:
        """Answer ``question`` (``history``: earlier (question, answer) pairs of the chat; ``filters``
        restrict the articles searched; ``today``: the day it is asked, which "questa settimana" or "ieri"
        are read against, by default the machine's)."""
        answers = self.ask_stream(question, history, k, max_tokens, filters, today)
        return next(a for a in answers if a.done)

    def ask_stream(
        self,
        question: str,
        history: Sequence[tuple[str, str]] = (),
        k: int | None = None,
        max_tokens: int | None = None,
        filters: Filters | None = None,
        today: date | None = None,
    ) -> Iterator[Answer]:
        """Yield partial answers (``done=False``), then one final ``Answer`` (``done=True``) with markers,
        citations, ``refused`` and timings.

        Nothing unchecked is ever yielded: a partial answer holds a ``status`` (what is being done) and only
        text that has passed the checks (a digest's lines, one by one). The kind of question (a fact, a
        summary, a digest of the news of a time or topic, a list: ``rag.answer.kinds``) picks the reply.
        """
        started = time.perf_counter()
        question = self._check_question(question)
        k = self.settings.k if k is None else k
        max_tokens = self.settings.max_tokens if max_tokens is None else max_tokens
        check_counts(("k", k), ("max_tokens", max_tokens))
        history = [(valid_text(q), valid_text(strip_markers(a))) for q, a in history if q and a]
        # unclear (a word or two): the conversation's language, else the articles'
        in_use = detect_language(history[-1][0], self.settings.source_language) if history else None
        language = detect_language(question, in_use or self.settings.source_language)
        query, context = self.rewrite(question, history)
        timings: dict[str, float] = {}
        asked = read_question(question, today or date.today())
        if asked.kind is not Kind.FACT:
            yield from self._news(asked, question, query, language, filters, today or date.today(), started)
            return

        hits = self.retriever.search(query, k=k, filters=filters, mode=self.settings.mode)
        cross = language != self.settings.source_language
        evidence = self.retrieval_evidence(query, hits, cross_language=cross)
        timings["retrieve"] = time.perf_counter() - started
        base = Answer(
            question=question,
            text="",
            query=query,
            language=language,
            passages=list(hits),
            timings=timings,
            evidence=evidence,
        )

        off = self.settings.checks_off
        early = run_checks(evidence, self.settings.thresholds, off, stage="retrieval")
        if not hits or early:
            evidence.reasons = early[:1] or ["weak retrieval"]  # the first says enough: nothing was generated
            log.info("refused before generation (%s): coverage %.2f, dense %s, names not found %s",
                     ", ".join(evidence.reasons), evidence.coverage, evidence.dense, evidence.unnamed)  # fmt: skip
            yield self._finish(base, REFUSAL.get(language, REFUSAL["en"]), [], evidence.reasons, started)
            return

        articles, articles_first = self._articles_prompt(question, hits, language, context)
        said = " ".join(f"{q} {a}" for q, a in context)  # a follow-up's earlier exchanges ("" otherwise)
        # True: the whole articles; False: their best sentences, then (escalate) the whole articles
        attempts = [True] if articles_first else [False, True] if self.settings.escalate else [False]
        for n, whole in enumerate(attempts):
            if n:  # the sentences did not give a backed answer: read the whole articles (then kept in cache)
                log.info("escalating to whole articles after: %s", ", ".join(evidence.reasons))
            if whole and articles is not None:  # built once, whether read first or on escalation
                prompt = articles
            else:
                prompt = self._prompt(question, hits, language, context, whole)
            if not prompt.passages:
                break
            evidence.context, evidence.escalated = ("articles" if whole else "sentences"), bool(n)
            base.passages = [p.hit for p in prompt.passages]
            result = yield from self._generate(base, prompt, max_tokens, started, cross, whole)
            reply, draft = result
            lang, thresholds = self.settings.source_language, self.settings.thresholds
            answer = verify_fact(question, reply, draft, prompt, evidence, thresholds, off, cross, said, lang)
            if answer is not None:
                text, citations, short = answer
                yield self._finish(dataclasses.replace(base, short=short), text, citations, [], started)
                return
        log.info("refused after generation (%s): %r", ", ".join(evidence.reasons), evidence.reply[:200])
        yield self._finish(base, REFUSAL.get(language, REFUSAL["en"]), [], evidence.reasons, started)

    # ---- the steps of an answer ------------------------------------------------------------
    def _documents(self, hits: Sequence[Hit]) -> list[Hit]:
        """The articles of ``hits`` as whole passages, best first, within ``document_tokens``; in the prompt
        they are ordered by id, so that any question over the same articles starts with the same tokens."""
        chosen, used = [], 0
        for hit in hits:
            if any(d.doc_id == hit.doc_id for d in chosen):
                continue
            doc = self.retriever.store.document(hit.doc_id)
            if doc is None:
                continue
            tokens = self.generator.count_tokens(doc.text)
            if used + tokens > self.settings.document_tokens:
                break
            chosen.append(document_hit(doc, hit.score, len(chosen) + 1))
            used += tokens
        return sorted(chosen, key=lambda d: d.doc_id)

    def _prompt(self, question, hits, language, context, whole: bool) -> Prompt:
        return build_prompt(
            question,
            self._documents(hits) if whole else hits,
            self.generator.count_tokens,
            budget=self.settings.passage_tokens,
            language=language,
            history=context,
            source_language=self.settings.source_language,
            similarity=self.retriever.embedder.similarities,
            whole=whole,
        )

    def _articles_prompt(self, question, hits, language, context) -> tuple[Prompt | None, bool]:
        """The prompt over the whole articles (None with ``context="sentences"``), and whether to use it
        first: always with ``context="articles"``, and with ``"auto"`` when it is mostly read already (its
        prefill is cached), so that reading them costs about as little as the best sentences. Otherwise
        it is kept for the escalation."""
        if self.settings.context == "sentences":
            return None, False
        prompt = self._prompt(question, hits, language, context, whole=True)
        if self.settings.context == "articles":
            return prompt, True
        knows = self.generator.supports_cached_share  # a served model: unknown, so the sentences (quick cold)
        cached = (
            bool(prompt.passages)
            and knows
            and self.generator.cached_share(prompt.messages) >= self.settings.cached_share
        )
        return prompt, cached

    def _generate(
        self, base: Answer, prompt: Prompt, max_tokens: int, started: float, cross: bool = False, whole: bool = False
    ):
        """Generate the reply, yielding only a status (nothing unchecked is shown), then return
        ``(Reply, raw text)``. In the articles' language only the short answer is needed (what is shown is
        the sentence of the article it stands in), so generation stops at its line's end; across languages
        the model's sentence is the translation shown, so it goes on."""
        timings = base.timings
        language = labels(base.language)
        raw = ""
        generate_started = time.perf_counter()
        first = FirstToken(" " + DONT_KNOW[language])
        reading = STATUS[("reading_articles" if whole else "reading") + ("_one" if len(prompt.passages) == 1 else "")]
        status = reading.get(language, reading["en"]).format(n=len(prompt.passages))
        waiting = dataclasses.replace(base, text="", status=status, done=False, timings=dict(timings))
        yield waiting
        stop = () if cross else ("\n",)
        pieces = self.generator.stream(
            prompt.messages, max_tokens=max_tokens, stop=stop, reply_prefix=SHORT_LABEL[language], first=first
        )
        try:
            for piece in pieces:
                if not raw:
                    timings.setdefault("first_token", time.perf_counter() - started)
                raw += piece
                yield waiting  # the same status: a reader that goes away (a closed tab, a client gone) can stop here
        finally:
            close = getattr(pieces, "close", None)
            if close is not None:
                close()  # the model is free again at once, whoever stops
        timings["generate"] = timings.get("generate", 0.0) + time.perf_counter() - generate_started
        timings.setdefault("first_token", timings["generate"] + timings["retrieve"])
        base.evidence.doubt = first.probability
        return parse(raw), raw

    def _news(self, asked: Asked, question: str, query: str, language: str, filters, today: date, started: float):
        """A summary, digest or list (``rag.answer.news``): the articles' own sentences, each cited."""
        if not asked.topic and asked.kind is not Kind.DIGEST and query != question:  # a follow-up: its subject
            asked = dataclasses.replace(asked, topic=read_question(f"Riassumi {query}", today).topic)
        base = Answer(question=question, text="", query=asked.topic or query, language=language, evidence=Evidence())
        status = STATUS[asked.kind.value].get(language, STATUS[asked.kind.value]["en"])
        yield dataclasses.replace(base, status=status, done=False)

        def propose(messages):
            return self.generator.generate(messages, max_tokens=160)

        floor = self.settings.thresholds.min_dense
        reply = answer_news(asked, question, language, self.retriever, today, filters, propose, floor)
        base.timings["retrieve"] = time.perf_counter() - started
        if reply.reason:
            base.evidence.reasons = [reply.reason]
            text = reply.text or REFUSAL.get(language, REFUSAL["en"])
            yield self._finish(base, text, [], [reply.reason], started)
            return
        base.passages = [_cited_hit(c) for c in reply.citations]
        if reply.lines:  # a digest: each line is shown as it is ready (checked: the articles' own words)
            for n in range(1, len(reply.lines)):
                base.timings.setdefault("first_token", time.perf_counter() - started)
                yield dataclasses.replace(base, text="\n".join(reply.lines[:n]), done=False)
        base.timings.setdefault("first_token", time.perf_counter() - started)
        yield self._finish(base, reply.text, reply.citations, [], started)

    def rewrite(self, question: str, history: Sequence[tuple[str, str]]) -> tuple[str, list[tuple[str, str]]]:
        """The search query for ``question`` in a chat, and the earlier exchanges to show the model.

        A follow-up (few content words, a pronoun, or starting with "E …") is searched together with
        the previous question and the names in the previous answer; its wording is kept for the model,
        which also sees the previous exchange.
        No LLM call: it costs nothing and keeps time to first token low.
        """
        if not history or not needs_conversation(question, history):
            return question, []
        history = [(q, as_said(a)) for q, a in history]
        previous = history[-self.settings.history_turns :] if self.settings.history_turns else []
        last_question, last_answer = history[-1]
        stop = all_stopwords()
        names = dict.fromkeys(
            w
            for w in re.findall(r"\w+", last_answer)
            if w[0].isupper() and w.lower() not in stop and w not in last_question
        )
        context = [(q, a[:300]) for q, a in previous]
        return " ".join([last_question, *list(names)[:6], question]), context

    # ---- helpers -------------------------------------------------------------------------
    def _check_question(self, question: str) -> str:
        if not isinstance(question, str) or not question.strip():
            raise InputError('the question is empty; type a question, e.g. rag ask "Chi accompagnava Umerov?"')
        question = " ".join(valid_text(question).split())
        if not question:
            raise InputError("the question holds no readable text; type a question")
        limit = self.settings.max_question_chars
        if len(question) > limit:
            cut = question[:limit].rsplit(" ", 1)[0] or question[:limit]
            log.warning("question of %d characters cut to its first %d", len(question), len(cut))
            question = cut
        return question

    def retrieval_evidence(self, query: str, hits: Sequence[Hit], cross_language: bool = False) -> Evidence:
        """What the retrieval check judges, before any generation: coverage and cosine of the best passage.

        A query without a content word ("When?") has nothing that another language would spell otherwise, so
        the check is not waived for it as it is across languages."""
        evidence = Evidence(
            coverage=coverage(query, [h.text for h in hits]),
            dense=self._dense(query, hits),
            cross_language=cross_language and bool(keys(query)),
        )
        if not cross_language:  # names are spelt otherwise across languages ("Brussels", "Bruxelles")
            docs = [self.retriever.store.document(d) for d in dict.fromkeys(h.doc_id for h in hits)]
            said = [f"{d.title}\n{d.place or ''}\n{d.source or ''}\n{d.text}" for d in docs if d is not None]
            evidence.unnamed = absent_names(query, said)  # what the prompt's sources say, headers included
        return evidence

    def _dense(self, query: str, hits: Sequence[Hit]) -> float | None:
        """Cosine between the query and the best passage (the retriever's RRF score is not comparable)."""
        if not hits:
            return None
        try:
            vectors = self.retriever.store.vectors_of([h.chunk_id for h in hits])
        except RuntimeError as e:  # an index type that cannot give vectors back
            log.debug("dense evidence unavailable: %s", e)
            return None
        if not len(vectors):
            return None
        return float(np.max(vectors @ self.retriever.embedder.embed_query(query.strip())))

    def _finish(self, base: Answer, text: str, citations, refusal_reasons: list[str], started: float) -> Answer:
        """The final answer; a non-empty ``refusal_reasons`` means it is a refusal."""
        timings = dict(base.timings)
        timings["total"] = time.perf_counter() - started
        return dataclasses.replace(
            base,
            text=text,
            citations=list(citations),
            refused=bool(refusal_reasons),
            refusal_reasons=list(refusal_reasons),
            timings=timings,
            done=True,
        )
