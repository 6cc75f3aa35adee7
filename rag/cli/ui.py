"""``rag ui``: start the chat page (``rag.ui.app``). Only click is imported here; gradio and the models
load when the command runs."""

from __future__ import annotations

import ipaddress
import logging
from pathlib import Path

import click

from rag.cli.options import index_option, listen_options, llm_option
from rag.errors import InputError
from rag.ui.strings import LANGUAGES

log = logging.getLogger("rag.ui")


def parse_credentials(pairs: tuple[str, ...], auth_file: Path | None) -> list[tuple[str, str]]:
    """``user:password`` pairs from ``--auth`` and ``--auth-file`` (one a line; blank lines, # comments skipped)."""
    lines = [(f"--auth {pair.split(':', 1)[0]}:…", pair) for pair in pairs]
    if auth_file is not None:
        try:
            text = auth_file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            raise InputError(f"{auth_file}: cannot read the auth file ({e})") from e
        lines += [(f"{auth_file}:{n}", line.strip()) for n, line in enumerate(text.splitlines(), 1)]
    credentials = []
    for where, line in lines:
        if not line or line.startswith("#"):
            continue
        user, _, password = line.partition(":")
        if not user.strip() or not password:
            raise InputError(f"{where}: expected USER:PASSWORD with both parts non-empty")
        credentials.append((user.strip(), password))
    return credentials


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@click.command("ui")
@index_option()
@listen_options(port=7860)
@llm_option
@click.option("--lang", type=click.Choice(LANGUAGES), default="it", show_default=True, help="Language of the page.")
@click.option("--auth", "auth_pairs", multiple=True, metavar="USER:PASS", help="Require this login (repeatable).")
@click.option(
    "--auth-file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Require one of the logins in this file (USER:PASS a line; # comments).",
)
@click.option(
    "--max-file-mb", type=click.FloatRange(min=0.001), default=10, show_default=True, help="Upload limit per file."
)
@click.option(
    "--max-batch-mb",
    type=click.FloatRange(min=0.001),
    default=50,
    show_default=True,
    help="Upload limit per batch of files.",
)
def ui(index, host, port, model, lang, auth_pairs, auth_file, max_file_mb, max_batch_mb) -> None:
    """Start the chat page: ask questions in the browser, see cited sources, add articles.

    The models load once at start (about a minute on 2 cores); then open http://HOST:PORT.
    Several people can use it at once: their questions wait in one queue; uploads are indexed
    apart, with progress and a cancel button, while questions go on being answered.
    Serving beyond this machine (--host 0.0.0.0)? Add --auth USER:PASS or --auth-file FILE.
    """
    credentials = parse_credentials(auth_pairs, auth_file)
    if not credentials and not is_loopback(host):
        message = (
            f"WARNING: serving on {host} without --auth: anyone who can reach this machine can ask questions "
            "and add articles to the index. Add --auth USER:PASS or --auth-file FILE."
        )
        click.echo(click.style(message, fg="red", bold=True), err=True)
        log.warning(message)
    from rag.ui import app
    from rag.ui.uploads import MB, UploadLimits

    limits = UploadLimits(file_mb=max_file_mb, batch_mb=max_batch_mb)
    click.echo(f"loading the index {index!r} and the model {model} …", err=True)
    demo = app.build_app(app.load_assistant, index=index, model=model, lang=lang, limits=limits)
    login = f" (login required: {len(credentials)} user(s))" if credentials else ""
    click.echo(f"ready: http://{host}:{port}{login}", err=True)
    app.launch_app(demo, host=host, port=port, auth=credentials or None, max_file_size=int(max_file_mb * MB))
