"""Atomic file and folder writes: a failed run never leaves a half-written output.

Temporary files and folders are named ``.<name>.<pid>-<8 random chars>.tmp`` beside their
destination. The pid says whose they are: a write removes the ones beside it whose process is
gone (left by a ``kill -9``), never those of a live run, and never anything not named so.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from harness.errors import HarnessError

log = logging.getLogger(__name__)

# ``tempfile.mkstemp``/``mkdtemp`` add 8 characters from [a-z0-9_] between prefix and suffix
_TEMPORARY = re.compile(r"^\..+\.(?P<pid>\d+)-[a-z0-9_]{8}\.tmp$")


def _prefix(path: Path) -> str:
    return f".{path.name}.{os.getpid()}-"


def _alive(pid: int) -> bool:
    """Whether process ``pid`` exists (signal 0 checks without sending anything)."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True  # someone else's live process (or a pid we cannot ask about): keep
    return True


def stale_temporaries(folder: Path) -> list[Path]:
    """Our temporary files and folders in ``folder`` whose writing process is gone."""
    try:
        names = [e.name for e in os.scandir(folder) if e.name.endswith(".tmp")]
    except OSError:
        return []
    found = [(n, _TEMPORARY.match(n)) for n in names]
    return [folder / n for n, m in found if m and not _alive(int(m["pid"]))]


def remove_stale_temporaries(folder: str | Path) -> int:
    """Delete what ``stale_temporaries`` finds in ``folder``; how many."""
    stale = stale_temporaries(Path(folder))
    for path in stale:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
    if stale:
        log.info("removed %d unfinished write(s) of a killed run in %s", len(stale), folder)
    return len(stale)


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it over ``path`` on success."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(path.parent)
    fd, tmp = tempfile.mkstemp(prefix=_prefix(path), suffix=".tmp", dir=path.parent)
    os.close(fd)
    os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600 files; give the usual permissions
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_text(path: str | Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


@contextlib.contextmanager
def atomic_dir(path: str | Path, *, replace: bool = False) -> Iterator[Path]:
    """Yield a temporary folder that becomes ``path`` if the block succeeds.

    ``path`` may be missing or an empty folder. An existing non-empty ``path`` is replaced only
    with ``replace=True`` (the caller has checked that it may go), and only after the new folder
    is complete: the old one is moved aside, the new one moved in, then the old one removed.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(path.parent)
    tmp = Path(tempfile.mkdtemp(prefix=_prefix(path), suffix=".tmp", dir=path.parent))
    os.chmod(tmp, 0o777 & ~_umask())
    try:
        yield tmp
        _move_in(tmp, path, replace)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def _move_in(new: Path, path: Path, replace: bool) -> None:
    if not (path.is_dir() and any(path.iterdir())):
        os.replace(new, path)  # a missing path, or an empty folder (rename replaces it)
        return
    if not replace:
        raise HarnessError(f"{path}: the folder is not empty; nothing was written into it")
    aside = Path(tempfile.mkdtemp(prefix=_prefix(path), suffix=".tmp", dir=path.parent))
    os.replace(path, aside)  # aside is an empty folder: the rename replaces it
    try:
        os.replace(new, path)
    except BaseException:
        os.replace(aside, path)  # put the old folder back
        raise
    shutil.rmtree(aside, ignore_errors=True)
