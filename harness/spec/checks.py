"""Value checks: one raw YAML value in, a typed value out, or one line naming the field.

A check is ``check(value, where) -> parsed``; ``where`` is the field's dotted path
(``model.train.lr``). The factories below (``integer(1)``, ``fraction(0, 0.9)``, ...) make the
checks that the schema's fields name. Strings and units are converted here, once: ``"8/255"``
becomes 0.0313..., a pixel-unit float.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from fractions import Fraction
from typing import Any

from harness.errors import HarnessError, did_you_mean
from harness.spec.loader import show

Check = Callable[[Any, str], Any]  # (raw value, field path) -> parsed value

MAX_NAME = 100  # characters of a name that becomes a folder or file name
MAX_SEED = 2**32 - 1  # numpy's legacy seeding takes [0, 2**32 - 1]
MAX_THREADS = 256  # torch intra-op threads; more only oversubscribes (and each has a stack)
MAX_IMAGE_SIZE = 1024  # pixels a side: one 1024x1024 RGB image is 12 MB as float32
_FRACTION = re.compile(r"^\s*[-+]?\d+(\.\d*)?\s*/\s*\d+(\.\d*)?\s*$")


# what a JSON Schema says a number of a spec may be: a number, or a fraction such as "8/255"
FRACTION_TEXT = {"type": "string", "pattern": _FRACTION.pattern}


def described(check: Check, schema: dict[str, Any] | Callable[[], dict[str, Any]]) -> Check:
    """``check`` carrying the JSON Schema of the values it accepts (``harness schema``), so the
    schema an editor reads comes from the same declarations that validate a spec. A function
    in place of the schema is called when the schema is written (a section's, walked then)."""
    check.schema = schema  # type: ignore[attr-defined]
    return check


def schema_of(check: Check | None) -> dict[str, Any]:
    """The schema a check carries, {} for none (computed now when it is a function: a nested
    section, walked when the schema is written)."""
    schema = getattr(check, "schema", None)
    if callable(schema):
        schema = schema()
    return schema or {}


def number(**bounds: Any) -> dict[str, Any]:
    """The JSON Schema of a spec number with ``bounds`` (minimum, maximum, ...)."""
    return {"anyOf": [{"type": "number", **bounds}, FRACTION_TEXT]}


def parse_float(value: Any, where: str) -> float:
    """Parse a finite number or a fraction string like ``"8/255"`` (NaN and inf are refused:
    no spec value takes them, and a range check such as ``x >= 0`` lets inf through)."""
    x = _parse_float(value, where)
    if not math.isfinite(x):
        raise HarnessError(f"{where}: expected a finite number, got {x}")
    return x


def _parse_float(value: Any, where: str) -> float:
    if isinstance(value, bool):
        raise HarnessError(f"{where}: expected a number, got {value!r}")
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        s = value.strip()
        try:
            if _FRACTION.match(s):
                num, den = (Fraction(p.strip()) for p in s.split("/"))
                return float(num / den)
            return float(s)
        except (ValueError, ZeroDivisionError, OverflowError):
            pass
    raise HarnessError(f"{where}: expected a number such as 0.03 or 8/255, got {value!r}")


def integer(minimum: int = 0, maximum: int | None = None) -> Check:
    """An int (not a bool) in ``[minimum, maximum]``."""

    def check(value: Any, where: str) -> int:
        ok = isinstance(value, int) and not isinstance(value, bool) and value >= minimum
        if not ok or (maximum is not None and value > maximum):
            expected = f">= {minimum}" if maximum is None else f"in [{minimum}, {maximum}]"
            raise HarnessError(f"{where}: expected an integer {expected}, got {show(value)}")
        return value

    bounds = {"minimum": minimum} | ({} if maximum is None else {"maximum": maximum})
    return described(check, {"type": "integer", **bounds})


# Every seed of a spec (the run's, a grid's, a component's ``seed`` parameter): one range.
random_seed = integer(0, MAX_SEED)


def optional(check: Check) -> Check:
    """``None`` stays ``None`` (the field's "not given"); anything else goes through ``check``."""

    def schema() -> dict[str, Any]:
        inner = schema_of(check)
        return {"anyOf": [inner, {"type": "null"}]} if inner else {}

    return described(lambda value, where: None if value is None else check(value, where), schema)


def positive(hi: float) -> Check:
    """A number in (0, hi]: a learning rate of 0 trains nothing."""

    def check(value: Any, where: str) -> float:
        x = parse_float(value, where)
        if not 0 < x <= hi:
            raise HarnessError(f"{where}: expected a value in (0, {hi}], got {show(value)}")
        return x

    return described(check, number(exclusiveMinimum=0, maximum=hi))


def fraction(lo: float = 0.0, hi: float = 1.0) -> Check:
    """A number (or ``"a/b"``) in ``[lo, hi]``; the bounds print as given (0 vs 0.0)."""

    def check(value: Any, where: str) -> float:
        x = parse_float(value, where)
        if not lo <= x <= hi:
            raise HarnessError(f"{where}: expected a value in [{lo}, {hi}], got {show(value)}")
        return x

    return described(check, number(minimum=lo, maximum=hi))


epsilon = fraction(0.0, 1.0)  # a perturbation size in [0, 1] pixel units


def string(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise HarnessError(f"{where}: expected a non-empty string, got {value!r}")
    return value


def text(value: Any, where: str) -> str:
    """Free text (None: empty); a list or mapping here is a mistake, not text."""
    if value is None:
        return ""
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        raise HarnessError(f"{where}: expected text, got {show(value)}")
    return str(value)


def boolean(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise HarnessError(f"{where}: expected true or false, got {value!r}")
    return value


def choice(allowed: tuple[str, ...]) -> Check:
    """One of ``allowed``; a near miss gets "did you mean"."""

    def check(value: Any, where: str) -> str:
        if value not in allowed:
            hint = did_you_mean(value, allowed)
            raise HarnessError(
                f"{where}: expected one of {', '.join(allowed)}, got {value!r}{hint}"
            )
        return value

    return described(check, {"enum": list(allowed)})


# The requests ``device:`` takes; ``harness.device.resolve`` turns one into a torch device (this
# is the spec's vocabulary, checked without torch: reading a spec never imports it).
DEVICE_REQUESTS = ("auto", "cpu", "cuda", "cuda:N", "mps")
# what people write for a device the spec names otherwise (spelling alone would suggest "cpu")
DEVICE_SYNONYMS = {"gpu": "cuda", "nvidia": "cuda", "metal": "mps", "apple": "mps"}
HOST_KIND = "cpu"  # the host's kind: every machine has it (``harness.device.HOST``)
GPU_KIND = "cuda"  # what Ray hands a task that asks for GPUs (``harness.device.CUDA``)


def device_kind(request: str) -> str:
    """The kind a concrete request names (``cuda:1`` -> ``cuda``), not resolved (no torch)."""
    return request.split(":")[0]


def needs_hardware(request: str) -> bool:
    """Whether meeting ``request`` depends on this machine: it names an accelerator. ``auto``
    and the host are met everywhere (``harness.plan.check_device`` asks torch only otherwise)."""
    return request not in ("auto", HOST_KIND)


def device_request(value: Any, where: str) -> str:
    """A device request: auto | cpu | cuda | cuda:N (N a CUDA index) | mps."""
    if not isinstance(value, str) or not re.match(r"^(auto|cpu|mps|cuda(:\d+)?)$", value):
        synonym = DEVICE_SYNONYMS.get(str(value).strip().lower().split(":")[0])
        hint = f" (did you mean {synonym!r}?)" if synonym else did_you_mean(value, DEVICE_REQUESTS)
        raise HarnessError(
            f"{where}: expected one of {', '.join(DEVICE_REQUESTS)}, got {value!r}{hint}"
        )
    return value


def safe_name(value: Any, where: str) -> str:
    """Names that become file and folder names: letters, digits, '_', '-', '.', not starting
    with '.' (a hidden file or folder, left out of listings; '.' and '..' are folders already)."""
    if not re.match(r"^[A-Za-z0-9_.-]+$", value) or not value.strip("."):
        raise HarnessError(f"{where}: expected letters, digits, '_', '-' or '.', got {value!r}")
    if value.startswith("."):
        raise HarnessError(
            f"{where}: expected a name not starting with '.' (it would be a hidden folder), "
            f"got {value!r}"
        )
    if len(value) > MAX_NAME:
        raise HarnessError(f"{where}: expected at most {MAX_NAME} characters, got {len(value)}")
    return value


def floats(value: Any, where: str) -> tuple[float, ...] | None:
    """A non-empty list of finite numbers (None: not given)."""
    if value is None:
        return None
    if not isinstance(value, list | tuple) or not value:
        raise HarnessError(f"{where}: expected a list of numbers, got {value!r}")
    return tuple(parse_float(v, f"{where}[{i}]") for i, v in enumerate(value))


def all_positive(values: tuple[float, ...] | None, where: str) -> None:
    """Each of ``values`` (None: not given) positive and finite (a normalization std)."""
    if values is not None and not all(0 < v < math.inf for v in values):
        raise HarnessError(f"{where}: expected positive finite numbers, got {list(values)}")


def units(value: Any) -> Any:
    """Attack parameters may be written as fractions ("2/255"); convert those, keep the rest."""
    if isinstance(value, str) and _FRACTION.match(value):
        return parse_float(value, "")
    if isinstance(value, dict):
        return {k: units(v) for k, v in value.items()}
    return value


def parameters(value: Any, where: str) -> dict[str, Any]:
    """A mapping of a component's own parameters (None: none)."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise HarnessError(f"{where}: expected a mapping of parameters, got {value!r}")
    return dict(value)


def unique(keys: list[str], where: Callable[[int], str], problem: str) -> None:
    """Each key once; the second of a pair gets ``problem`` (``{key!r}`` filled in)."""
    for i, key in enumerate(keys):
        if key in keys[:i]:
            raise HarnessError(f"{where(i)}: {problem.format(key=key)}")


def pipe(*checks: Check) -> Check:
    """Each check on the result of the one before: ``pipe(string, safe_name)``."""

    def check(value: Any, where: str) -> Any:
        for c in checks:
            value = c(value, where)
        return value

    return described(check, lambda: next(filter(None, map(schema_of, checks)), {}))


described(string, {"type": "string", "minLength": 1})
described(text, {"type": ["string", "number", "null"]})
described(boolean, {"type": "boolean"})
described(device_request, {"type": "string", "pattern": r"^(auto|cpu|mps|cuda(:\d+)?)$"})
described(
    safe_name, {"type": "string", "pattern": r"^(?!\.)[A-Za-z0-9_.-]+$", "maxLength": MAX_NAME}
)
described(
    floats, {"anyOf": [{"type": "array", "minItems": 1, "items": number()}, {"type": "null"}]}
)
described(parameters, {"type": ["object", "null"]})
