"""Container fields: ``list[T]``, ``dict[str, T]`` and nested models.

Their generated code inlines the item field's expression inside a
comprehension, so coercing ``list[str]`` or ``list[Review]`` costs one
comprehension and no method call per item on the happy path. Any failure
falls back to ``to_python``, which walks the items and reports each error at
its index or key.

A nested model's generated code calls that model's own compiled builder,
which the compiler passes down in the namespace (``NESTED_BUILDERS``): this
module knows models only as ``ModelLike``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tbone.data.errors import ErrorDetail, FieldError, ValidationError, error_details
from tbone.data.fields.base import NESTED_BUILDERS, BaseField, ExportMode, Namespace, NestedBuilders
from tbone.data.protocols import ModelLike

__all__ = ["DictField", "ListField", "ModelField"]


def _bad_key(key: Any) -> str:
    """The slow path of a key the inline check did not pass: the key if it is
    one, else a FieldError (the caller's fallback reports it at its location)."""
    if key.__class__ is not str and not isinstance(key, str):
        raise FieldError(f"Keys must be strings, got {type(key).__name__}", "dict_key_type")
    msg = _key_problem(key)
    if msg is not None:
        raise FieldError(msg, "dict_key")
    return str(key)


def _key_problem(key: str) -> str | None:
    """Why MongoDB cannot take ``key`` as a field name, or None.

    BSON writes keys as C strings, so a NUL cannot be stored at all. MongoDB
    stores names starting with ``$`` or containing ``.`` but cannot query,
    update (``$set`` reads dots as a path) or index them, and drivers read a
    ``{"$ref", "$id"}`` object back as a DBRef: refused too.
    """
    if "\x00" in key:
        return "Keys must not contain the NUL character"
    if key.startswith("$"):
        return f"Keys must not start with '$' ({key!r})"
    if "." in key:
        return f"Keys must not contain '.' ({key!r})"
    return None


class _ContainerField(BaseField):
    """What ``list[T]`` and ``dict[str, T]`` share: mutable, sized, and coerced by
    one generated expression (``coerce_expr``) over their items."""

    immutable = False
    sized = True

    def fast_guard(self, var: str, ns: Namespace, stored: bool = False) -> str | None:
        # a container's class says nothing about its items
        return None

    def guard_lines(self, var: str, ns: Namespace, fallback: str, stored: bool) -> list[str]:
        if self.has_checks:
            return [fallback]
        return self._try_lines(var, self.coerce_expr(var, ns, 0, stored), fallback)

    def item_field(self) -> BaseField:
        raise NotImplementedError

    def check_options(self, where: str) -> None:
        super().check_options(where)
        self.item_field().check_options(f"{where}[]" if isinstance(self, ListField) else f"{where}{{}}")


class ListField(_ContainerField):
    python_type = list
    json_type = "array"

    def __init__(self, item: BaseField, **options: Any) -> None:
        super().__init__(**options)
        self.item = item

    def item_field(self) -> BaseField:
        return self.item

    def coerce(self, value: Any) -> list[Any]:
        if not isinstance(value, list | tuple):
            raise FieldError("Value must be a list", "list_type")
        result: list[Any] = []
        errors: list[ErrorDetail] = []
        to_python = self.item.to_python
        for index, item in enumerate(value):
            try:
                result.append(to_python(item))
            except Exception as exc:
                errors.extend(error_details(exc, (index,)))
        if errors:
            raise ValidationError(errors)
        return result

    def coerce_expr(self, var: str, ns: Namespace, depth: int = 0, stored: bool = False) -> str:
        slow = self._register(ns, self.to_python, "c")
        if self.has_checks:
            return f"{slow}({var})"
        x = f"_i{depth}"
        item = self.item.coerce_expr(x, ns, depth + 1, stored)
        comp = f"list({var})" if item == x else f"[{item} for {x} in {var}]"
        expr = f"({comp} if {var}.__class__ is list else {slow}({var}))"
        return f"(None if {var} is None else {expr})" if self.nullable else expr

    def adopt_lines(self, var: str, ns: Namespace, fallback: str) -> list[str]:
        # The list is the caller's to give: items that are final stay where they
        # are, nested documents are adopted in place, and a list of final
        # scalars is kept as it is instead of being copied.
        if self.has_checks:
            return [fallback]
        slow = self._register(ns, self.to_python, "c")
        x = "_i0"
        item = self.item
        body: list[str]
        if isinstance(item, ModelField) and not item.has_checks:
            model, call = item.build_call(ns, adopt=True)
            test = f"{x}.__class__ is not {model}"
            if item.nullable:
                test = f"{x} is not None and {test}"
            body = [f"for _j, {x} in enumerate({var}):", f"    if {test}: {var}[_j] = {call}({x})"]
        else:
            expr = item.coerce_expr(x, ns, 1, stored=True)
            guard = item.fast_guard(x, ns, stored=True)
            if expr == x:
                body = ["pass"]
            elif guard is None:
                body = [f"{var} = [{expr} for {x} in {var}]"]
            else:
                if item.nullable:
                    guard = f"{x} is None or {guard}"
                body = [
                    f"for {x} in {var}:",
                    f"    if not ({guard}):",
                    f"        {var} = [{expr} for {x} in {var}]",
                    "        break",
                ]
        lines = [f"if {var}.__class__ is list:", *(f"    {line}" for line in body)]
        lines += ["else:", f"    {var} = {slow}({var})"]
        if self.nullable:
            lines = [f"if {var} is not None:", *(f"    {line}" for line in lines)]
        return ["try:", *(f"    {line}" for line in lines), "except Exception:", f"    {fallback}"]

    def export_value(self, value: Any, mode: ExportMode) -> Any:
        item = self.item
        return [None if v is None else item.export_value(v, mode) for v in value]

    def inline_export(self, var: str, ns: Namespace, mode: ExportMode, depth: int) -> str | None:
        x = f"_e{depth}"
        item = self.item.export_expr(x, ns, mode, depth + 1)
        return f"list({var})" if item == x else f"[{item} for {x} in {var}]"

    def json_schema(self, defs: dict[str, Any]) -> dict[str, Any]:
        schema = super().json_schema(defs)
        target = schema["anyOf"][0] if "anyOf" in schema else schema
        target["items"] = self.item.json_schema(defs)
        return schema


class DictField(_ContainerField):
    python_type = dict
    json_type = "object"

    def __init__(self, value: BaseField, **options: Any) -> None:
        super().__init__(**options)
        self.value = value

    def item_field(self) -> BaseField:
        return self.value

    def coerce(self, value: Any) -> dict[str, Any]:
        if not isinstance(value, Mapping):
            raise FieldError("Value must be an object", "dict_type")
        result: dict[str, Any] = {}
        errors: list[ErrorDetail] = []
        to_python = self.value.to_python
        for key, item in value.items():
            if not isinstance(key, str):
                errors.append(
                    {"loc": (str(key),), "msg": "Keys must be strings", "type": "dict_key_type"}
                )
                continue
            problem = _key_problem(key)
            if problem is not None:
                errors.append({"loc": (key,), "msg": problem, "type": "dict_key"})
                continue
            try:
                result[key] = to_python(item)
            except Exception as exc:
                errors.extend(error_details(exc, (key,)))
        if errors:
            raise ValidationError(errors)
        return result

    def coerce_expr(self, var: str, ns: Namespace, depth: int = 0, stored: bool = False) -> str:
        slow = self._register(ns, self.to_python, "c")
        if self.has_checks:
            return f"{slow}({var})"
        bad = self._register(ns, _bad_key, "bk")
        x, k = f"_i{depth}", f"_k{depth}"
        item = self.value.coerce_expr(x, ns, depth + 1, stored)
        # keys read from MongoDB were accepted when written (``stored``)
        test = f"{k}.__class__ is str"
        if not stored:
            test += f" and '.' not in {k} and '\\x00' not in {k} and {k}[:1] != '$'"
        key = f"({k} if {test} else {bad}({k}))"
        comp = f"{{{key}: {item} for {k}, {x} in {var}.items()}}"
        expr = f"({comp} if {var}.__class__ is dict else {slow}({var}))"
        return f"(None if {var} is None else {expr})" if self.nullable else expr

    def export_value(self, value: Any, mode: ExportMode) -> Any:
        item = self.value
        return {k: None if v is None else item.export_value(v, mode) for k, v in value.items()}

    def inline_export(self, var: str, ns: Namespace, mode: ExportMode, depth: int) -> str | None:
        x, k = f"_e{depth}", f"_k{depth}"
        item = self.value.export_expr(x, ns, mode, depth + 1)
        return f"dict({var})" if item == x else f"{{{k}: {item} for {k}, {x} in {var}.items()}}"

    def json_schema(self, defs: dict[str, Any]) -> dict[str, Any]:
        schema = super().json_schema(defs)
        target = schema["anyOf"][0] if "anyOf" in schema else schema
        target["additionalProperties"] = self.value.json_schema(defs)
        return schema


class ModelField(BaseField):
    """A nested document: a ``Model`` subclass used as an annotation."""

    json_type = "object"
    immutable = False

    def __init__(self, model: type[ModelLike], **options: Any) -> None:
        super().__init__(**options)
        self.model = model
        self.python_type = model

    def coerce(self, value: Any) -> ModelLike:
        if isinstance(value, self.model):
            return value
        if isinstance(value, Mapping):
            return self.model.from_data(value)
        raise FieldError(f"Value must be an object ({self.model.__name__})", "model_type")

    def build_call(self, ns: Namespace, adopt: bool = False) -> tuple[str, str]:
        """Names, in the generated code, of the model class and of its compiled
        builder (the adopting one with ``adopt``); through the class attribute
        while that builder is itself being compiled (a recursive model), or when
        the namespace comes without ``NESTED_BUILDERS`` (code not written by the
        compiler)."""
        model = self._register(ns, self.model, "m")
        attr, hint = ("_tbone_adopt", "a") if adopt else ("_tbone_from_data", "b")
        nested: NestedBuilders | None = ns.get(NESTED_BUILDERS)
        build = None if nested is None else nested(self.model, adopt)
        return model, f"{model}.{attr}" if build is None else self._register(ns, build, hint)

    def coerce_expr(self, var: str, ns: Namespace, depth: int = 0, stored: bool = False) -> str:
        if self.has_checks:
            return super().coerce_expr(var, ns, depth, stored)
        model, call = self.build_call(ns)
        expr = f"({var} if {var}.__class__ is {model} else {call}({var}))"
        return f"(None if {var} is None else {expr})" if self.nullable else expr

    def coerce_lines(self, var: str, ns: Namespace, fallback: str) -> list[str]:
        return self._build_lines(var, ns, fallback, adopt=False)

    def adopt_lines(self, var: str, ns: Namespace, fallback: str) -> list[str]:
        return self._build_lines(var, ns, fallback, adopt=True)

    def _build_lines(self, var: str, ns: Namespace, fallback: str, adopt: bool) -> list[str]:
        if self.has_checks:
            return [fallback]
        model, call = self.build_call(ns, adopt)
        test = f"{var}.__class__ is not {model}"
        if self.nullable:
            test = f"{var} is not None and {test}"
        return [f"if {test}:", *(f"    {line}" for line in self._try_lines(var, f"{call}({var})", fallback))]

    def export_value(self, value: Any, mode: ExportMode) -> Any:
        if mode == "native":
            return value._tbone_export_native()
        if mode == "primitive":
            return value._tbone_export_primitive()
        return value._tbone_serialize()

    def inline_export(self, var: str, ns: Namespace, mode: ExportMode, depth: int) -> str | None:
        method = {
            "native": "_tbone_export_native",
            "primitive": "_tbone_export_primitive",
            "serialize": "_tbone_serialize",
        }[mode]
        return f"{var}.{method}()"

    def json_schema(self, defs: dict[str, Any]) -> dict[str, Any]:
        name = self.model.__name__
        if name not in defs:
            defs[name] = {}  # placeholder first: recursive models terminate
            defs[name] = self.model._schema_body(defs)
        schema: dict[str, Any] = {"$ref": f"#/$defs/{name}"}
        return {"anyOf": [schema, {"type": "null"}]} if self.nullable else schema
