"""``rag ui``: start the chat page. Only click is imported here; gradio and the models load on run."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import click

APP_PATH = Path(__file__).resolve().parent.parent / "ui" / "app.py"


def load_ui_module():
    """Import ``ui/app.py`` from the repository (the package is installed editable; ``ui/`` is not a package)."""
    from rag.errors import RagError

    if not APP_PATH.exists():
        raise RagError(f"{APP_PATH} not found; run `rag ui` from a checkout of the repository (pip install -e .)")
    if "rag_ui_app" in sys.modules:
        return sys.modules["rag_ui_app"]
    spec = importlib.util.spec_from_file_location("rag_ui_app", APP_PATH)
    module = importlib.util.module_from_spec(spec)
    sys.modules["rag_ui_app"] = module
    spec.loader.exec_module(module)
    return module


@click.command("ui")
@click.option("--index", "-i", default="seeds", show_default=True, help="Index name under ./index (or a path).")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (0.0.0.0 for the LAN).")
@click.option("--port", default=7860, show_default=True, type=int, help="Port to listen on.")
@click.option(
    "--model",
    default="qwen2.5-1.5b-instruct",
    show_default=True,
    help="Answer model to load at start: qwen2.5-1.5b-instruct or qwen2.5-0.5b-instruct.",
)
@click.option("--lang", type=click.Choice(["it", "en"]), default="it", show_default=True, help="Language of the page.")
def ui(index: str, host: str, port: int, model: str, lang: str) -> None:
    """Start the chat page: ask questions in the browser, see cited sources, add articles.

    The models load once at start (about a minute on 2 cores); then open http://HOST:PORT.
    Several people can use it at once: their questions wait in one queue.
    """
    app = load_ui_module()
    click.echo(f"loading the index {index!r} and the model {model} …", err=True)
    demo = app.build_app(app.load_assistant, index=index, model=model, lang=lang)
    click.echo(f"ready: http://{host}:{port}", err=True)
    app.launch_app(demo, host=host, port=port)
