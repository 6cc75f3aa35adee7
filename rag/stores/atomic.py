"""Replacing an index folder atomically: write a working copy beside it, swap it in by two renames.

``index/<name>`` is only ever replaced whole: a writer builds ``.<name>.tmp-*`` next to it, then
``swap`` renames the current folder to ``.<name>.old`` and the copy to ``<name>``. A write that fails
or is killed leaves the previous folder as it was; ``recover`` undoes a swap stopped between its two
renames, and ``remove_stale_temps`` clears copies a killed writer left. One writer at a time per
index (``locked``); readers never wait, and ``version`` tells them whether the index changed under them.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from rag.errors import StoreError

log = logging.getLogger(__name__)


def remove_stale_temps(path: Path) -> list[Path]:
    """Delete the working copies (``.NAME.tmp-*``) that writes to ``path`` killed midway left behind.

    Called with the index's write lock held, so none of them belongs to a write still running.
    """
    stale = sorted(path.parent.glob(f".{path.name}.tmp-*"))
    for folder in stale:
        log.info("removing %s, left by an interrupted write", folder.name)
        shutil.rmtree(folder, ignore_errors=True)
    return stale


def version(path: Path) -> tuple | None:
    """Which version of the index ``path`` names now (``None``: no folder there), from two ``stat`` calls.

    A FAISS write swaps in a new folder; every write of any backend rewrites ``meta.json`` (Milvus's in
    place, by rename). The folder's inode alone does not tell versions apart: the file system gives the next
    write's folder the inode the last swap freed, so it alternates A, B, A and a reader that loaded A would
    miss the second write. ``meta.json``'s inode, modification time (nanoseconds) and size are added to it.
    """
    try:
        folder = path.stat()
    except OSError:
        return None
    try:
        meta = (path / "meta.json").stat()
        written = (meta.st_ino, meta.st_mtime_ns, meta.st_size)
    except OSError:
        written = None
    return folder.st_ino, written


def recover(path: Path) -> None:
    """If a swap was interrupted between its two renames, put the previous index back.

    Done under the write lock, so a reader never mistakes a swap in progress for an interrupted one.
    """
    old = path.parent / f".{path.name}.old"
    if path.exists() or not old.exists():
        return
    with locked(path):
        recover_unlocked(path)


def recover_unlocked(path: Path) -> None:
    """``recover`` for a caller that holds the write lock already."""
    old = path.parent / f".{path.name}.old"
    if not path.exists() and old.exists():
        old.rename(path)


@contextmanager
def locked(path: Path) -> Iterator[None]:
    """One writer at a time per index (a second one waits); readers are never blocked."""
    import fcntl

    with open(path.parent / f".{path.name}.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def is_locked(path: Path) -> bool:
    """Whether a writer holds the index's write lock now (a reader may see its changes in progress)."""
    import fcntl

    try:
        handle = open(path.parent / f".{path.name}.lock", "rb")
    except OSError:  # no lock file: nothing ever wrote here, or it cannot be read
        return False
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
        return False


def working_copy(path: Path, kept: tuple[str, ...] = ()) -> Path:
    """A new, empty working folder beside ``path`` (``.<name>.tmp-*``, what ``remove_stale_temps`` clears),
    holding copies of the files named in ``kept`` that ``path`` has (call with the write lock held)."""
    work = Path(tempfile.mkdtemp(prefix=f".{path.name}.tmp-", dir=path.parent))
    work.chmod(0o755)
    for name in kept:
        if (path / name).exists():
            shutil.copy2(path / name, work / name)
    return work


def check_replaceable(path: Path) -> None:
    """Refuse to replace ``path`` unless it is an index (it has ``meta.json``), an empty folder or nothing:
    a name pointing at another folder ("--name ./notes", "--name ''" for ./index itself) must not delete it."""
    if path.is_dir() and not (path / "meta.json").exists() and any(path.iterdir()):
        raise StoreError(
            f"{path} is a folder that holds no index (no meta.json); it was left as it is. Give the index "
            "another name (e.g. --name news, stored in ./index/news)"
        )
    if path.exists() and not path.is_dir():
        raise StoreError(f"{path} is a file, not an index folder; it was left as it is. Give the index another name")


def swap(work: Path, path: Path) -> None:
    """Put the finished working copy ``work`` in the place of ``path`` (call with the write lock held)."""
    check_replaceable(path)
    old = path.parent / f".{path.name}.old"
    if old.exists():
        shutil.rmtree(old)
    if path.exists():
        path.rename(old)
    work.rename(path)
    shutil.rmtree(old, ignore_errors=True)
