"""``rag ask``: answer a question with sources, streaming in a terminal. Heavy imports stay inside."""

from __future__ import annotations

import click

from rag.answer.settings import AskSettings
from rag.cli.options import filter_options, index_option, passage_tokens_option, reader_options
from rag.render import bold_days


def _echo_answer_sources(answer) -> None:
    if answer.refused:
        return
    click.echo()
    for c in answer.citations:
        when = f" ({c.date})" if c.date else ""
        click.echo(click.style(f"[{c.number}] {c.doc_id}{when}", bold=True) + f"  {c.title}")
        click.echo(f"    «{c.quote}»")


def _erase(text: str) -> None:
    """Move the cursor back over ``text`` just streamed to a terminal and clear it."""
    import shutil

    width = max(20, shutil.get_terminal_size().columns)
    lines = sum(max(1, -(-len(line) // width)) for line in text.split("\n"))
    click.echo("\r" + ("\x1b[1A" * (lines - 1)) + "\x1b[J", nl=False)


@click.command("ask")
@click.argument("question")
@index_option()
@reader_options
@click.option("-k", type=click.IntRange(min=1), default=AskSettings.k, show_default=True, help="Passages to retrieve.")
@click.option(
    "--max-tokens",
    type=click.IntRange(min=1),
    default=AskSettings.max_tokens,
    show_default=True,
    help="Answer length cap in tokens.",
)
@passage_tokens_option
@filter_options
@click.option("--json", "as_json", is_flag=True, help="Print the whole Answer as JSON (no streaming).")
def ask(question, index, reader, k, max_tokens, passage_tokens, filters, as_json) -> None:
    """Answer QUESTION from the indexed articles, with numbered sources.

    Only checked text is shown: a fact once it is checked, a digest line by line as each is
    ready; [n] markers point to the sources listed below it. When the sources do not hold the
    answer, a fixed message says so (refused). With --llm URL the model answers from an
    OpenAI-compatible server (llama.cpp server, vLLM, Ollama); its answers are checked here the
    same way.
    """
    import json
    import sys

    reader = reader.served()  # a server that is down is said before any loading
    from rag.answer.assistant import Assistant

    assistant = Assistant.load(index, **reader.settings(), passage_tokens=passage_tokens)
    if as_json:
        answer = assistant.ask(question, k=k, max_tokens=max_tokens, filters=filters)
        click.echo(json.dumps(answer.to_dict(), indent=2, ensure_ascii=False))
        return
    live = sys.stdout.isatty()
    shown = ""
    final = None
    for answer in assistant.ask_stream(question, k=k, max_tokens=max_tokens, filters=filters):
        if answer.done:
            final = answer
            break
        if live and answer.text.startswith(shown):
            click.echo(click.style(answer.text[len(shown) :], dim=True), nl=False)
            shown = answer.text
    if live and shown:
        _erase(shown)
    if final.short and not final.refused and final.text.startswith(final.short):  # the short answer in bold
        click.echo(click.style(final.short, bold=True) + final.text[len(final.short) :])
    else:
        click.echo(bold_days(final.text, lambda day: click.style(day, bold=True)))  # plain in a pipe
    _echo_answer_sources(final)
    if final.refused:
        withdrawn = "the draft answer was withdrawn; " if shown else ""
        click.echo(click.style(f"({withdrawn}why: {', '.join(final.refusal_reasons)})", dim=True))
