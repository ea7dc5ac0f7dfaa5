"""One run an output folder at a time: ``--out`` is locked before any work, so a second run on
the same folder is refused at once (it used to be refused only after running the whole
benchmark, when its report found the folder taken).

The lock is an OS advisory lock (``fcntl.flock``) on ``.<name>.lock`` beside the folder. The
kernel releases it when its process ends, however it ends, so a run killed with ``kill -9``
never blocks the next one. The file is removed when the run ends; after a ``kill -9`` it stays,
unlocked, and the next run on that folder takes it and removes it.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import logging
import os
from collections.abc import Iterator
from pathlib import Path

from harness.errors import HarnessError

log = logging.getLogger(__name__)

SUFFIX = ".lock"
_BUSY = (errno.EWOULDBLOCK, errno.EAGAIN)


def lock_path(out: str | Path) -> Path:
    """The lock file of the folder ``out``: ``.<name>.lock`` beside it."""
    out = Path(os.path.abspath(out))
    return out.with_name(f".{out.name}{SUFFIX}")


@contextlib.contextmanager
def hold(out: str | Path, field: str = "--out") -> Iterator[None]:
    """Hold ``out``'s lock for the block; another live process holding it: a one-line refusal.

    Folders made for the lock file are removed after the block when they are still empty, and
    so is the lock file: a run that fails leaves nothing behind.
    """
    path = lock_path(out)
    made = _make_folders(path.parent)
    try:
        fd = _take(path, out, field)
        try:
            yield
        finally:
            _release(fd, path)
    finally:
        for folder in reversed(made):
            with contextlib.suppress(OSError):  # not empty: the run wrote its report there
                folder.rmdir()


def _make_folders(folder: Path) -> list[Path]:
    """Make ``folder`` and its missing parents; the ones made, outermost first."""
    missing = [f for f in (folder, *folder.parents) if not f.exists()][::-1]
    for f in missing:
        f.mkdir(exist_ok=True)
    return missing


def _take(path: Path, out: str | Path, field: str) -> int | None:
    """The locked file's descriptor (None: this file system cannot lock; the run goes on)."""
    while True:
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)
        except OSError as exc:
            raise HarnessError(
                f"{field}: {out}: cannot make its lock {path} ({exc.strerror})"
            ) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(fd)
            if exc.errno in _BUSY:
                raise HarnessError(
                    f"{field}: {out} is in use by another harness run (it holds {path.name}); "
                    "wait for that run to end, or choose another --out"
                ) from None
            path.unlink(missing_ok=True)
            log.warning("%s: cannot lock %s (%s); running without the lock", field, path, exc)
            return None
        if _same_file(fd, path):
            return fd
        os.close(fd)  # its holder removed it between our open and our lock: take the new one


def _same_file(fd: int, path: Path) -> bool:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return False
    fst = os.fstat(fd)
    return (st.st_dev, st.st_ino) == (fst.st_dev, fst.st_ino)


def _release(fd: int | None, path: Path) -> None:
    """Remove the lock file while still holding it (a run that opened it meanwhile sees it gone
    and starts over), then let it go."""
    if fd is None:
        return
    try:
        path.unlink(missing_ok=True)
    finally:
        os.close(fd)
