"""``rag serve``: the HTTP API (``rag.api``) and the chat page (``rag.ui``) on one port. Only click is
imported here; FastAPI, gradio and the models load when the command runs."""

from __future__ import annotations

import click

from rag.cli.options import index_option, listen_options, reader_options
from rag.cli.sharing import logins, sharing_options
from rag.ui.strings import LANGUAGES


@click.command("serve")
@index_option()
@listen_options(port=8000)
@reader_options(backend=False)
@click.option("--ui/--no-ui", default=True, show_default=True, help="Also serve the chat page at /.")
@click.option("--lang", type=click.Choice(LANGUAGES), default="it", show_default=True, help="Language of the page.")
@sharing_options
def serve(index, host, port, reader, ui, lang, auth_pairs, auth_file, max_file_mb, max_batch_mb) -> None:
    """Serve the HTTP API for other programs, and the chat page beside it.

    \b
    POST /v1/chat/completions  OpenAI-compatible (stream or not); "sources" lists what [n] cites
    GET  /search?q=...&k=5     the passages that best match q (filters: date_from, date_to, source, doc)
    GET  /v1/models            the answer model served
    GET  /docs                 the API's own reference (OpenAPI)

    The models load once at start; answers are written one at a time, or, with --llm URL, by an
    OpenAI-compatible server (llama.cpp server, vLLM, Ollama) that may write many at once.
    Serving beyond this machine (--host 0.0.0.0)? Add --auth USER:PASS or --auth-file FILE: the page
    asks for the login, the API for it as its key (Basic, or Bearer USER:PASS).
    """
    credentials = logins(host, auth_pairs, auth_file)
    reader = reader.served()  # a server that is down is said before any loading
    import uvicorn

    from rag.answer.assistant import Assistant
    from rag.api.app import create_app
    from rag.logins import Throttle

    click.echo(f"loading the index {index!r} and the model {reader} …", err=True)
    assistant = Assistant.load(index=index, **reader.settings())
    model = assistant.generator.name  # with --llm and no --model: the server's only model
    served = {"url": reader.url, "api_key": reader.api_key} if reader.url else {}
    throttle = Throttle()  # one count of wrong logins for the API and the page
    app = create_app(lambda: assistant, model=model, logins=credentials, throttle=throttle)
    if ui:
        from rag.ui import app as page
        from rag.ui.server import mount_app
        from rag.ui.uploads import MB, UploadLimits

        def shared(name: str, llm: str, **server):  # the page reuses the loaded assistant: same index and model
            server = server or served
            if (name, llm, server.get("url")) == (index, model, reader.url):
                return assistant
            return page.load_assistant(name, llm, **server)

        limits = UploadLimits(file_mb=max_file_mb, batch_mb=max_batch_mb)
        demo = page.build_app(shared, index=index, model=model, lang=lang, limits=limits)
        app = mount_app(app, demo, throttle=throttle, auth=credentials or None, max_file_size=int(max_file_mb * MB))
    click.echo(
        f"ready: http://{host}:{port}/v1/chat/completions" + (f" and http://{host}:{port}/" if ui else ""), err=True
    )
    uvicorn.run(app, host=host, port=port, log_level="warning")
