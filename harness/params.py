"""Spec parameters of registered components: defaults, unknown names refused, values checked.

Shared by attacks, probes, defences and anything else configured by a mapping of parameters in
a spec; every failure is one ``HarnessError`` line naming the field. Two rules hold for every
component, before its own check: each number in its parameters (nested mappings and lists too) is
finite, since NaN or inf passes a ``value >= low`` check or none at all and reaches the attack as
a silently wrong number (no parameter documents inf today); and a parameter named ``seed`` seeds a
generator, so it takes the spec's seed range (``harness.spec.checks.random_seed``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from harness.errors import HarnessError, did_you_mean
from harness.spec.checks import random_seed

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
    for key, value in given.items():
        finite(value, f"{where}.{key}")
    if "seed" in defaults:
        random_seed(params["seed"], f"{where}.seed")
    if check is not None:
        check(params, where)
    return params


def finite(value: Any, where: str) -> None:
    """Each number in ``value`` (a number, or nested mappings and lists of them) is finite."""
    if isinstance(value, float) and not math.isfinite(value):
        raise HarnessError(f"{where}: expected a finite number, got {value}")
    if isinstance(value, dict):
        for key, inner in value.items():
            finite(inner, f"{where}.{key}")
    if isinstance(value, list | tuple):
        for i, inner in enumerate(value):
            finite(inner, f"{where}[{i}]")


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


def maxima(**limits: int) -> Check:
    """Check that each named parameter (a number, checked before) is at most its limit."""

    def check(params: dict[str, Any], where: str) -> None:
        for key, high in limits.items():
            value = params[key]
            expect(value <= high, where, key, value, f"at most {high:,}")

    return check


def all_of(*checks: Check) -> Check:
    def check(params: dict[str, Any], where: str) -> None:
        for one in checks:
            one(params, where)

    return check
