"""Generate one coercion function and three export functions per model.

Like attrs and cattrs, we write Python source specialised to the model's
fields and ``exec`` it once, on first use. The generated code inlines each
field's fast path (``v if v.__class__ is str else slow(v)``), so building a
model from a dict of primitives costs about what a hand-written constructor
would. Any failure drops to the field's ``to_python`` for that value, which
either recovers (an unusual but valid input) or reports the error at its
location; all errors are collected and raised together.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from tbone.data.errors import ErrorDetail, ValidationError, error_details
from tbone.data.fields.base import MISSING, BaseField, ExportMode, Namespace

if TYPE_CHECKING:
    from tbone.data.models import Model

__all__ = ["adopter_for", "builder_for", "compile_builder", "compile_exporter", "from_other"]

_counter = itertools.count()


def _slow_path(field: BaseField, key: str) -> Callable[..., tuple[Any, list[ErrorDetail] | None]]:
    to_python = field.to_python

    def slow(errors: list[ErrorDetail] | None, value: Any) -> tuple[Any, list[ErrorDetail] | None]:
        try:
            return to_python(value), errors
        except Exception as exc:
            errors = errors if errors is not None else []
            errors.extend(error_details(exc, (key,)))
            return None, errors

    return slow


def _missing(errors: list[ErrorDetail] | None, key: str) -> list[ErrorDetail]:
    errors = errors if errors is not None else []
    errors.append({"loc": (key,), "msg": "Field required", "type": "missing"})
    return errors


def _exec(source: str, ns: Namespace, name: str) -> Any:
    # Names stay module globals of the generated code: binding them as default
    # arguments was measured slower (defaults are copied on every call).
    filename = f"<tbone generated {name} {next(_counter)}>"
    exec(compile(source, filename, "exec"), ns)
    return ns[name]


def compile_builder(
    model: type[Model], by_alias: bool, other: Callable[[Any, Any], Any], adopt: bool = False
) -> Callable[[Any], Any]:
    """``build(data) -> instance`` reading ``data`` by data key (``by_alias``) or by
    attribute name (the constructor). Unknown keys are ignored here; the
    constructor checks for them itself. Anything but a plain dict goes to
    ``other(model, data)``.

    ``adopt``: the caller hands ``data`` over (a document fresh from a decoder),
    so it may be changed. Lists are converted in place, and when ``data`` has
    exactly the model's keys in field order (what tbone itself writes) it
    becomes the instance's ``__dict__`` with the converted values written back,
    instead of being copied into a new dict: for documents read from MongoDB
    this halves the cost of building. Any other ``data`` (extra, missing or
    reordered keys) gets a new dict, as ``build`` would. Only for models whose
    data keys are their attribute names (no aliases).
    """
    fields = model._meta.fields
    ns: Namespace = {
        "_cls": model,
        "_new": object.__new__,
        "_M": MISSING,
        "_VE": ValidationError,
        "_missing": _missing,
        "_Mapping": Mapping,
        "_details": error_details,
    }
    ns["_other"] = other
    lines = [
        "def build(data):",
        "    if data.__class__ is not dict:",
        "        return _other(_cls, data)",
        "    errors = None",
    ]
    # Adopt only a dict holding exactly the fields (then every o-variable is set).
    # Their order matters only to a model whose exporter copies __dict__; the
    # others skip the costlier order check and count keys instead.
    check_order = adopt and any(_copyable(model, mode) for mode in ("native", "primitive", "serialize"))
    count_keys = adopt and not check_order
    if count_keys:
        lines.append("    complete = True")
    names: list[str] = []
    for index, field in enumerate(fields.values()):
        key = field.data_key if by_alias else field.name
        var = f"f{index}"
        names.append(f"{field.name!r}: {var}")
        slow = f"_s{index}"
        ns[slow] = _slow_path(field, key)
        fallback = f"{var}, errors = {slow}(errors, {var})"
        block = field.adopt_lines(var, ns, fallback) if adopt else field.coerce_lines(var, ns, fallback)
        if field.required:
            # a subscript is cheaper than get(); a missing required key is the rare case
            lines.append("    try:")
            lines.append(f"        {var} = data[{key!r}]")
            lines.append("    except KeyError:")
            lines.append(f"        errors = _missing(errors, {key!r}); {var} = None")
        else:
            lines.append(f"    {var} = data.get({key!r}, _M)")
            lines.append(f"    if {var} is _M:")
            if field.default_factory is not None:
                ns[f"_df{index}"] = field.default_factory
                lines.append(f"        {var} = _df{index}()")
            elif field.immutable or field.default is None or field.default is MISSING:
                ns[f"_d{index}"] = None if field.default is MISSING else field.default
                lines.append(f"        {var} = _d{index}")
            else:
                ns[f"_g{index}"] = field.get_default
                lines.append(f"        {var} = _g{index}()")
            if count_keys:
                lines.append("        complete = False")
        lines.append("    else:")
        if adopt:
            lines.append(f"        o{index} = {var}")  # to write back only what changed
        lines.extend(f"        {line}" for line in block)
    lines.append("    if errors is not None:")
    lines.append(f"        raise _VE(errors, {model.__name__!r})")
    lines.append("    self = _new(_cls)")
    if adopt:
        if check_order:
            ns["_keys"] = [field.name for field in fields.values()]
            lines.append("    if [*data] == _keys:")
        else:
            lines.append(f"    if complete and len(data) == {len(fields)}:")
        for index, field in enumerate(fields.values()):
            lines.append(f"        if f{index} is not o{index}: data[{field.name!r}] = f{index}")
        lines.append("        self.__dict__ = data")
        lines.append("    else:")
        lines.append(f"        self.__dict__ = {{{', '.join(names)}}}")
    else:
        lines.append(f"    self.__dict__ = {{{', '.join(names)}}}")
    if model.clean is not _base_clean():
        ns["_clean"] = _run_clean
        lines.append("    _clean(self)")
    lines.append("    return self")
    return _exec("\n".join(lines), ns, "build")  # type: ignore[no-any-return]


#: (model, attribute) of the builders being compiled right now
_in_progress: set[tuple[type, str]] = set()


def _compiled(
    model: type[Model], attr: str, compile_it: Callable[[], Callable[[Any], Any] | None]
) -> Callable[[Any], Any] | None:
    """The generated function stored on ``model`` as ``attr``, compiling it now if
    needed; None while it is itself being compiled (a recursive model)."""
    existing = model.__dict__.get(attr)
    if isinstance(existing, staticmethod):
        return existing.__func__
    key = (model, attr)
    if key in _in_progress:
        return None
    _in_progress.add(key)
    try:
        build = compile_it()
    finally:
        _in_progress.discard(key)
    if build is not None:
        setattr(model, attr, staticmethod(build))
    return build


def builder_for(model: type[Model]) -> Callable[[Any], Any] | None:
    """The compiled ``from_data`` of ``model``, compiling it now if needed.

    Returns None while that model is itself being compiled (a recursive model),
    in which case the caller goes through the class attribute instead.
    """
    return _compiled(
        model, "_tbone_from_data", lambda: compile_builder(model, by_alias=True, other=from_other)
    )


def adopter_for(model: type[Model]) -> Callable[[Any], Any] | None:
    """The compiled adopting builder of ``model`` (see ``compile_builder``), for
    dicts the caller hands over; the plain builder when the model has aliases.
    None while the model is being compiled (a recursive model)."""

    def compile_it() -> Callable[[Any], Any] | None:
        if any(field.data_key != field.name for field in model._meta.fields.values()):
            return builder_for(model)
        return compile_builder(model, by_alias=True, other=from_other, adopt=True)

    return _compiled(model, "_tbone_adopt", compile_it)


def from_other(cls: type[Model], data: Any) -> Any:
    """``from_data`` for anything but a plain dict: an instance passes through, any
    other mapping is copied to a dict, the rest is an error."""
    if isinstance(data, cls):
        return data
    if isinstance(data, Mapping):
        return cls._tbone_from_data(dict(data))
    raise ValidationError(
        [
            {
                "loc": (),
                "msg": f"Input must be a mapping, got {type(data).__name__}",
                "type": "model_type",
            }
        ],
        cls.__name__,
    )


def _base_clean() -> Any:
    from tbone.data.models import Model

    return Model.clean


def _run_clean(instance: Model) -> None:
    """Run the model-level hook, turning a plain ValueError into a ValidationError."""
    try:
        instance.clean()
    except ValidationError:
        raise
    except ValueError as exc:
        raise ValidationError(error_details(exc, ()), type(instance).__name__) from exc


def _copyable(model: type[Model], mode: ExportMode) -> bool:
    """Whether ``mode``'s export of ``model`` is a copy of ``__dict__``: every field
    exported, as itself, under its own name."""
    fields = model._meta.fields
    return bool(fields) and all(
        field.data_key == field.name
        and field.export_expr("v", {}, mode) == "v"
        and (mode != "serialize" or field.projection is True)
        for field in fields.values()
    )


def compile_exporter(model: type[Model], mode: ExportMode) -> Callable[[Any], dict[str, Any]]:
    """``export(self) -> dict`` keyed by data key.

    ``native`` and ``primitive`` export every field; ``serialize`` honours each
    field's ``projection`` (True: always, False: when not None, None: never).
    """
    fields = model._meta.fields
    ns: Namespace = {}
    lines = ["def export(self):", "    d = self.__dict__"]
    always: list[str] = []
    optional: list[tuple[str, str, str]] = []
    for index, field in enumerate(fields.values()):
        if mode == "serialize" and field.projection is None:
            continue
        var = f"v{index}"
        expr = field.export_expr(var, ns, mode)
        if mode == "serialize" and field.projection is False:
            lines.append(f"    {var} = d[{field.name!r}]")
            optional.append((field.data_key, var, expr))
        elif expr == var:
            always.append(f"{field.data_key!r}: d[{field.name!r}]")
        else:
            lines.append(f"    {var} = d[{field.name!r}]")
            always.append(f"{field.data_key!r}: {expr}")
    if _copyable(model, mode):
        # The builders give __dict__ exactly the fields, in order; only an extra
        # attribute set on the instance changes its size, and then we build.
        lines.append(f"    if len(d) == {len(fields)}: return d.copy()")
    lines.append(f"    out = {{{', '.join(always)}}}")
    for key, var, expr in optional:
        lines.append(f"    if {var} is not None: out[{key!r}] = {expr}")
    lines.append("    return out")
    return _exec("\n".join(lines), ns, "export")  # type: ignore[no-any-return]
