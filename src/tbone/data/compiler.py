"""Generate one coercion function and three export functions per model.

Like attrs and cattrs, we write Python source specialised to the model's
fields and ``exec`` it once, on first use. The generated code inlines each
field's fast path (``v if v.__class__ is str else slow(v)``), so building a
model from a dict of primitives costs about what a hand-written constructor
would. Any failure drops to the field's ``to_python`` for that value, which
either recovers (an unusual but valid input) or reports the error at its
location; all errors are collected and raised together.

The generated code is debuggable as attrs' is: its source is registered with
``linecache`` under a filename naming the kind and the model
(``<tbone build myapp.models.Book>``), so tracebacks show the failing line and
``inspect.getsource`` works; its variables are named after the fields
(``v_title``); ``source(Book, "build")`` returns it.

A nested model's builder is compiled by this module too, and handed to the
field that embeds it through the namespace (``NESTED_BUILDERS``): the fields
never import the compiler.
"""

from __future__ import annotations

import linecache
import threading
import unicodedata
from collections.abc import Callable, Mapping
from typing import Any, Literal

from tbone.data.errors import ErrorDetail, ValidationError, error_details
from tbone.data.fields.base import (
    MISSING,
    NESTED_BUILDERS,
    BaseField,
    Builder,
    ExportMode,
    Namespace,
)
from tbone.data.options import ModelOptions
from tbone.data.protocols import ModelLike

__all__ = [
    "Kind",
    "adopter_for",
    "builder_for",
    "compile_builder",
    "compile_exporter",
    "exporter_for",
    "from_other",
    "run_clean",
    "source",
]

#: The generated functions of a model; each is also its ``def`` name.
Kind = Literal["build", "adopt", "export_native", "export_primitive", "serialize"]
Exporter = Callable[[Any], dict[str, Any]]

_EXPORT_KINDS: dict[ExportMode, Kind] = {
    "native": "export_native",
    "primitive": "export_primitive",
    "serialize": "serialize",
}
#: where each exporter lives on the model class (the ``Model`` methods that call it)
_EXPORT_ATTRIBUTES: dict[ExportMode, str] = {
    "native": "_tbone_export_native",
    "primitive": "_tbone_export_primitive",
    "serialize": "_tbone_serialize",
}

_lock = threading.Lock()
#: how many times each "kind module.Model" was compiled, for unique filenames
_compilations: dict[str, int] = {}
#: generated source by filename, for ``source()`` whatever happens to linecache
_sources: dict[str, str] = {}


def _filename(model: type[ModelLike], kind: Kind) -> str:
    name = f"{kind} {model.__module__}.{model.__qualname__}"
    with _lock:
        count = _compilations[name] = _compilations.get(name, 0) + 1
    return f"<tbone {name}>" if count == 1 else f"<tbone {name} #{count}>"


def _define(model: type[ModelLike], kind: Kind, lines: list[str], ns: Namespace) -> Callable[..., Any]:
    """Compile ``lines`` (one ``def {kind}(...)``) with ``ns`` as its globals.

    Names stay module globals of the generated code: binding them as default
    arguments was measured slower (defaults are copied on every call).
    """
    text = "\n".join(lines) + "\n"
    filename = _filename(model, kind)
    code = compile(text, filename, "exec")
    _sources[filename] = text
    # mtime None: linecache.checkcache() keeps the entry (there is no file to check)
    linecache.cache[filename] = (len(text), None, text.splitlines(keepends=True), filename)
    exec(code, ns)
    function: Callable[..., Any] = ns[kind]
    return function


def _suffixes(fields: Mapping[str, BaseField]) -> dict[str, str]:
    """Field name -> the suffix of its variables in generated code: the name
    itself, or its position for a name that cannot be part of an identifier as
    written (a model made with ``type()`` may have any string; source code
    normalizes identifiers to NFKC, the namespace's keys would not be)."""
    return {
        name: name if name.isidentifier() and unicodedata.normalize("NFKC", name) == name else str(index)
        for index, name in enumerate(fields)
    }


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


def _nested_builder(model: type[ModelLike], adopt: bool) -> Builder | None:
    """``NestedBuilders`` for the fields: a nested model's compiled builder."""
    return adopter_for(model) if adopt else builder_for(model)


def compile_builder(
    model: type[ModelLike], by_alias: bool, other: Callable[[Any, Any], Any], adopt: bool = False
) -> Builder:
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
    data keys are their attribute names (no aliases). Its fast paths skip the
    checks of what BSON cannot hold (integers beyond 64 bits, instants beyond
    year 9999, dict keys MongoDB cannot query): BSON produced the values.
    """
    options: ModelOptions = model._meta
    fields = options.fields
    kind: Kind = "adopt" if adopt else "build"
    # Per-field names carry the field's name (see _suffixes): locals v_<name>
    # (the value) and raw_<name> (as given, when adopting); globals slow_<name>,
    # default_<name>, factory_<name>, get_default_<name>. Fixed globals start
    # with "_" or are upper case; the fields' own start with "_" and end with a
    # number.
    ns: Namespace = {
        "_cls": model,
        "_new": object.__new__,
        "_other": other,
        "_missing": _missing,
        "MISSING": MISSING,
        "ValidationError": ValidationError,
        NESTED_BUILDERS: _nested_builder,
    }
    lines = [
        f"def {kind}(data):",
        "    if data.__class__ is not dict:",
        "        return _other(_cls, data)",
        "    errors = None",
    ]
    # Adopt only a dict holding exactly the fields (then every raw_ variable is
    # set). Their order matters only to a model whose exporter copies __dict__;
    # the others skip the costlier order check and count keys instead.
    check_order = adopt and any(_copyable(model, mode) for mode in ("native", "primitive", "serialize"))
    count_keys = adopt and not check_order
    if count_keys:
        lines.append("    complete = True")
    suffixes = _suffixes(fields)
    for field in fields.values():
        name = suffixes[field.name]
        key = field.data_key if by_alias else field.name
        var = f"v_{name}"
        ns[f"slow_{name}"] = _slow_path(field, key)
        fallback = f"{var}, errors = slow_{name}(errors, {var})"
        block = field.adopt_lines(var, ns, fallback) if adopt else field.coerce_lines(var, ns, fallback)
        if field.required:
            # a subscript is cheaper than get(); a missing required key is the rare case
            lines.append("    try:")
            lines.append(f"        {var} = data[{key!r}]")
            lines.append("    except KeyError:")
            lines.append(f"        errors = _missing(errors, {key!r}); {var} = None")
        else:
            lines.append(f"    {var} = data.get({key!r}, MISSING)")
            lines.append(f"    if {var} is MISSING:")
            if field.default_factory is not None:
                ns[f"factory_{name}"] = field.default_factory
                lines.append(f"        {var} = factory_{name}()")
            elif field.immutable or field.default is None or field.default is MISSING:
                ns[f"default_{name}"] = None if field.default is MISSING else field.default
                lines.append(f"        {var} = default_{name}")
            else:
                ns[f"get_default_{name}"] = field.get_default
                lines.append(f"        {var} = get_default_{name}()")
            if count_keys:
                lines.append("        complete = False")
        lines.append("    else:")
        if adopt:
            lines.append(f"        raw_{name} = {var}")  # to write back only what changed
        lines.extend(f"        {line}" for line in block)
    values = ", ".join(f"{name!r}: v_{suffix}" for name, suffix in suffixes.items())
    lines.append("    if errors is not None:")
    lines.append(f"        raise ValidationError(errors, {model.__name__!r})")
    lines.append("    self = _new(_cls)")
    if adopt:
        if check_order:
            ns["_keys"] = list(fields)
            lines.append("    if [*data] == _keys:")
        else:
            lines.append(f"    if complete and len(data) == {len(fields)}:")
        for name, suffix in suffixes.items():
            v, raw = f"v_{suffix}", f"raw_{suffix}"
            lines.append(f"        if {v} is not {raw}: data[{name!r}] = {v}")
        lines.append("        self.__dict__ = data")
        lines.append("    else:")
        lines.append(f"        self.__dict__ = {{{values}}}")
    else:
        lines.append(f"    self.__dict__ = {{{values}}}")
    if options.overrides_clean:
        ns["_run_clean"] = run_clean
        lines.append("    _run_clean(self)")
    lines.append("    return self")
    del ns[NESTED_BUILDERS]  # only for writing the code
    return _define(model, kind, lines, ns)


#: (model, attribute) of the builders being compiled right now
_in_progress: set[tuple[type, str]] = set()


def _compiled(model: type[ModelLike], attr: str, compile_it: Callable[[], Builder | None]) -> Builder | None:
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


def builder_for(model: type[ModelLike]) -> Builder | None:
    """The compiled ``from_data`` of ``model``, compiling it now if needed.

    Returns None while that model is itself being compiled (a recursive model),
    in which case the caller goes through the class attribute instead.
    """
    return _compiled(
        model, "_tbone_from_data", lambda: compile_builder(model, by_alias=True, other=from_other)
    )


def adopter_for(model: type[ModelLike]) -> Builder | None:
    """The compiled adopting builder of ``model`` (see ``compile_builder``), for
    dicts the caller hands over; the plain builder when the model has aliases.
    None while the model is being compiled (a recursive model)."""

    def compile_it() -> Builder | None:
        options: ModelOptions = model._meta
        if any(field.data_key != field.name for field in options.fields.values()):
            return builder_for(model)
        return compile_builder(model, by_alias=True, other=from_other, adopt=True)

    return _compiled(model, "_tbone_adopt", compile_it)


def from_other(cls: type[ModelLike], data: Any) -> Any:
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


def run_clean(instance: ModelLike) -> None:
    """Run the model-level hook, turning a plain ValueError into a ValidationError."""
    try:
        instance.clean()
    except ValidationError:
        raise
    except ValueError as exc:
        raise ValidationError(error_details(exc, ()), type(instance).__name__) from exc


def _copyable(model: type[ModelLike], mode: ExportMode) -> bool:
    """Whether ``mode``'s export of ``model`` is a copy of ``__dict__``: every field
    exported, as itself, under its own name."""
    options: ModelOptions = model._meta
    fields = options.fields
    return bool(fields) and all(
        field.data_key == field.name
        and field.export_expr("v", {}, mode) == "v"
        and (mode != "serialize" or field.projection is True)
        for field in fields.values()
    )


def compile_exporter(model: type[ModelLike], mode: ExportMode) -> Exporter:
    """``export(self) -> dict`` keyed by data key.

    ``native`` and ``primitive`` export every field; ``serialize`` honours each
    field's ``projection`` (True: always, False: when not None, None: never).
    """
    options: ModelOptions = model._meta
    fields = options.fields
    kind = _EXPORT_KINDS[mode]
    ns: Namespace = {}
    lines = [f"def {kind}(self):", "    d = self.__dict__"]
    always: list[str] = []
    optional: list[tuple[str, str, str]] = []
    suffixes = _suffixes(fields)
    for field in fields.values():
        if mode == "serialize" and field.projection is None:
            continue
        var = f"v_{suffixes[field.name]}"
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
    return _define(model, kind, lines, ns)


def exporter_for(model: type[ModelLike], mode: ExportMode) -> Exporter:
    """The compiled exporter of ``model`` for ``mode``, compiling it and storing it
    on the class (replacing the lazy stub) if needed."""
    attr = _EXPORT_ATTRIBUTES[mode]
    existing = model.__dict__.get(attr)
    if existing is not None and _source_of(existing) is not None:
        return existing  # type: ignore[no-any-return]
    export = compile_exporter(model, mode)
    setattr(model, attr, export)
    return export


def _source_of(function: Any) -> str | None:
    code = getattr(function, "__code__", None)
    return None if code is None else _sources.get(code.co_filename)


def source(model: type[ModelLike], kind: Kind = "build") -> str:
    """The Python source tbone generated for ``model``, compiling it now if needed.

    ``kind`` is one of:

    - ``"build"``: ``Model.from_data`` and the constructor (data keys in, an
      instance out, every field coerced and checked);
    - ``"adopt"``: the builder ``tbone.db`` uses for documents fresh from the
      driver, which may keep the given dict as the instance's storage (for a
      model with aliases this is the ``"build"`` code);
    - ``"export_native"``: ``export_data()``;
    - ``"export_primitive"``: ``export_data(native=False)`` and ``to_json()``;
    - ``"serialize"``: the fields part of ``serialize()`` (``projection``
      honoured; ``@serialize`` methods are added after it).
    """
    function: Any
    if kind == "build":
        function = builder_for(model)
    elif kind == "adopt":
        function = adopter_for(model)
    else:
        modes = {kind_: mode for mode, kind_ in _EXPORT_KINDS.items()}
        if kind not in modes:
            raise ValueError(f"unknown kind {kind!r}: one of build, adopt, {', '.join(modes)}")
        function = exporter_for(model, modes[kind])
    text = _source_of(function)
    if text is None:  # pragma: no cover - only while compiling a recursive model
        raise RuntimeError(f"{model.__name__} is being compiled")
    return text
