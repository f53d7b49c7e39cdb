"""The field base class, the ``Field(...)`` specifier and ``@validator``.

A field object does three jobs for one attribute: coerce a raw value
(``to_python``), check it against the field's options, and say how to export it.
Fields also describe themselves as small Python expressions (``coerce_expr`` and
``export_expr``) that ``tbone.data.compiler`` pastes into one generated function
per model, so the per-value path has no per-field method dispatch.

The compiler hands the fields what they need from the layers above them
(a nested model's compiled builder) through the namespace they write to, under
``NESTED_BUILDERS``, so no field module imports the compiler.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Iterable
from typing import Any, ClassVar, Literal, Protocol, TypeVar, overload

from tbone.data.errors import ConfigurationError, FieldError, propagate
from tbone.data.protocols import ModelLike

__all__ = [
    "MISSING",
    "NESTED_BUILDERS",
    "BaseField",
    "Builder",
    "ExportMode",
    "Field",
    "FieldSpec",
    "Namespace",
    "NestedBuilders",
    "Projection",
    "validator",
]

T = TypeVar("T")
Projection = bool | None
ExportMode = Literal["native", "primitive", "serialize"]
#: Names to objects, the globals of one generated function.
Namespace = dict[str, Any]
#: A compiled ``build(data) -> instance`` of one model.
Builder = Callable[[Any], Any]

#: The ``Namespace`` key under which the compiler passes ``NestedBuilders`` to
#: the fields while they write code; removed before the code runs.
NESTED_BUILDERS = "__tbone_nested_builders__"


class NestedBuilders(Protocol):
    """The compiled builder of a nested ``model`` (the adopting one with ``adopt``),
    compiling it if needed; None while it is itself being compiled (a recursive
    model), in which case the generated code calls the class attribute."""

    def __call__(self, model: type[ModelLike], adopt: bool) -> Builder | None: ...


class _Missing:
    """Sentinel for "no value given"; distinct from ``None`` which is a value."""

    _instance: ClassVar[_Missing | None] = None

    def __new__(cls) -> _Missing:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "MISSING"

    def __bool__(self) -> bool:
        return False

    def __copy__(self) -> _Missing:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> _Missing:
        return self


MISSING: Any = _Missing()

_OPTION_NAMES = (
    "default",
    "default_factory",
    "required",
    "choices",
    "validators",
    "projection",
    "readonly",
    "primary_key",
    "min",
    "max",
    "min_length",
    "max_length",
    "pattern",
    "min_size",
    "max_size",
    "alias",
    "nullable",
    "description",
)


def validator(method: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    """Mark a field-class method as a validator: ``method(self, value) -> value``.

    Validators run after coercion and the built-in option checks, in definition
    order (base classes first); raise ``ValueError`` to reject the value, return
    the (possibly normalized) value to accept it.
    """
    method._tbone_validator = True  # type: ignore[attr-defined]
    return method


def _run_validator(func: Callable[..., Any], *args: Any) -> Any:
    """Call a validator. As in pydantic, a ``ValueError`` (``FieldError`` and
    ``ValidationError`` included) or an ``AssertionError`` rejects the value;
    anything else is a bug in the validator and propagates unchanged, through
    every layer that turns errors into field errors (``propagate``)."""
    try:
        return func(*args)
    except ValueError:
        raise
    except AssertionError as exc:
        raise FieldError(str(exc) or "Assertion failed", "assertion_error") from None
    except Exception as exc:
        propagate(exc)
        raise


class FieldSpec:
    """What ``Field(...)`` returns at run time: options waiting for a field class."""

    __slots__ = ("options",)

    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options

    def __repr__(self) -> str:
        opts = ", ".join(f"{k}={v!r}" for k, v in self.options.items())
        return f"Field({opts})"


@overload
def Field(
    *,
    default: T,
    required: bool = ...,
    choices: Iterable[Any] | None = ...,
    validators: Iterable[Callable[[Any], Any]] = ...,
    projection: Projection = ...,
    readonly: bool = ...,
    primary_key: bool = ...,
    min: Any = ...,
    max: Any = ...,
    min_length: int | None = ...,
    max_length: int | None = ...,
    pattern: str | None = ...,
    min_size: int | None = ...,
    max_size: int | None = ...,
    alias: str | None = ...,
    description: str | None = ...,
) -> T: ...


@overload
def Field(
    *,
    default_factory: Callable[[], T],
    required: bool = ...,
    choices: Iterable[Any] | None = ...,
    validators: Iterable[Callable[[Any], Any]] = ...,
    projection: Projection = ...,
    readonly: bool = ...,
    primary_key: bool = ...,
    min: Any = ...,
    max: Any = ...,
    min_length: int | None = ...,
    max_length: int | None = ...,
    pattern: str | None = ...,
    min_size: int | None = ...,
    max_size: int | None = ...,
    alias: str | None = ...,
    description: str | None = ...,
) -> T: ...


@overload
def Field(
    *,
    required: bool = ...,
    choices: Iterable[Any] | None = ...,
    validators: Iterable[Callable[[Any], Any]] = ...,
    projection: Projection = ...,
    readonly: bool = ...,
    primary_key: bool = ...,
    min: Any = ...,
    max: Any = ...,
    min_length: int | None = ...,
    max_length: int | None = ...,
    pattern: str | None = ...,
    min_size: int | None = ...,
    max_size: int | None = ...,
    alias: str | None = ...,
    description: str | None = ...,
) -> Any: ...


def Field(**options: Any) -> Any:
    """Declare field options next to an annotation (keyword-only, like pydantic's).

    ``title: str = Field(min_length=1)``; ``rating: Annotated[int, Field(min=1)] = 3``.
    Typed as returning the annotated type so mypy accepts it as a default.
    """
    unknown = set(options) - set(_OPTION_NAMES)
    if unknown:
        raise TypeError(f"Field() got unexpected options: {', '.join(sorted(unknown))}")
    if "default" in options and "default_factory" in options:
        raise TypeError("Field() takes default or default_factory, not both")
    return FieldSpec(options)


class BaseField:
    """Base of every field class.

    Class attributes subclasses set: ``python_type`` (the exact type a coerced
    value has, used for the generated fast path), ``json_type`` (JSON Schema
    type), ``immutable`` (values need no copy on export), ``ordered`` (min/max
    apply).
    """

    python_type: type | None = None
    json_type: ClassVar[str | None] = None
    json_format: ClassVar[str | None] = None
    immutable: ClassVar[bool] = True
    primitive_identity: ClassVar[bool] = False
    #: The JSON primitive of a value as an expression over ``{}`` (e.g.
    #: ``"{}.isoformat()"``), used both in generated code and, compiled once
    #: per class, by ``export_value``; None when the value needs no conversion.
    primitive_template: ClassVar[str | None] = None
    _to_primitive: ClassVar[Callable[[Any], Any] | None] = None
    ordered: ClassVar[bool] = False
    sized: ClassVar[bool] = False
    #: ``min_length``, ``max_length`` and ``pattern`` apply (strings)
    textual: ClassVar[bool] = False
    _field_validators: ClassVar[tuple[Callable[[Any, Any], Any], ...]] = ()

    name: str
    model_name: str

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        template = cls.__dict__.get("primitive_template")
        if template is not None:
            cls._to_primitive = eval(f"lambda v: {template.format('v')}")
        found: list[Callable[[Any, Any], Any]] = list(cls._field_validators)
        for attr in vars(cls).values():
            if getattr(attr, "_tbone_validator", False) and attr not in found:
                found.append(attr)
        cls._field_validators = tuple(found)

    def __init__(
        self,
        *,
        default: Any = MISSING,
        default_factory: Callable[[], Any] | None = None,
        required: bool | None = None,
        choices: Iterable[Any] | None = None,
        validators: Iterable[Callable[[Any], Any]] = (),
        projection: Projection = True,
        readonly: bool = False,
        primary_key: bool = False,
        min: Any = None,
        max: Any = None,
        min_length: int | None = None,
        max_length: int | None = None,
        pattern: str | None = None,
        min_size: int | None = None,
        max_size: int | None = None,
        alias: str | None = None,
        nullable: bool = False,
        description: str | None = None,
    ) -> None:
        self.name = ""
        self.model_name = ""
        self.default = default
        self.default_factory = default_factory
        self._required = required
        self.choices: tuple[Any, ...] | None = tuple(choices) if choices is not None else None
        self.validators = tuple(validators)
        self.projection = projection
        self.readonly = readonly
        self.primary_key = primary_key
        self.min = min
        self.max = max
        self.min_length = min_length
        self.max_length = max_length
        self.pattern = pattern
        self._regex = re.compile(pattern) if pattern is not None else None
        self.min_size = min_size
        self.max_size = max_size
        self.alias = alias
        self.nullable = nullable
        self.description = description
        self._refresh()

    def _refresh(self) -> None:
        """Recompute what depends on options (called after any option change)."""
        self.has_checks = bool(
            self.choices is not None
            or self.validators
            or self._field_validators
            or self.min is not None
            or self.max is not None
            or self.min_length is not None
            or self.max_length is not None
            or self._regex is not None
            or self.min_size is not None
            or self.max_size is not None
        )

    # -- configuration ---------------------------------------------------
    def options(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in _OPTION_NAMES if name != "required"} | {
            "required": self._required
        }

    def with_options(self, **options: Any) -> BaseField:
        """A copy of this field with some options replaced (fields are shared in
        ``Annotated`` aliases such as ``Email``, so each attribute gets its own)."""
        clone = copy.copy(self)
        for key, value in options.items():
            if key == "required":
                clone._required = value
            elif key == "choices":
                clone.choices = tuple(value) if value is not None else None
            elif key == "validators":
                clone.validators = tuple(value)
            elif key == "pattern":
                clone.pattern = value
                clone._regex = re.compile(value) if value is not None else None
            else:
                setattr(clone, key, value)
        clone._refresh()
        return clone

    def bind(self, name: str, model_name: str) -> None:
        self.name = name
        self.model_name = model_name

    def check_options(self, where: str) -> None:
        """Raise ``ConfigurationError`` for an option that does not fit this field's
        type (``min`` on a string, ``min_length`` on an int, ``min_size`` on a
        string...), naming ``where`` ("Book.title") and the option; a ``min``
        or ``max`` bound is coerced by the field (``min="3"`` on an int is 3).
        Called when the model's fields are resolved."""
        kind = type(self).__name__
        for names, fits, applies_to in (
            (("min", "max"), self.ordered, "numbers, dates, times and datetimes"),
            (("min_length", "max_length", "pattern"), self.textual, "strings"),
            (("min_size", "max_size"), self.sized, "lists and dicts"),
        ):
            for option in names:
                if getattr(self, option) is not None and not fits:
                    raise ConfigurationError(
                        f"{where}: option {option!r} does not apply to {kind} (only to {applies_to})"
                    )
        for option in ("min_length", "max_length", "min_size", "max_size"):
            size = getattr(self, option)
            if size is not None and (size.__class__ is not int or size < 0):
                raise ConfigurationError(f"{where}: option {option!r} must be an int >= 0, got {size!r}")
        for option in ("min", "max"):
            bound = getattr(self, option)
            if bound is None:
                continue
            try:
                setattr(self, option, self.coerce(bound))
            except (ValueError, TypeError) as exc:
                raise ConfigurationError(
                    f"{where}: option {option!r} is not a valid {kind} value: {bound!r} ({exc})"
                ) from None
        self._refresh()

    @property
    def data_key(self) -> str:
        """The key in data and in the database: the alias, else the attribute name."""
        return self.alias or self.name

    @property
    def has_default(self) -> bool:
        return self.default is not MISSING or self.default_factory is not None

    @property
    def required(self) -> bool:
        if self._required is not None:
            return self._required
        return not self.has_default

    def get_default(self) -> Any:
        """The value of an omitted optional field (None for ``required=False``
        without a default)."""
        if self.default_factory is not None:
            return self.default_factory()
        if self.default is MISSING:
            return None
        if not self.immutable and self.default is not None:
            return copy.deepcopy(self.default)
        return self.default

    # -- descriptor --------------------------------------------------------
    def __get__(self, instance: Any, owner: type | None = None) -> Any:
        if instance is None:
            return self
        raise AttributeError(f"{type(instance).__name__!s} has no value for field {self.name!r}")

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.model_name}.{self.name}>"

    # -- coercion and checks ----------------------------------------------
    def coerce(self, value: Any) -> Any:
        """Convert a non-None raw value to this field's Python type or raise FieldError."""
        return value

    def to_python(self, value: Any) -> Any:
        """Coerce and check one value: the slow, general path (and the error path)."""
        if value is None:
            if self.nullable:
                return None
            raise FieldError("Value cannot be null", "none_not_allowed")
        if self.has_checks:
            return self.check(self.coerce(value))
        return self.coerce(value)

    def check(self, value: Any) -> Any:
        if self.choices is not None and value not in self.choices:
            allowed = ", ".join(repr(c) for c in self.choices)
            raise FieldError(f"Value must be one of {allowed}", "choice")
        if self.min is not None and value < self.min:
            raise FieldError(f"Value must be at least {self.min}", "too_small")
        if self.max is not None and value > self.max:
            raise FieldError(f"Value must be at most {self.max}", "too_large")
        if self.min_length is not None and len(value) < self.min_length:
            raise FieldError(f"Length must be at least {self.min_length}", "too_short")
        if self.max_length is not None and len(value) > self.max_length:
            raise FieldError(f"Length must be at most {self.max_length}", "too_long")
        if self._regex is not None and not self._regex.search(value):
            raise FieldError(f"Value must match pattern {self.pattern!r}", "pattern_mismatch")
        if self.min_size is not None and len(value) < self.min_size:
            raise FieldError(f"Must have at least {self.min_size} items", "too_short")
        if self.max_size is not None and len(value) > self.max_size:
            raise FieldError(f"Must have at most {self.max_size} items", "too_long")
        for method in self._field_validators:
            result = _run_validator(method, self, value)
            if result is not None:
                value = result
        for func in self.validators:
            result = _run_validator(func, value)
            if result is not None:
                value = result
        return value

    # -- code generation ---------------------------------------------------
    def _register(self, ns: Namespace, obj: Any, hint: str) -> str:
        """Put ``obj`` in the generated function's namespace; return its name."""
        name = f"_{hint}{len(ns)}"
        ns[name] = obj
        return name

    def fast_guard(self, var: str, ns: Namespace, stored: bool = False) -> str | None:
        """A condition under which ``var`` is already the final value, or None.

        The base guard is an exact type check plus inline min/max/length checks;
        anything else (patterns, validators) takes the ``to_python`` path.
        ``stored``: the value was read from the database (the adopting builder),
        so what BSON cannot hold (``guard_extras``) need not be checked.
        """
        if self.python_type is None:
            return None
        if self.validators or self._field_validators or self._regex is not None:
            return None
        parts = [f"{var}.__class__ is {self._register(ns, self.python_type, 't')}"]
        parts.extend(self.guard_extras(var, stored))
        if self.choices is not None:
            try:
                choices: Any = frozenset(self.choices)
            except TypeError:
                return None
            parts.append(f"{var} in {self._register(ns, choices, 'ch')}")
        if self.min is not None:
            parts.append(f"{var} >= {self._register(ns, self.min, 'lo')}")
        if self.max is not None:
            parts.append(f"{var} <= {self._register(ns, self.max, 'hi')}")
        if self.min_length is not None:
            parts.append(f"len({var}) >= {self.min_length}")
        if self.max_length is not None:
            parts.append(f"len({var}) <= {self.max_length}")
        if self.min_size is not None or self.max_size is not None:
            return None
        return " and ".join(parts)

    def guard_extras(self, var: str, stored: bool = False) -> list[str]:
        """Conditions, right after the exact-type check, that a value of the exact
        type must meet to skip ``to_python`` (and before any comparison): e.g.
        that BSON can hold it, which a ``stored`` value needs not be checked for."""
        return []

    def coerce_expr(self, var: str, ns: Namespace, depth: int = 0, stored: bool = False) -> str:
        """An expression turning raw ``var`` into the final value; may raise.
        ``stored`` as for ``fast_guard``."""
        slow = self._register(ns, self.to_python, "c")
        guard = self.fast_guard(var, ns, stored)
        if guard is None:
            return f"{slow}({var})"
        if self.nullable:
            guard = f"{var} is None or {guard}"
        return f"({var} if {guard} else {slow}({var}))"

    def coerce_lines(self, var: str, ns: Namespace, fallback: str) -> list[str]:
        """Statements that coerce the raw value in ``var`` in place, for the
        generated builder. ``fallback`` is the statement taking the slow path
        (``to_python`` with error capture) for values the fast path does not
        take; it must also run when the fast path raises."""
        return self.guard_lines(var, ns, fallback, stored=False)

    def adopt_lines(self, var: str, ns: Namespace, fallback: str) -> list[str]:
        """``coerce_lines`` for the adopting builder, whose input the caller hands
        over (a document fresh from a decoder): containers may be converted in
        place instead of copied, and values skip the checks of what BSON
        cannot hold (``stored``)."""
        return self.guard_lines(var, ns, fallback, stored=True)

    def guard_lines(self, var: str, ns: Namespace, fallback: str, stored: bool) -> list[str]:
        """The statements of ``coerce_lines`` (``stored``: of ``adopt_lines``)."""
        guard = self.fast_guard(var, ns, stored)
        if guard is None:
            return [fallback]
        if self.nullable:
            guard = f"{var} is None or {guard}"
        # a try costs nothing until it catches; the guard's comparisons could raise
        lines = [f"if not ({guard}):", f"    {fallback}"]
        return ["try:", *(f"    {line}" for line in lines), "except Exception:", f"    {fallback}"]

    def _try_lines(self, var: str, expr: str, fallback: str) -> list[str]:
        return ["try:", f"    {var} = {expr}", "except Exception:", f"    {fallback}"]

    def export_value(self, value: Any, mode: ExportMode) -> Any:
        """Export one non-None value (the generic path; subclasses override)."""
        convert = type(self)._to_primitive
        return value if mode == "native" or convert is None else convert(value)

    def inline_export(self, var: str, ns: Namespace, mode: ExportMode, depth: int) -> str | None:
        """An inline expression exporting non-None ``var``, or None to call export_value.

        Natives are stored as they are exported, and JSON-primitive types export
        as themselves, so both are the identity.
        """
        if mode == "native" or self.primitive_identity:
            return var
        template = self.primitive_template
        return None if template is None else template.format(var)

    def export_expr(self, var: str, ns: Namespace, mode: ExportMode, depth: int = 0) -> str:
        """An expression exporting ``var`` (which may be None when nullable)."""
        inline = self.inline_export(var, ns, mode, depth)
        if inline is None:
            fn = self._register(ns, self.export_value, "x")
            inline = f"{fn}({var}, {mode!r})"
        if inline == var:
            return var
        return f"(None if {var} is None else {inline})"

    # -- schema ------------------------------------------------------------
    def json_schema(self, defs: dict[str, Any]) -> dict[str, Any]:
        schema: dict[str, Any] = {}
        if self.json_type:
            schema["type"] = self.json_type
        if self.json_format:
            schema["format"] = self.json_format
        self._schema_constraints(schema)
        if self.nullable:
            schema = {"anyOf": [schema, {"type": "null"}]}
        if self.description:
            schema["description"] = self.description
        if self.readonly:
            schema["readOnly"] = True
        return schema

    def _schema_constraints(self, schema: dict[str, Any]) -> None:
        if self.choices is not None:
            schema["enum"] = [self.export_value(c, "primitive") for c in self.choices]
        if self.min is not None:
            schema["minimum"] = self.export_value(self.min, "primitive")
        if self.max is not None:
            schema["maximum"] = self.export_value(self.max, "primitive")
        if self.min_length is not None:
            schema["minLength"] = self.min_length
        if self.max_length is not None:
            schema["maxLength"] = self.max_length
        if self.pattern is not None:
            schema["pattern"] = self.pattern
        if self.min_size is not None:
            schema["minItems"] = self.min_size
        if self.max_size is not None:
            schema["maxItems"] = self.max_size
