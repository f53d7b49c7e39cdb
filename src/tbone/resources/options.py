"""``ResourceOptions``: a resource's ``Meta``, merged along its class hierarchy.

Each class's ``Meta`` overrides only the options it sets; the rest come from
its bases' ``Meta`` and finally from the defaults below. Options are checked
when the resource class is defined, so a typo (``incomming_list``) or a wrong
value fails at import time with a ``ConfigurationError`` instead of at the
first request.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Self

from tbone.data.errors import ConfigurationError
from tbone.resources.authentication import NoAuthentication
from tbone.resources.authorization import AllowAll
from tbone.resources.formatters import JSONFormatter
from tbone.resources.protocols import Authentication, Authorization, Formatter

__all__ = ["CORS", "VERBS", "ResourceOptions", "collect_meta"]

#: The verbs a resource maps to methods (lower case, as ``Meta`` lists them).
VERBS: tuple[str, ...] = ("get", "post", "put", "patch", "delete")


@dataclass(frozen=True, slots=True)
class CORS:
    """Cross-origin settings, set as ``Meta.cors = CORS(...)``.

    ``allow_origins`` is ``("*",)`` or a list of exact origins; an allowed
    request ``Origin`` is echoed back (with ``Vary: Origin``) unless the list
    is ``*`` without credentials. ``allow_methods`` defaults to the verbs the
    endpoint allows; ``allow_headers=("*",)`` echoes what the preflight asks.
    """

    allow_origins: tuple[str, ...] = ("*",)
    allow_methods: tuple[str, ...] | None = None
    allow_headers: tuple[str, ...] = ("Authorization", "Content-Type")
    expose_headers: tuple[str, ...] = ()
    allow_credentials: bool = False
    max_age: int = 600

    def allows(self, origin: str) -> bool:
        return "*" in self.allow_origins or origin in self.allow_origins


@dataclass(frozen=True, slots=True, kw_only=True)
class ResourceOptions:
    """Every ``Meta`` option the core of a resource understands, with its default.

    ``object_class`` and ``channel_class`` are read by model resources; the
    core only stores them. Storage-specific options (a Mongo resource's
    ``query``, ``sort``, ``limit``...) live in the storage's own options
    class (``tbone.resources.mongo.MongoResourceOptions``), which extends this
    one. ``outgoing_*`` list the verbs whose result leaves the resource: a
    verb missing there still runs but answers without a body (and model
    resources publish no event for it).
    """

    name: str = ""
    object_class: Any = None
    hypermedia: bool = True
    incoming_list: tuple[str, ...] = VERBS
    incoming_detail: tuple[str, ...] = VERBS
    outgoing_list: tuple[str, ...] = VERBS
    outgoing_detail: tuple[str, ...] = VERBS
    formatter: Formatter = field(default_factory=JSONFormatter)
    authentication: Authentication = field(default_factory=NoAuthentication)
    authorization: Authorization = field(default_factory=AllowAll)
    channel_class: Any = None
    cors: CORS | None = None

    @classmethod
    def option_names(cls) -> frozenset[str]:
        return frozenset(f.name for f in dataclasses.fields(cls))

    @classmethod
    def from_meta(cls, meta: Mapping[str, Any], *, owner: str) -> Self:
        """Build options from merged ``Meta`` attributes of the class ``owner``."""
        unknown = set(meta) - cls.option_names()
        if unknown:
            raise ConfigurationError(
                f"{owner}.Meta: unknown option(s) {sorted(unknown)}; "
                f"known options are {sorted(cls.option_names())}"
            )
        values = cls.normalize(dict(meta), owner)
        options = cls(**values)
        options.check(owner)
        return options

    @classmethod
    def normalize(cls, values: dict[str, Any], owner: str) -> dict[str, Any]:
        """Turn ``Meta`` spellings into option values; subclasses add their own."""
        values.setdefault("name", _default_name(owner))
        for key in ("incoming_list", "incoming_detail", "outgoing_list", "outgoing_detail"):
            if key in values:
                values[key] = _verbs(values[key], f"{owner}.Meta.{key}")
        for key, method in (
            ("formatter", "format"),
            ("authentication", "is_authenticated"),
            ("authorization", "read_scope"),
        ):
            if key in values:
                values[key] = _component(values[key], method, f"{owner}.Meta.{key}")
        if values.get("cors") is True:
            values["cors"] = CORS()
        return values

    def check(self, owner: str) -> None:
        """Validate option values; subclasses add their own checks."""
        # Meta values are unchecked user input until here, whatever the annotations say.
        name: Any = self.name
        if not isinstance(name, str) or not re.fullmatch(r"[\w.-]+", name):
            raise ConfigurationError(f"{owner}.Meta.name must be a URL-safe word: {name!r}")
        if not isinstance(self.hypermedia, bool):
            raise ConfigurationError(f"{owner}.Meta.hypermedia must be True or False")
        if self.cors is not None and not isinstance(self.cors, CORS):
            raise ConfigurationError(f"{owner}.Meta.cors must be a CORS(...) or None")


def collect_meta(mro: Iterable[type]) -> dict[str, Any]:
    """Merge the ``Meta`` classes found along ``mro``, base first."""
    merged: dict[str, Any] = {}
    for klass in reversed(tuple(mro)):
        meta = klass.__dict__.get("Meta")
        if meta is not None:
            merged.update({k: v for k, v in vars(meta).items() if not k.startswith("_")})
    return merged


def _default_name(owner: str) -> str:
    name = owner.removesuffix("Resource") or owner
    return name.lower()


def _verbs(value: Any, where: str) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise ConfigurationError(f"{where} must be a list of verbs, e.g. ['get', 'post']")
    verbs = tuple(str(v).lower() for v in value)
    wrong = [v for v in verbs if v not in VERBS]
    if wrong:
        raise ConfigurationError(f"{where}: unknown verb(s) {wrong}; use {list(VERBS)}")
    return verbs


def _component(value: Any, method: str, where: str) -> Any:
    # A class is accepted and instantiated: ``formatter = JSONFormatter`` is a
    # natural slip, and the default constructors take no arguments.
    if isinstance(value, type):
        value = value()
    if not callable(getattr(value, method, None)):
        raise ConfigurationError(f"{where}: {value!r} has no {method}() method")
    return value
