"""The user's files (spec, includes, weights, builders, tables) are read only when regular.

A FIFO blocks its reader until something writes to it (``harness validate`` of one hung
forever), a character device such as ``/dev/zero`` never ends, and a folder or a socket holds no
text: each is refused in one line that says what the path is, before anything reads it. A
missing path is left to the caller, whose message says what was expected there.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path
from typing import BinaryIO

from harness.errors import HarnessError

_KINDS = (  # st_mode test -> what the path is
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def describe(mode: int) -> str:
    """What a file of ``st_mode`` ``mode`` is: "a regular file", "a FIFO (named pipe)", ..."""
    if stat.S_ISREG(mode):
        return "a regular file"
    return next((what for test, what in _KINDS if test(mode)), "not a regular file")


def not_regular(path: str | Path) -> str:
    """What is wrong with ``path`` (links followed) as a file to read: "is a FIFO (named pipe)",
    "has a name too long ..."; "" for a regular file or a missing path."""
    try:
        mode = os.stat(path).st_mode
    except OSError as exc:
        if exc.errno == errno.ENAMETOOLONG:
            return f"has a name too long for the file system ({exc.strerror})"
        return ""  # missing or unreadable: the caller's own message says what was expected
    except ValueError:  # a name with a NUL byte: no file has it
        return ""
    return "" if stat.S_ISREG(mode) else f"is {describe(mode)}"


def refusal(path: str | Path, problem: str, expected: str, field: str = "") -> HarnessError:
    """The one line for a path with ``problem`` (``not_regular``) where ``expected`` was due."""
    where = f"{field}: {path}" if field else str(path)
    return HarnessError(f"{where} {problem}; expected {expected}")


def check_regular(path: str | Path, expected: str, field: str = "") -> None:
    """Refuse ``path`` in one line when it exists and is no regular file (a missing path passes:
    the caller says what was expected there)."""
    problem = not_regular(path)
    if problem:
        raise refusal(path, problem, expected, field)


def open_regular(path: str | Path, expected: str, field: str = "") -> BinaryIO:
    """``path`` opened for binary reading when it is a regular file; ``OSError`` as ``open``.

    The check is made on the opened file, and the open never waits (``O_NONBLOCK``), so a FIFO
    put in place of the file between a check and the read cannot hang the command either.
    """
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise refusal(path, f"is {describe(mode)}", expected, field)
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise
