"""Name -> factory registries with "did you mean" on a typo.

Every pluggable concept (dataset, architecture, attack, defence) has one ``Registry``;
adding a new one is a decorated function in one module.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from harness.errors import HarnessError, did_you_mean

T = TypeVar("T")


class Registry(Generic[T]):
    """A mapping from a registered name to an object (usually a factory)."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._items: dict[str, T] = {}

    def register(self, name: str) -> Callable[[T], T]:
        """Decorator: ``@DATASETS.register("digits")``."""

        def decorate(obj: T) -> T:
            if name in self._items:
                raise ValueError(f"{self.kind} {name!r} is registered twice")
            self._items[name] = obj
            return obj

        return decorate

    def unregister(self, name: str) -> T:
        """Remove ``name`` and return what it held (an extension unloaded, e.g. by a test)."""
        return self._items.pop(name)

    def get(self, name: str, field: str | None = None) -> T:
        """Return the object for ``name`` or raise a one-line ``HarnessError``."""
        if name in self:
            return self._items[name]
        raise HarnessError(self.unknown_message(name, field))

    def unknown_message(self, name: object, field: str | None = None) -> str:
        where = f"{field}: " if field else ""
        msg = f"{where}unknown {self.kind} {name!r}; expected one of: {', '.join(self.names())}"
        return msg + did_you_mean(name, self.names())

    def names(self) -> list[str]:
        return sorted(self._items)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name in self._items  # a list from a spec: not a name

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self._items)
