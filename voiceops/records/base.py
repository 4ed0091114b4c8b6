"""One way to turn a record into JSON and back, driven by its dataclass fields.

Every record the proxy shows the outside world (``0x04`` events, HTTP API bodies, audit lines)
is a frozen dataclass deriving from :class:`Record`.  Its JSON follows its fields in order, so a
new field (say ``node`` for the command's host) is one line in the class: ``to_json`` writes it,
``from_json`` reads it, and readers that do not know it yet ignore it.

How a field is written is said once, in its ``metadata``:

* :func:`optional` — left out while ``None`` (``reason``, ``exit_code`` …);
* :func:`flag` — left out while ``False`` (``timed_out``, ``truncated``);
* ``field(metadata=rounded(n))`` — a float rounded to ``n`` digits on the wire;
* ``field(metadata=FLATTENED)`` — a nested record whose fields sit beside the outer ones (a
  ``command`` event carries its result's fields at the top level).

Other fields are always written (``None`` as ``null``).  ``from_json`` checks every field's type
(``Literal`` values included) and raises :class:`RecordError` saying which field is wrong.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from typing import Any, ClassVar, Literal, Self, get_args, get_origin

from voiceops.errors import VoiceOpsError

_OMIT = "voiceops.omit"
_DIGITS = "voiceops.digits"
_FLATTEN = "voiceops.flatten"


class RecordError(VoiceOpsError, ValueError):
    """JSON that is not the record it claims to be (a missing field, a wrong type)."""


def optional(default: object = None, *, digits: int | None = None) -> Any:
    """A field left out of the JSON while it is ``None``."""
    meta: dict[str, object] = {_OMIT: None}
    if digits is not None:
        meta[_DIGITS] = digits
    return dataclasses.field(default=default, metadata=meta)


def flag() -> Any:
    """A ``bool`` field left out of the JSON while it is ``False``."""
    return dataclasses.field(default=False, metadata={_OMIT: False})


def rounded(digits: int) -> Mapping[str, object]:
    """Field metadata: a float written rounded to ``digits`` decimals (``None`` as ``null``);
    ``field(metadata=rounded(3))``."""
    return {_DIGITS: digits}


#: Field metadata: a nested record whose fields are written beside this record's own;
#: ``field(metadata=FLATTENED)``.
FLATTENED: Mapping[str, object] = {_FLATTEN: True}


class Record:
    """Base of the frozen dataclasses that are JSON on the wire or on disk."""

    __slots__ = ()
    __dataclass_fields__: ClassVar[dict[str, dataclasses.Field[Any]]]

    def to_json(self) -> dict[str, object]:
        """The JSON object of this record: its fields in order, as their metadata says."""
        out: dict[str, object] = {}
        for spec in dataclasses.fields(self):
            value = getattr(self, spec.name)
            meta = spec.metadata
            if _OMIT in meta and value is meta[_OMIT]:
                continue
            if meta.get(_FLATTEN):
                assert isinstance(value, Record)
                out.update(value.to_json())
            else:
                out[spec.name] = _encode(value, meta.get(_DIGITS))
        return out

    @classmethod
    def from_json(cls, data: object) -> Self:
        """The record ``data`` holds; unknown keys are ignored, wrong or missing ones raise
        :class:`RecordError`."""
        if not isinstance(data, Mapping):
            raise RecordError(f"{cls.__name__}: expected a JSON object")
        hints = _hints(cls)
        values: dict[str, object] = {}
        for spec in dataclasses.fields(cls):
            kind = hints[spec.name]
            if spec.metadata.get(_FLATTEN):
                values[spec.name] = _decode(kind, data, spec.name)
            elif spec.name in data:
                values[spec.name] = _decode(kind, data[spec.name], spec.name)
            elif spec.default is dataclasses.MISSING:
                raise RecordError(f"{cls.__name__}: {spec.name!r} is missing")
        return cls(**values)


class Kinded(Record):
    """A record that is one of a family of kinds, named on the wire by :attr:`kind` (an
    event's ``event``, an audit line's ``type``).

    A direct subclass without a ``kind`` starts a family; each subclass that sets ``kind``
    joins its family's table by itself, so a new kind is readable as soon as it is defined.
    """

    __slots__ = ()
    kind: ClassVar[str]
    _family: ClassVar[dict[str, type[Kinded]]]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "kind" in cls.__dict__:
            # ``slots=True`` makes the class twice; the second one replaces the first here.
            cls._family[cls.kind] = cls
        else:
            cls._family = {}

    @classmethod
    def named(cls, name: object) -> type[Self]:
        """The kind of this family called ``name``; :class:`RecordError` when there is none."""
        found = cls._family.get(name) if isinstance(name, str) else None
        if found is None or not issubclass(found, cls):
            raise RecordError(f"unknown {cls.__name__} kind {name!r}")
        return found


def _encode(value: object, digits: object) -> object:
    if isinstance(value, Record):
        return value.to_json()
    if isinstance(value, tuple | list):
        return [_encode(item, None) for item in value]
    if isinstance(value, dict):
        return {key: _encode(item, None) for key, item in value.items()}
    if isinstance(digits, int) and isinstance(value, float):
        return round(value, digits)
    return value


_HINTS: dict[type[Record], dict[str, Any]] = {}


def _hints(cls: type[Record]) -> dict[str, Any]:
    """The resolved field types of ``cls`` (resolved once per class)."""
    hints = _HINTS.get(cls)
    if hints is None:
        hints = _HINTS[cls] = typing.get_type_hints(cls)
    return hints


def _decode(kind: Any, value: object, name: str) -> object:
    """``value`` checked (and converted: lists to tuples, records built) against ``kind``."""
    origin = get_origin(kind)
    args = get_args(kind)
    if origin in (types.UnionType, typing.Union):
        if value is None and type(None) in args:
            return None
        for option in args:
            if option is not type(None):
                return _decode(option, value, name)
    if origin is Literal:
        if value not in args:
            raise RecordError(f"{name!r} must be one of {', '.join(map(str, args))}")
        return value
    if origin is tuple:
        if not isinstance(value, list):
            raise RecordError(f"{name!r} must be a list")
        return tuple(_decode(args[0], item, f"{name}[{n}]") for n, item in enumerate(value))
    if origin is dict:
        if not isinstance(value, dict) or not all(isinstance(key, str) for key in value):
            raise RecordError(f"{name!r} must be an object")
        return {key: _decode(args[1], item, f"{name}.{key}") for key, item in value.items()}
    if isinstance(kind, type) and issubclass(kind, Record):
        return kind.from_json(value)
    return _scalar(kind, value, name)


def _scalar(kind: Any, value: object, name: str) -> object:
    if kind is float and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if kind is int and isinstance(value, int) and not isinstance(value, bool):
        return value
    if kind in (str, bool) and isinstance(value, kind):
        return value
    if kind is object:
        return value
    raise RecordError(f"{name!r} must be of type {getattr(kind, '__name__', kind)}")
