"""User-facing errors: one clear line, exit code 2, no traceback."""

from __future__ import annotations


class HarnessError(Exception):
    """An error caused by the user's input (spec, data, weights), shown as one line.

    The message names the file or field, the bad value and what was expected.
    """

    exit_code = 2
