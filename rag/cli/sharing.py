"""Serving beyond this machine, the same for ``rag ui`` and ``rag serve``: the logins (``--auth``,
``--auth-file``), the upload limits, and a warning when a server open to the network asks for no login."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import click

from rag.errors import InputError


def sharing_options(func):
    """``--auth``, ``--auth-file``, ``--max-file-mb`` and ``--max-batch-mb``."""
    options = [
        click.option(
            "--auth", "auth_pairs", multiple=True, metavar="USER:PASS", help="Require this login (repeatable)."
        ),
        click.option(
            "--auth-file",
            type=click.Path(path_type=Path, dir_okay=False),
            help="Require one of the logins in this file (USER:PASS a line; # comments).",
        ),
        click.option(
            "--max-file-mb",
            type=click.FloatRange(min=0.001),
            default=10,
            show_default=True,
            help="Upload limit per file.",
        ),
        click.option(
            "--max-batch-mb",
            type=click.FloatRange(min=0.001),
            default=50,
            show_default=True,
            help="Upload limit per batch of files.",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


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


def logins(host: str, auth_pairs: tuple[str, ...], auth_file: Path | None) -> list[tuple[str, str]]:
    """The logins to require; a warning (once) when none is given and ``host`` is reachable from the network."""
    credentials = parse_credentials(auth_pairs, auth_file)
    if not credentials and not is_loopback(host):
        message = (
            f"serving on {host} without --auth: anyone who can reach this machine can ask questions "
            "and add articles to the index. Add --auth USER:PASS or --auth-file FILE."
        )
        click.echo(click.style(f"WARNING: {message}", fg="red", bold=True), err=True)
    return credentials
