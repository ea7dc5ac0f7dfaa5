"""Spec parameters of registered components: defaults, unknown names refused, values checked.

Shared by attacks, probes and anything else configured by a mapping of parameters in a spec;
every failure is one ``HarnessError`` line naming the field.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from harness.errors import HarnessError, did_you_mean

Check = Callable[[dict[str, Any], str], None]  # (resolved params, where) -> raises HarnessError


def resolve_params(
    kind: str,
    name: str,
    defaults: dict[str, Any],
    given: dict[str, Any],
    check: Check | None,
    where: str,
) -> dict[str, Any]:
    """``defaults`` updated with ``given``; an unknown name or a bad value is one HarnessError line."""
    for key in given:
        if key not in defaults:
            allowed = ", ".join(sorted(defaults)) or "none"
            hint = did_you_mean(key, defaults)
            raise HarnessError(
                f"{where}.{key}: unknown parameter for {kind} {name!r}; expected: {allowed}{hint}"
            )
    params = {**defaults, **given}
    if check is not None:
        check(params, where)
    return params


def expect(ok: bool, where: str, key: str, value: Any, expected: str) -> None:
    if not ok:
        raise HarnessError(f"{where}.{key}: expected {expected}, got {value!r}")


def is_int(value: Any, minimum: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= minimum


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def ints(**minimums: int) -> Check:
    """Check that each named parameter is an integer >= its minimum."""

    def check(params: dict[str, Any], where: str) -> None:
        for key, low in minimums.items():
            value = params[key]
            expect(is_int(value, low), where, key, value, f"an integer >= {low}")

    return check


def numbers(**minimums: float) -> Check:
    """Check that each named parameter is a number >= its minimum."""

    def check(params: dict[str, Any], where: str) -> None:
        for key, low in minimums.items():
            value = params[key]
            ok = is_number(value) and value >= low
            expect(ok, where, key, value, f"a number >= {low}")

    return check


def fractions(*keys: str) -> Check:
    """Check that each named parameter is a number strictly between 0 and 1."""

    def check(params: dict[str, Any], where: str) -> None:
        for key in keys:
            value = params[key]
            ok = is_number(value) and 0 < value < 1
            expect(ok, where, key, value, "a number strictly between 0 and 1")

    return check


def all_of(*checks: Check) -> Check:
    def check(params: dict[str, Any], where: str) -> None:
        for one in checks:
            one(params, where)

    return check
