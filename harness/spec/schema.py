"""The schema walker: a spec section is a dataclass, each field declared once with ``setting``.

``setting(default, check)`` puts the field's default and its check in one place; ``parse`` walks
a dataclass's fields to turn a YAML mapping into an instance: unknown keys are refused (with
"did you mean"), absent keys take the default, present ones go through their check, and a
``cross_check(where)`` method, if the class has one, sees the whole record last. Adding a field
to a section is one line in its dataclass; no parser changes.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from harness.errors import HarnessError, did_you_mean
from harness.spec.checks import Check, described, schema_of, units

T = TypeVar("T")
_NO_DEFAULT: Any = dataclasses.MISSING


def setting(
    default: Any = _NO_DEFAULT,
    check: Check | None = None,
    *,
    factory: Callable[[], Any] | None = None,
    recipe: bool = False,
    not_null: bool = False,
    key: bool = True,
    rest: bool = False,
    absent: Any = None,
    provenance: bool = False,
    sparse: bool = False,
    logistics: bool = False,
) -> Any:
    """A spec field: its default (or ``factory``) and the ``check`` a YAML value goes through.

    recipe: left out of ``repr``, keys and hashes at its default (see ``TrainSpec``).
    not_null: ``key: null`` is refused (its default is another experiment, not "nothing").
    key: False for a field that is not read from YAML (e.g. ``Spec.source``).
    rest: the keys the class does not declare are collected here (a component's own
        parameters), merged over the field's own key when ``key`` is True.
    absent: what the check sees when a field without a default is left out.
    provenance: the field says where the spec came from, not what it is: left out of ``==``
        and ``repr``.
    sparse: also left out of ``plain`` (a spec's ``to_dict``) at its default: an optional field
        added later, so run.json of a spec without it reads as before.
    logistics: how the work is carried out, not what it computes (``train.checkpoints``): left
        out of ``repr``, keys and hashes whatever its value.
    """
    meta = {"check": check, "recipe": recipe, "not_null": not_null, "key": key, "rest": rest}
    meta["absent"], meta["sparse"], meta["logistics"] = absent, sparse, logistics
    shown = not provenance
    if factory is not None:
        return dataclasses.field(default_factory=factory, compare=shown, repr=shown, metadata=meta)
    return dataclasses.field(default=default, compare=shown, repr=shown, metadata=meta)


def keys(cls: type) -> list[str]:
    """The YAML keys of a section: its fields, less those not read from YAML."""
    return [f.name for f in dataclasses.fields(cls) if f.metadata.get("key", True)]


def parse(
    cls: type[T],
    raw: Any,
    where: str,
    checks: Mapping[str, Check] | None = None,
    **given: Any,
) -> T:
    """A ``cls`` from the mapping ``raw`` (None: every default); errors name ``where.field``.

    ``checks`` replaces a field's check for this call (one that needs context from outside the
    section); ``given`` sets fields that are not read from YAML.
    """
    r = section(raw, where, cls)
    rest_field = next((f for f in dataclasses.fields(cls) if f.metadata.get("rest")), None)
    values = dict(given)
    for f in dataclasses.fields(cls):
        if f.name in given or not (f.metadata.get("key", True) or f.metadata.get("rest")):
            continue  # set by the caller, or not read from YAML
        check = (checks or {}).get(f.name) or f.metadata.get("check")
        values[f.name] = _value(f, r, _join(where, f.name), check)
    if rest_field is not None:
        values[rest_field.name] = _rest(cls, r, values[rest_field.name])
    obj = cls(**values)
    if hasattr(obj, "cross_check"):
        obj.cross_check(where)
    return obj


def nested(cls: type) -> Check:
    """The check of a field that is itself a section: ``parse(cls, value, where)``."""
    return described(lambda value, where: parse(cls, value, where), lambda: json_schema(cls))


def json_schema(cls: type) -> dict[str, Any]:
    """The JSON Schema of a section, walked from the same declarations ``parse`` walks: each
    YAML key with the schema its check carries (``checks.described``; none: any value) and its
    default; no other keys unless the section collects them (a component's parameters)."""
    properties: dict[str, Any] = {}
    required = []
    rest = False
    for f in dataclasses.fields(cls):
        rest = rest or bool(f.metadata.get("rest"))
        if not f.metadata.get("key", True):
            continue
        prop = dict(schema_of(f.metadata.get("check")))
        if f.default is not _NO_DEFAULT and _plain_json(f.default):
            prop["default"] = list(f.default) if isinstance(f.default, tuple) else f.default
        elif f.default is _NO_DEFAULT and f.default_factory is _NO_DEFAULT:
            required.append(f.name)
        if f.metadata.get("not_null") and "anyOf" in prop:
            prop["anyOf"] = [s for s in prop["anyOf"] if s != {"type": "null"}]
        properties[f.name] = prop
    out: dict[str, Any] = {"type": "object", "properties": properties}
    out["additionalProperties"] = rest  # a component's own parameters: any other key
    if required:
        out["required"] = required
    if cls.__doc__ and not cls.__doc__.startswith(f"{cls.__name__}("):
        out["description"] = " ".join(cls.__doc__.split())
    return out


def _plain_json(value: Any) -> bool:
    """A default worth writing into the schema: a number, text, bool or a tuple of numbers."""
    if isinstance(value, tuple):
        return all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)
    return isinstance(value, str | int | float | bool)


def _value(f: dataclasses.Field, r: Mapping[str, Any], where: str, check: Check | None) -> Any:
    """One field: its default when absent, else its check of the YAML value."""
    present = f.name in r and f.metadata.get("key", True)
    if not present and f.default is not _NO_DEFAULT:
        return f.default
    if not present and f.default_factory is not _NO_DEFAULT:
        return f.default_factory()
    value = r[f.name] if present else f.metadata.get("absent")
    if present and value is None and f.metadata.get("not_null"):
        raise HarnessError(
            f"{where}: expected a value, got null (leave the key out for the default)"
        )
    return value if check is None else check(value, where)


def _rest(cls: type, r: Mapping[str, Any], own: dict[str, Any]) -> dict[str, Any]:
    """The rest field: its own mapping, then every undeclared key (fractions in pixel units)."""
    declared = keys(cls)
    merged = own | {k: v for k, v in r.items() if k not in declared}
    return {k: units(v) for k, v in merged.items()}


def section(raw: Any, where: str, cls: type) -> dict[str, Any]:
    """Check a mapping has only the dataclass's keys; return it (None: {}).

    A class with a ``rest`` field takes any key.
    """
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise HarnessError(f"{where}: expected a mapping, got {raw!r}")
    if any(f.metadata.get("rest") for f in dataclasses.fields(cls)):
        return raw
    allowed = keys(cls)
    for key in raw:
        if key not in allowed:
            hint = did_you_mean(key, allowed)
            raise HarnessError(
                f"{_join(where, key)}: unknown field; expected one of: {', '.join(allowed)}{hint}"
            )
    return raw


def _join(where: str, key: Any) -> str:
    return f"{where}.{key}" if where else f"{key}"


def shown_fields(obj: Any) -> dict[str, Any]:
    """A dataclass's fields, without recipe fields at their default values and without
    logistics fields."""
    return {
        f.name: getattr(obj, f.name)
        for f in dataclasses.fields(obj)
        if not (f.metadata.get("recipe") and getattr(obj, f.name) == f.default)
        and not f.metadata.get("logistics")
    }


def identity(obj: Any) -> Any:
    """``dataclasses.asdict`` without recipe fields at their defaults (see ``TrainSpec``)."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {k: identity(v) for k, v in shown_fields(obj).items()}
    if isinstance(obj, list | tuple):
        return type(obj)(identity(v) for v in obj)
    if isinstance(obj, dict):
        return {k: identity(v) for k, v in obj.items()}
    return obj


def plain(obj: Any) -> Any:
    """``dataclasses.asdict`` without sparse fields at their defaults (see ``setting``)."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {
            f.name: plain(getattr(obj, f.name))
            for f in dataclasses.fields(obj)
            if not (f.metadata.get("sparse") and getattr(obj, f.name) == f.default)
        }
    if isinstance(obj, list | tuple):
        return type(obj)(plain(v) for v in obj)
    if isinstance(obj, dict):
        return {k: plain(v) for k, v in obj.items()}
    return copy.deepcopy(obj)
