"""What a run prints while it works, and how much: ``-q`` (the closing summary only), the default
(one progress bar per phase and a line per training epoch), ``-v`` (also the library's own log).

A progress bar is drawn only on a terminal: in a log file or a pipe its carriage-return frames
would be debris, so there the per-epoch lines are the progress. Libraries that draw bars of their
own (ART's adversarial trainer draws two per call) are silenced while the harness draws its own.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import sys
from collections.abc import Iterable, Iterator
from typing import Any, TypeVar

from tqdm.auto import tqdm

QUIET, NORMAL, VERBOSE = 0, 1, 2
T = TypeVar("T")

_level = NORMAL


def set_level(level: int) -> None:
    """How much to print from now on (QUIET, NORMAL or VERBOSE); VERBOSE also shows INFO logs."""
    global _level
    _level = level
    logging.getLogger("harness").setLevel(logging.INFO if level >= VERBOSE else logging.WARNING)


def bar(iterable: Iterable[T] | None = None, **options: Any) -> tqdm:
    """A tqdm bar over ``iterable`` (tqdm's options: desc, unit, total, ...), drawn only on a
    terminal and not with ``-q``; otherwise the iterable passes through untouched."""
    options.setdefault("leave", False)
    return tqdm(iterable, disable=not _drawn(), dynamic_ncols=True, **options)


def _drawn() -> bool:
    """Whether bars are drawn: stderr is a terminal and the level is not QUIET."""
    return _level >= NORMAL and _isatty(sys.stderr)


def line(text: str) -> None:
    """One line of progress (an epoch's numbers) on stdout, above any bar; none with ``-q``."""
    if _level >= NORMAL:
        tqdm.write(text)


@contextlib.contextmanager
def silenced(package: str) -> Iterator[None]:
    """The ``tqdm``/``trange`` of every loaded module of ``package`` (e.g. ART's trainers, which
    call them with no way to turn them off) draw nothing while inside; restored after."""
    found = [m for name, m in list(sys.modules.items()) if name.startswith(package) and m]
    before = [
        (m, n, getattr(m, n))
        for m in found
        for n in ("tqdm", "trange")
        if callable(getattr(m, n, None))
    ]
    try:
        for m, n, f in before:
            setattr(m, n, functools.partial(f, disable=True))
        yield
    finally:
        for m, n, f in before:
            setattr(m, n, f)


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # replaced or closed streams
        return False
