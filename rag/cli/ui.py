"""``rag ui``: start the chat page (``rag.ui.app``). Only click is imported here; gradio and the models
load when the command runs."""

from __future__ import annotations

import click

from rag.cli.options import index_option, llm_option
from rag.ui.strings import LANGUAGES


@click.command("ui")
@index_option()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (0.0.0.0 for the LAN).")
@click.option("--port", default=7860, show_default=True, type=int, help="Port to listen on.")
@llm_option
@click.option("--lang", type=click.Choice(LANGUAGES), default="it", show_default=True, help="Language of the page.")
def ui(index: str, host: str, port: int, model: str, lang: str) -> None:
    """Start the chat page: ask questions in the browser, see cited sources, add articles.

    The models load once at start (about a minute on 2 cores); then open http://HOST:PORT.
    Several people can use it at once: their questions wait in one queue.
    """
    from rag.ui import app

    click.echo(f"loading the index {index!r} and the model {model} …", err=True)
    demo = app.build_app(app.load_assistant, index=index, model=model, lang=lang)
    click.echo(f"ready: http://{host}:{port}", err=True)
    app.launch_app(demo, host=host, port=port)
