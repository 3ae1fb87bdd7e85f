"""The one registry by name, timm style, behind the explainers (``saliency``), the networks
(``networks.registry``) and the dataset readers (``datamodules.readers``).

``Registry(kind, error)``: ``register(name, **metadata)`` decorates a class or function,
``names()`` lists them sorted, ``get(name)`` returns one or raises ``error`` in one sentence
("Unknown network 'vgg17': choose one of alexnet, ..."), ``check_keywords(name, keywords)``
refuses, in one sentence, keywords the registered callable does not take.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from types import MappingProxyType
from typing import Any, Generic, TypeVar

from ferlens.user_errors import UserError

T = TypeVar("T")

#: ``refusal(name, unknown, accepted) -> sentence`` for keywords a registered callable does not take.
Refusal = Callable[[str, list[str], list[str]], str]

#: The default ``refusal`` template: ``{Kind}`` (capitalised), ``{name}``, ``{unknown}`` and
#: ``{accepted}`` (comma-separated, ``none`` when empty).
DEFAULT_REFUSAL = "{Kind} '{name}' has no parameter {unknown}: its parameters are {accepted}."

_KEYWORD_KINDS = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)


class Registry(Generic[T]):
    """Registered objects of one ``kind`` ("saliency method", "network") by name.

    ``error``: the ``UserError`` subclass raised for an unknown name or keyword.
    ``unknown_hint``: text after the list of names in the unknown-name sentence
    (", or a timm model id (timm.list_models())").
    ``refusal``: the unknown-keyword sentence, a ``DEFAULT_REFUSAL``-like template or a
    ``Refusal`` function.
    ``supplied``: parameters the caller always passes itself (a reader's ``root``): never
    listed, and refused as keywords.
    ``entries``: the dict that holds the objects, for a module that exposes it (default: a new one).
    """

    def __init__(
        self,
        kind: str,
        error: type[UserError] = UserError,
        *,
        unknown_hint: str = "",
        refusal: str | Refusal = DEFAULT_REFUSAL,
        supplied: Collection[str] = (),
        entries: dict[str, T] | None = None,
    ) -> None:
        self.kind = kind
        self.error = error
        self.unknown_hint = unknown_hint
        self.refusal = refusal
        self.supplied = tuple(supplied)
        self.entries: dict[str, T] = {} if entries is None else entries
        self._metadata: dict[str, dict[str, Any]] = {}

    def register(self, name: str, **metadata: Any) -> Callable[[T], T]:
        """Decorator registering its object as ``name``, with ``metadata`` (``metadata(name)``);
        a name already taken is refused (``ValueError``)."""

        def add(obj: T) -> T:
            if name in self.entries:
                raise ValueError(f"A {self.kind} named '{name}' is already registered ({self.entries[name]!r}): register {obj!r} under another name.")
            self.entries[name] = obj
            self._metadata[name] = dict(metadata)
            return obj

        return add

    def names(self) -> list[str]:
        return sorted(self.entries)

    def __contains__(self, name: object) -> bool:
        return name in self.entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self.entries)

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}: {', '.join(self.names())})"

    def unknown(self, name: str) -> UserError:
        """The error for ``name`` not being registered: "Unknown <kind> '<name>': choose one of ..."."""
        names = ", ".join(self.names())
        choices = f"choose one of {names}{self.unknown_hint}" if names else f"none is registered{self.unknown_hint}"
        return self.error(f"Unknown {self.kind} '{name}': {choices}.")

    def get(self, name: str) -> T:
        """The object registered as ``name``; ``unknown(name)`` is raised otherwise."""
        if name not in self.entries:
            raise self.unknown(name)
        return self.entries[name]

    def metadata(self, name: str) -> Mapping[str, Any]:
        """The ``metadata`` ``name`` was registered with (read-only)."""
        self.get(name)
        return MappingProxyType(self._metadata.get(name, {}))

    def check_keywords(self, name: str, keywords: Iterable[str]) -> None:
        """Raise ``error``, in the ``refusal`` sentence, for the ``keywords`` that the callable
        registered as ``name`` does not take (none when it takes ``**kwargs``), and
        ``unknown(name)`` for an unknown name."""
        parameters = inspect.signature(self.get(name)).parameters.values()
        accepted = [p.name for p in parameters if p.kind in _KEYWORD_KINDS and p.name not in self.supplied]
        takes_any = any(p.kind is p.VAR_KEYWORD for p in parameters)
        unknown = [key for key in keywords if key in self.supplied or not (takes_any or key in accepted)]
        if unknown:
            raise self.error(self._refusal(name, unknown, accepted))

    def _refusal(self, name: str, unknown: list[str], accepted: list[str]) -> str:
        if callable(self.refusal):
            return self.refusal(name, unknown, accepted)
        kind = self.kind[:1].upper() + self.kind[1:]
        return self.refusal.format(Kind=kind, kind=self.kind, name=name, unknown=", ".join(unknown), accepted=", ".join(accepted) or "none")


def import_target(target: str, key: str) -> Callable[..., Any]:
    """The class or function ``target`` (``package.module.Name``) names, the value of config key
    ``key`` (``model.net._target_``): one sentence when it does not import, e.g. its folder is
    not on PYTHONPATH."""
    module_name, _, attribute = str(target).rpartition(".")
    fix = "check its spelling and put the folder that holds its package on PYTHONPATH (PYTHONPATH=/path/to/folder python train.py ...)"
    try:
        found = getattr(importlib.import_module(module_name), attribute) if module_name else None
    except (ImportError, AttributeError) as error:
        raise UserError(f"{key}={target} does not import ({type(error).__name__}: {error}): {fix}.") from error
    if not callable(found):
        raise UserError(f"{key}={target} names no class or function: {fix}.")
    return found
