"""``rag ui``: start the chat page (``rag.ui.app``). Only click is imported here; gradio and the models
load when the command runs."""

from __future__ import annotations

import click

from rag.cli.options import index_option, listen_options, reader_options
from rag.cli.sharing import logins, sharing_options
from rag.ui.strings import LANGUAGES


@click.command("ui")
@index_option()
@listen_options(port=7860)
@reader_options(backend=False)
@click.option("--lang", type=click.Choice(LANGUAGES), default="it", show_default=True, help="Language of the page.")
@sharing_options
def ui(index, host, port, reader, lang, auth_pairs, auth_file, max_file_mb, max_batch_mb) -> None:
    """Start the chat page: ask questions in the browser, see cited sources, add articles.

    The models load once at start (about a minute on 2 cores); then open http://HOST:PORT.
    Several people can use it at once: their questions wait in one queue; uploads are indexed
    apart, with progress and a cancel button, while questions go on being answered.
    Serving beyond this machine (--host 0.0.0.0)? Add --auth USER:PASS or --auth-file FILE.
    With --llm URL the model answers from an OpenAI-compatible server, which may answer many at once.
    """
    credentials = logins(host, auth_pairs, auth_file)
    shown = reader.served()  # a server that is down is said before gradio loads
    from rag.ui import app
    from rag.ui.uploads import MB, UploadLimits

    limits = UploadLimits(file_mb=max_file_mb, batch_mb=max_batch_mb)
    factory = app.load_assistant
    if reader.url:
        import functools

        factory = functools.partial(app.load_assistant, url=reader.url, api_key=reader.api_key)
    click.echo(f"loading the index {index!r} and the model {shown} …", err=True)
    demo = app.build_app(factory, index=index, model=shown.model, lang=lang, limits=limits)
    login = f" (login required: {len(credentials)} user(s))" if credentials else ""
    click.echo(f"ready: http://{host}:{port}{login}", err=True)
    app.launch_app(demo, host=host, port=port, auth=credentials or None, max_file_size=int(max_file_mb * MB))
