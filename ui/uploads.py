"""Articles uploaded on the chat page, added to an index in a worker thread.

Questions keep being answered meanwhile (the page queues uploads apart from questions); each upload
reports its progress and can be cancelled from the browser session that started it (or by closing
the page), which stops it between two batches of passages and leaves the index unchanged.
Sizes are checked before anything is read: ``UploadLimits`` per file and per upload. A served page reads
only files a client uploaded (``Uploads.folder``, set by ``rag.ui.server``), whatever path a request names.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from rag.ui.assistants import Assistants, redact
from rag.ui.strings import UPLOAD_KINDS
from rag.ui.view import add_report_text, friendly_error

from rag.errors import InputError, RagError
from rag.index.indexer import Cancelled, add_files

log = logging.getLogger("rag.ui")

MB = 1_000_000
# Said for a path a request named outside the upload folder: not something the page's button ever sends.
NOT_UPLOADED = (
    "{name}: non è un file caricato da questa pagina; aggiungi gli articoli con il pulsante"
    " / not a file uploaded on this page; add articles with the button"
)


@dataclass(frozen=True)
class UploadLimits:
    file_mb: float = 10.0  # one file
    batch_mb: float = 50.0  # all the files of one upload


class Uploads:
    def __init__(self, assistants: Assistants, t: dict[str, str], limits: UploadLimits = UploadLimits()):
        self.assistants = assistants
        self.t = t
        self.limits = limits
        self._cancels: dict[str, threading.Event] = {}
        self._lock = threading.Lock()
        # Set by the server to gradio's upload folder: then a file elsewhere (a path a request named, or a
        # link out of the folder) is refused before it is opened. None: any path (tests, notebooks).
        self.folder: Path | None = None

    def check(self, paths: list[Path]) -> None:
        """Refuse, before reading anything, a file that was not uploaded, one of the wrong kind, an empty one,
        or too many bytes."""
        t, total = self.t, 0
        if self.folder is not None:
            for p in paths:
                if not p.resolve().is_relative_to(self.folder.resolve()):
                    raise InputError(NOT_UPLOADED.format(name=p.name))
        for p in paths:
            if not p.name.lower().endswith(UPLOAD_KINDS):
                raise InputError(t["bad_type"].format(name=p.name))
            size = p.stat().st_size
            if size > self.limits.file_mb * MB:
                raise InputError(t["file_too_big"].format(name=p.name, size=size / MB, limit=self.limits.file_mb))
            total += size
        if total > self.limits.batch_mb * MB:
            raise InputError(t["batch_too_big"].format(size=total / MB, limit=self.limits.batch_mb))
        for p in paths:
            if not p.read_bytes().strip():  # said in the page's language; add_files checks the rest
                raise InputError(t["no_articles"].format(name=p.name))

    def cancel(self, session: str) -> bool:
        """Stop the upload of browser session ``session``; True if one was running."""
        with self._lock:
            event = self._cancels.get(session)
        if event is None:
            return False
        event.set()
        return True

    def run(
        self, files, index: str, model: str, session: str = "", progress: Callable | None = None, poll: float = 0.5
    ) -> Iterator[str]:
        """Add ``files`` to ``index``, yielding the Markdown status line every ``poll`` seconds; the last
        one says what was added, or why nothing was. Closing the iterator cancels the upload."""
        t = self.t
        paths = [Path(f if isinstance(f, str | Path) else getattr(f, "name", str(f))) for f in (files or [])]
        if not paths:
            yield f"⚠ {t['add_none']}"
            return
        step = progress or (lambda *a, **k: None)
        words = {"reading": t["add_reading"], "embedding": t["add_embedding"], "done": t["add_reloading"]}
        state = {"fraction": 0.0, "desc": t["add_reading"]}

        def report(fraction: float, desc: str) -> None:  # called in the worker; shown by the loop below
            state.update(fraction=fraction, desc=words.get(desc, desc))

        cancel = threading.Event()
        outcome: dict[str, object] = {}
        try:
            self.check(paths)
            assistant = self.assistants.get(index, model)
            retriever = assistant.retriever

            def work() -> None:
                try:
                    outcome["report"] = add_files(
                        paths, retriever.store.path, embedder=retriever.embedder, progress=report, cancel=cancel
                    )
                    retriever.reload()
                except BaseException as e:  # handed to the page below, never lost with the thread
                    outcome["error"] = e

            with self._lock:
                self._cancels[session] = cancel
            worker = threading.Thread(target=work, name=f"upload-{session or 'local'}", daemon=True)
            worker.start()
            try:
                while worker.is_alive():
                    worker.join(poll)
                    if worker.is_alive():
                        step(state["fraction"], desc=state["desc"])  # Gradio's progress bar: from this thread
                        yield f"⏳ {state['desc']} {state['fraction']:.0%}"
            finally:
                if worker.is_alive():  # the iterator was closed: the page cancelled or went away
                    cancel.set()
                    worker.join()
                with self._lock:
                    if self._cancels.get(session) is cancel:
                        del self._cancels[session]
            if "error" in outcome:
                raise outcome["error"]
        except Cancelled:
            yield f"⚠ {t['add_cancelled']}"
            return
        except RagError as e:
            yield f"⚠ **{t['add_failed']}**  \n{redact(friendly_error(str(e), map(str, paths)))}"
            return
        step(1.0, desc=t["add_reloading"])
        self.assistants.reload_index(index, done=assistant)
        yield f"✓ {add_report_text(outcome['report'], index, t)}"
