"""The ``rag`` command line: one group, a module per family of commands. Errors the user can fix are
printed on one line, exit code 2.

Command modules only parse, call the library and print; each imports only click (and light modules)
when loaded, so ``rag --help`` is fast. Product commands are top-level; measurements live under
``rag bench``.
"""

from __future__ import annotations

import logging
import os
import sys

import click

from rag.cli.ask import ask
from rag.cli.bench import bench
from rag.cli.eval import eval_command
from rag.cli.index import index, search, setup
from rag.cli.serve import serve
from rag.cli.ui import ui
from rag.errors import RagError

log = logging.getLogger(__name__)


def _setup_logging(verbose: int, quiet: bool) -> None:
    level = logging.WARNING if quiet else logging.DEBUG if verbose else logging.INFO
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
    logging.getLogger("rag").setLevel(level)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import warnings

    warnings.filterwarnings("ignore", category=UserWarning)
    warnings.filterwarnings("ignore", category=FutureWarning)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", count=True, help="Show debug messages.")
@click.option("-q", "--quiet", is_flag=True, help="Only warnings and errors; no progress bars.")
def cli(verbose: int, quiet: bool) -> None:
    """Ask questions about news articles, offline, with cited sources.

    \b
    Typical use:
      rag setup                          fetch and verify the models (once)
      rag index build seeds --name seeds index the bundled articles
      rag search "Chi accompagnava Umerov a Bruxelles?"
      rag ask "Chi accompagnava Umerov a Bruxelles?"
      rag ui                             chat in the browser at http://127.0.0.1:7860
      rag serve                          the HTTP API (OpenAI-compatible) and the chat page, port 8000
      rag eval eval/seeds.jsonl          score retrieval and answers on a gold set
      rag bench --help                   speed and accuracy measurements
    """
    _setup_logging(verbose, quiet)


for command in (setup, index, search, ask, eval_command, ui, serve, bench):
    cli.add_command(command)


def main() -> None:
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as e:
        e.show()
        sys.exit(2)
    except RagError as e:
        click.echo(f"error: {e}", err=True)
        sys.exit(2)
    except OSError as e:  # a folder that cannot be written (read-only, full disk), a path that is a file
        log.debug("OS error", exc_info=True)
        click.echo(f"error: {e}; check that path and its permissions (`rag -v …` shows where it happened)", err=True)
        sys.exit(2)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)
