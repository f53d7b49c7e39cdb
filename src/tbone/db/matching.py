"""MongoDB filters evaluated in Python, with MongoDB's semantics.

Live queries test every change against every subscription group's filter
without asking the server: ``compile_filter(filter)`` turns a filter document
into a plain function ``matcher(document) -> bool`` that agrees with what
``collection.find(filter)`` would return for that document.

>>> from tbone.db.matching import compile_filter
>>> matcher = compile_filter({"$and": [{"room": "r7"}, {"rating": {"$gte": 3}}]})
>>> matcher({"room": "r7", "rating": 4}), matcher({"room": ["r1", "r7"], "rating": [1, 5]})
(True, True)
>>> matcher({"room": "r7", "rating": "5"}), matcher({"room": "r7"})
(False, False)

Supported: equality (``{"f": v}`` and ``$eq``), ``$ne``, ``$gt``, ``$gte``,
``$lt``, ``$lte``, ``$in``, ``$nin``, ``$exists``, combined with ``$and``,
``$or`` and several keys in one document (what the HTTP list filters,
``Meta.query`` and read scopes produce). Anything else (``$regex``,
``$elemMatch``, ``$not``, ``$nor``, ``$expr``, a regular expression as an
operand, ...) raises ``ValueError`` naming it, when the filter is compiled.

The semantics are the server's (``mongo/db/matcher``), default collation:

- A dotted path reaches into embedded documents and through arrays
  (``"authors.name"`` looks at the ``name`` of every document in the
  ``authors`` array); a numeric component also indexes an array
  (``"tags.0"``). A scalar in the middle of a path makes the field missing.
- At the end of the path an array matches if any element does, or if the
  array as a whole does: ``{"tags": "a"}`` and ``{"tags": ["a", "b"]}`` both
  match ``{"tags": ["a", "b"]}``; ``{"n": {"$gt": 5}}`` matches ``[1, 9]``.
- ``$ne`` and ``$nin`` are the negations of equality and ``$in``, so they
  match documents without the field and arrays none of whose elements is
  the value. ``None`` (in equality, ``$in``, ``$gte``, ``$lte``) also matches
  a missing field.
- Comparisons happen only inside a BSON type bracket: numbers (int, float,
  ``Decimal``, ``Decimal128``, compared exactly by value), strings (by code
  point, i.e. UTF-8 bytes), documents (field by field, in order), arrays,
  binary data and UUIDs, ObjectIds, booleans, dates. ``{"n": {"$gt": 5}}``
  never matches a string and ``True`` never equals ``1``. ``NaN`` equals
  ``NaN`` and is neither greater nor less than anything.
- Dates are compared as BSON stores them: milliseconds since the epoch,
  truncated; a naive ``datetime`` is taken as UTC (pymongo's rule), so
  documents read back tz-aware, naive or not yet stored all match alike.
  A ``date`` is midnight UTC, an ``Enum`` its value, as ``tbone.db.bsonmap``
  stores them.

Compiling does all the dispatch on operators and operand types; matching a
document only walks its values: about 0.4 µs for a two-condition filter.
"""

from __future__ import annotations

import datetime as dt
import enum
import math
import operator
import re
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from typing import Any, Final
from uuid import UUID

from bson import DBRef, Decimal128, ObjectId
from bson.binary import Binary
from bson.code import Code
from bson.datetime_ms import DatetimeMS
from bson.int64 import Int64
from bson.max_key import MaxKey
from bson.min_key import MinKey
from bson.regex import Regex
from bson.timestamp import Timestamp

__all__ = ["SUPPORTED_OPERATORS", "Matcher", "bson_key", "compile_filter"]

#: A compiled filter: ``matcher(document)`` is whether the document matches.
Matcher = Callable[[Mapping[str, Any]], bool]
_Pred = Callable[[Any], bool]

#: The operators ``compile_filter`` accepts (logical ones at the top level or
#: inside ``$and``/``$or``, the others in a field's operator document).
SUPPORTED_OPERATORS: Final = frozenset(
    {"$and", "$or", "$eq", "$ne", "$gt", "$gte", "$lt", "$lte", "$in", "$nin", "$exists"}
)


class _Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "<missing>"


_MISSING: Final = _Missing()

# -- BSON type brackets and keys ---------------------------------------------------
#
# ``bson_key(value)`` is a hashable, totally ordered key: two values are equal
# in MongoDB's sense iff their keys are equal, and within one bracket (the key's
# first item, MongoDB's canonical type order) keys sort as the server sorts.

_MINKEY, _NULL, _NUM, _STR, _OBJ, _ARR, _BIN, _OID, _BOOL, _DATE, _TS, _REGEX, _CODE, _CODE_SCOPE = (
    -1, 5, 10, 15, 20, 25, 30, 35, 40, 45, 47, 50, 60, 65
)  # fmt: skip
_MAXKEY = 127
_UNKNOWN = 1000  # a value BSON cannot hold: equal only to itself

_EPOCH_AWARE: Final = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_EPOCH_NAIVE: Final = dt.datetime(1970, 1, 1)
_ONE_MS: Final = dt.timedelta(milliseconds=1)
_NAN_KEY: Final = (_NUM, 0, 0)  # NaN sorts before every other number

_Key = tuple[Any, ...]


def _dt_ms(value: dt.datetime) -> int:
    """Milliseconds since the epoch, truncated as BSON stores them (naive = UTC)."""
    if value.tzinfo is None:
        return (value - _EPOCH_NAIVE) // _ONE_MS
    return (value - _EPOCH_AWARE) // _ONE_MS


def _number_key(value: Any) -> _Key:
    return _NAN_KEY if value != value else (_NUM, 1, value)  # NaN test


def _decimal_key(value: Decimal) -> _Key:
    return _NAN_KEY if value.is_nan() else (_NUM, 1, value)


def _obj_key(value: Mapping[str, Any]) -> _Key:
    items = []
    for name, item in value.items():
        key = bson_key(item)
        items.append((key[0], name, key))  # type first, then field name, then value
    return (_OBJ, tuple(items))


def _bytes_key(value: bytes) -> _Key:
    return (_BIN, len(value), getattr(value, "subtype", 0), bytes(value))


def _code_key(value: Code) -> _Key:
    return (_CODE, str(value)) if value.scope is None else (_CODE_SCOPE, str(value), bson_key(value.scope))


def _regex_key(value: Any) -> _Key:
    flags = value.flags if isinstance(value, Regex) else Regex.from_native(value).flags
    return (_REGEX, str(value.pattern), flags)


_KEYERS: dict[type, Callable[[Any], _Key]] = {
    type(None): lambda v: (_NULL,),
    int: lambda v: (_NUM, 1, v),
    Int64: lambda v: (_NUM, 1, int(v)),
    float: _number_key,
    Decimal: _decimal_key,
    Decimal128: lambda v: _decimal_key(v.to_decimal()),
    str: lambda v: (_STR, v),
    dict: _obj_key,
    list: lambda v: (_ARR, tuple(map(bson_key, v))),
    tuple: lambda v: (_ARR, tuple(map(bson_key, v))),
    bytes: _bytes_key,
    Binary: _bytes_key,
    UUID: lambda v: (_BIN, 16, 4, v.bytes),  # the standard representation (tbone's)
    ObjectId: lambda v: (_OID, v.binary),
    bool: lambda v: (_BOOL, v),
    dt.datetime: lambda v: (_DATE, _dt_ms(v)),
    dt.date: lambda v: (_DATE, _dt_ms(dt.datetime(v.year, v.month, v.day))),
    DatetimeMS: lambda v: (_DATE, int(v)),
    dt.time: lambda v: (_STR, v.isoformat()),
    Timestamp: lambda v: (_TS, v.time, v.inc),
    DBRef: lambda v: _obj_key(v.as_doc()),
    Code: _code_key,
    Regex: _regex_key,
    re.Pattern: _regex_key,
    MinKey: lambda v: (_MINKEY,),
    MaxKey: lambda v: (_MAXKEY,),
}


def _keyer_for(cls: type) -> Callable[[Any], _Key]:
    """The keyer of a subclass (an Enum, a SON, a str subclass...), cached."""
    keyer: Callable[[Any], _Key] | None = None
    if issubclass(cls, enum.Enum):
        keyer = lambda v: bson_key(v.value)  # noqa: E731
    elif issubclass(cls, Mapping):
        keyer = _obj_key
    elif issubclass(cls, set | frozenset):  # tbone.db.bsonmap stores sets as arrays
        keyer = lambda v: (_ARR, tuple(map(bson_key, v)))  # noqa: E731
    else:
        for base in cls.__mro__[1:]:
            keyer = _KEYERS.get(base)
            if keyer is not None:
                break
    if keyer is None:
        keyer = lambda v: (_UNKNOWN, id(v))  # noqa: E731
    _KEYERS[cls] = keyer
    return keyer


def bson_key(value: Any) -> tuple[Any, ...]:
    """A hashable key of ``value``, equal for values MongoDB finds equal (``1``,
    ``1.0``, ``Decimal("1.00")``; a naive and an aware datetime of the same
    instant) and ordered as MongoDB orders them within a type bracket. Index
    live subscriptions by it: ``bson_key(True) != bson_key(1)``."""
    keyer = _KEYERS.get(type(value))
    if keyer is None:
        keyer = _keyer_for(type(value))
    return keyer(value)


# -- operands ---------------------------------------------------------------------


def _operand(value: Any, op: str) -> Any:
    """The operand in the form the predicates compare: numbers as int, float or
    Decimal (NaN as float NaN), datetimes truncated to the millisecond, enums as
    their values, documents and arrays recursively. Refuses what the matcher
    does not implement (regular expressions, MinKey/MaxKey, code)."""
    cls = type(value)
    if value is None or cls in (bool, int, float, str, ObjectId, UUID, Timestamp):
        return value
    if isinstance(value, enum.Enum):
        return _operand(value.value, op)
    if isinstance(value, Decimal128):
        value = value.to_decimal()
    if isinstance(value, Decimal):
        return math.nan if value.is_nan() else value
    if isinstance(value, int):  # Int64, other int subclasses
        return int(value)
    if isinstance(value, dt.datetime):
        return _EPOCH_AWARE + _dt_ms(value) * _ONE_MS
    if isinstance(value, DatetimeMS):
        return _EPOCH_AWARE + int(value) * _ONE_MS
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day, tzinfo=dt.UTC)
    if isinstance(value, dt.time):
        return value.isoformat()
    if isinstance(value, Regex | re.Pattern):
        raise ValueError(f"{op}: regular expressions are not supported by the matcher")
    if isinstance(value, Code):
        raise ValueError(f"{op}: JavaScript code operands are not supported by the matcher")
    if isinstance(value, str):
        return str(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, bytes):
        return value
    if isinstance(value, DBRef):
        return _operand(value.as_doc(), op)
    if isinstance(value, Mapping):
        return {str(k): _operand(v, op) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_operand(v, op) for v in value]
    raise ValueError(f"{op}: unsupported operand type {cls.__name__!r} ({value!r})")


# -- predicates on one value (arrays not expanded, never missing) ------------------

_CMP: Final[Mapping[str, Callable[[Any, Any], bool]]] = {
    "$eq": operator.eq,
    "$gt": operator.gt,
    "$gte": operator.ge,
    "$lt": operator.lt,
    "$lte": operator.le,
}


def _never(value: Any) -> bool:
    return False


def _is_none(value: Any) -> bool:
    return value is None


def _is_nan(value: Any) -> bool:
    return bson_key(value) == _NAN_KEY


def _compare_pred(op: str, x: Any) -> _Pred:
    """``pred(v)``: whether one value ``v`` satisfies ``{op: x}`` (``x`` normalized)."""
    cmp = _CMP[op]
    xk = bson_key(x)
    bracket = xk[0]

    if bracket == _NULL:
        return _never if op in ("$gt", "$lt") else _is_none
    if xk == _NAN_KEY:
        # NaN equals NaN; $lt/$gt against NaN are always false (the server special-cases it)
        return _never if op in ("$gt", "$lt") else _is_nan

    if bracket == _NUM:
        xnum = xk[2]

        def generic_number(v: Any) -> bool:
            k = bson_key(v)
            # a NaN document value never compares true with a number other than NaN
            return k[0] == _NUM and k[1] == 1 and cmp(k[2], xnum)

        if op == "$eq":

            def pred(v: Any) -> bool:
                t = type(v)
                if t is int or t is float:
                    return bool(v == xnum)
                return generic_number(v)

        else:

            def pred(v: Any) -> bool:
                t = type(v)
                if t is int or t is float:
                    return cmp(v, xnum)
                return generic_number(v)

            if type(xnum) is Decimal:  # ordering a Decimal against a float NaN raises

                def pred(v: Any) -> bool:
                    t = type(v)
                    if t is int or (t is float and v == v):
                        return cmp(v, xnum)
                    return generic_number(v)

        return pred

    def generic(v: Any) -> bool:
        k = bson_key(v)
        return k[0] == bracket and cmp(k, xk)

    if bracket == _STR:
        if op == "$eq":

            def pred(v: Any) -> bool:
                if type(v) is str:
                    return bool(v == x)
                return generic(v)

        else:

            def pred(v: Any) -> bool:
                if type(v) is str:
                    return cmp(v, x)
                return generic(v)

        return pred

    if bracket == _DATE:
        return _date_pred(op, x, generic)

    fast_type = {_OID: ObjectId, _BOOL: bool}.get(bracket)
    if fast_type is not None:
        if op == "$eq":

            def pred(v: Any) -> bool:
                if type(v) is fast_type:
                    return bool(v == x)
                return generic(v)

        else:

            def pred(v: Any) -> bool:
                if type(v) is fast_type:
                    return cmp(v, x)
                return generic(v)

        return pred
    return generic


def _date_pred(op: str, x: dt.datetime, generic: _Pred) -> _Pred:
    # ``x`` is truncated to the millisecond; a value truncates into [x, x + 1 ms)
    # exactly when it equals x in BSON, so compare datetimes with these bounds
    # instead of converting each value to milliseconds.
    try:
        lo_aware, hi_aware = x, x + _ONE_MS
    except OverflowError:
        return generic
    lo_naive, hi_naive = lo_aware.replace(tzinfo=None), hi_aware.replace(tzinfo=None)
    if op == "$eq":

        def pred(v: Any) -> bool:
            if type(v) is dt.datetime:
                if v.tzinfo is None:
                    return lo_naive <= v < hi_naive
                return lo_aware <= v < hi_aware
            return generic(v)

        return pred
    # $gt: v >= x + 1 ms, $gte: v >= x, $lt: v < x, $lte: v < x + 1 ms
    cmp: Callable[[Any, Any], bool] = operator.ge if op in ("$gt", "$gte") else operator.lt
    aware, naive = (hi_aware, hi_naive) if op in ("$gt", "$lte") else (lo_aware, lo_naive)

    def range_pred(v: Any) -> bool:
        if type(v) is dt.datetime:
            return cmp(v, naive) if v.tzinfo is None else cmp(v, aware)
        return generic(v)

    return range_pred


def _in_pred(xs: list[Any]) -> _Pred:
    keys = frozenset(map(bson_key, xs))
    strings = frozenset(x for x in xs if type(x) is str)
    numbers = frozenset(k[2] for k in keys if k[0] == _NUM and k[1] == 1)
    has_nan = _NAN_KEY in keys

    def pred(v: Any) -> bool:
        t = type(v)
        if t is str:
            return v in strings
        if t is int or t is float:
            return v in numbers if v == v else has_nan  # NaN test
        return bson_key(v) in keys

    return pred


# -- operators: (pred, matches missing, may match a whole array, negated) ---------


class _Test:
    """One operator on one path, before it is bound to the path."""

    __slots__ = ("negate", "on_missing", "pred", "whole_arrays")

    def __init__(self, pred: _Pred, on_missing: bool, whole_arrays: bool, negate: bool = False) -> None:
        self.pred = pred
        self.on_missing = on_missing  # what a missing field gives
        self.whole_arrays = whole_arrays  # False: an array value as a whole can never satisfy pred
        self.negate = negate


def _op_test(op: str, raw: Any) -> _Test:
    """The test of ``{op: raw}`` (``$exists`` has its own, without a predicate)."""
    if op in _CMP or op == "$ne":
        x = _operand(raw, op)
        pred = _compare_pred("$eq" if op == "$ne" else op, x)
        on_missing = x is None and op in ("$eq", "$ne", "$gte", "$lte")
        whole = isinstance(x, list)
        return _Test(pred, on_missing, whole, negate=op == "$ne")
    if op in ("$in", "$nin"):
        if not isinstance(raw, list | tuple | set | frozenset):
            raise ValueError(f"{op} needs an array, not {type(raw).__name__}")
        xs = [_operand(v, op) for v in raw]
        whole = any(isinstance(x, list) for x in xs)
        return _Test(_in_pred(xs), any(x is None for x in xs), whole, negate=op == "$nin")
    if op in SUPPORTED_OPERATORS:
        raise ValueError(f"{op} is not allowed in a field's operator document")
    raise ValueError(f"unsupported query operator {op!r}")


def _exists_flag(raw: Any) -> bool:
    if raw is None or isinstance(raw, bool | int | float):
        return bool(raw)
    raise ValueError(f"$exists takes a boolean, not {type(raw).__name__}")


# -- paths ------------------------------------------------------------------------


def _as_doc(value: Any) -> Mapping[str, Any] | None:
    """``value`` as an embedded document to walk into, else ``None``."""
    cls = type(value)
    if cls is dict:
        return value  # type: ignore[no-any-return]
    if cls is list or cls is tuple or cls is str or value is None:
        return None
    if isinstance(value, DBRef):
        return value.as_doc()
    if isinstance(value, Mapping):
        return value
    return None


def _index(piece: str) -> int:
    """The array position a path component names, or -1 (``"01"`` names none)."""
    if piece.isascii() and piece.isdigit() and (piece == "0" or piece[0] != "0"):
        return int(piece)
    return -1


def _collect(doc: Mapping[str, Any], parts: tuple[str, ...], i: int, out: list[Any]) -> None:
    """Append the values that ``parts[i:]`` reaches from ``doc`` to ``out``: a leaf
    array's elements then the array itself, ``_MISSING`` for a missing field
    (mongo/db/matcher/path.cpp: BSONElementIterator)."""
    last = len(parts) - 1
    while True:
        value = doc.get(parts[i], _MISSING)
        if value is _MISSING:
            out.append(_MISSING)
            return
        if i == last:
            if type(value) is list or type(value) is tuple:
                out.extend(value)
            out.append(value)
            return
        sub = _as_doc(value)
        if sub is not None:
            doc = sub
            i += 1
            continue
        if type(value) is list or type(value) is tuple:
            _collect_array(value, parts, i + 1, out)
        else:
            out.append(_MISSING)  # a scalar in the middle of the path
        return


def _collect_array(array: Iterable[Any], parts: tuple[str, ...], j: int, out: list[Any]) -> None:
    """``parts[j:]`` applied to each element of a non-leaf array: documents are
    walked into; a numeric component also picks the element at that position.
    Scalars yield nothing (not even "missing")."""
    last = len(parts) - 1
    position = _index(parts[j])
    for pos, element in enumerate(array):
        sub = _as_doc(element)
        if sub is not None:
            _collect(sub, parts, j, out)
            if pos == position:
                if j == last:
                    out.append(element)
                else:
                    _collect(sub, parts, j + 1, out)
        elif pos == position:
            if j == last:
                out.append(element)  # the element itself: a nested array is not expanded
            elif type(element) is list or type(element) is tuple:
                _collect_array(element, parts, j + 1, out)


# -- binding tests to paths -------------------------------------------------------


def _value_test(test: _Test) -> _Pred:
    """The test on a top-level field's raw value (maybe ``_MISSING``, maybe an array)."""
    pred, on_missing = test.pred, test.on_missing
    if test.whole_arrays:

        def positive(v: Any) -> bool:
            if v is _MISSING:
                return on_missing
            if type(v) is list or type(v) is tuple:
                for element in v:
                    if pred(element):
                        return True
            return pred(v)

    else:

        def positive(v: Any) -> bool:
            if v is _MISSING:
                return on_missing
            if type(v) is list or type(v) is tuple:
                for element in v:  # noqa: SIM110 - no generator per call
                    if pred(element):
                        return True
                return False
            return pred(v)

    if test.negate:
        return lambda v: not positive(v)
    return positive


def _candidates_test(test: _Test) -> Callable[[list[Any]], bool]:
    """The test on the values a dotted path collected (arrays already expanded)."""
    pred, on_missing, whole = test.pred, test.on_missing, test.whole_arrays

    def positive(values: list[Any]) -> bool:
        for v in values:
            if v is _MISSING:
                if on_missing:
                    return True
            elif (whole or not (type(v) is list or type(v) is tuple)) and pred(v):
                return True
        return False

    if test.negate:
        return lambda values: not positive(values)
    return positive


def _exists_value(want: bool) -> _Pred:
    if want:
        return lambda v: v is not _MISSING
    return lambda v: v is _MISSING


def _exists_candidates(want: bool) -> Callable[[list[Any]], bool]:
    def found(values: list[Any]) -> bool:
        for v in values:  # noqa: SIM110 - no generator per call
            if v is not _MISSING:
                return True
        return False

    if want:
        return found
    return lambda values: not found(values)


def _field_matcher(path: str, ops: list[tuple[str, Any]]) -> Matcher:
    parts = tuple(path.split("."))
    if len(parts) == 1:
        tests = [
            _exists_value(_exists_flag(raw)) if op == "$exists" else _value_test(_op_test(op, raw))
            for op, raw in ops
        ]
        if len(tests) == 1:
            (test,) = tests
            return lambda doc: test(doc.get(path, _MISSING))

        def many(doc: Mapping[str, Any]) -> bool:
            value = doc.get(path, _MISSING)
            for test in tests:  # noqa: SIM110 - no generator per call
                if not test(value):
                    return False
            return True

        return many

    list_tests = [
        _exists_candidates(_exists_flag(raw)) if op == "$exists" else _candidates_test(_op_test(op, raw))
        for op, raw in ops
    ]

    def dotted(doc: Mapping[str, Any]) -> bool:
        values: list[Any] = []
        _collect(doc, parts, 0, values)
        if not values:  # only arrays of scalars on the way: the field is missing
            values.append(_MISSING)
        for test in list_tests:  # noqa: SIM110 - no generator per call
            if not test(values):
                return False
        return True

    return dotted


# -- documents and logic ----------------------------------------------------------


def _always(doc: Mapping[str, Any]) -> bool:
    return True


def _all_of(matchers: list[Matcher]) -> Matcher:
    if not matchers:
        return _always
    if len(matchers) == 1:
        return matchers[0]
    if len(matchers) == 2:
        first, second = matchers
        return lambda doc: first(doc) and second(doc)
    every = tuple(matchers)

    def all_of(doc: Mapping[str, Any]) -> bool:
        for matcher in every:  # noqa: SIM110 - no generator per call
            if not matcher(doc):
                return False
        return True

    return all_of


def _any_of(matchers: list[Matcher]) -> Matcher:
    if len(matchers) == 1:
        return matchers[0]
    if len(matchers) == 2:
        first, second = matchers
        return lambda doc: first(doc) or second(doc)
    some = tuple(matchers)

    def any_of(doc: Mapping[str, Any]) -> bool:
        for matcher in some:  # noqa: SIM110 - no generator per call
            if matcher(doc):
                return True
        return False

    return any_of


def _clauses(op: str, value: Any) -> list[Any]:
    if not isinstance(value, list | tuple) or not value:
        raise ValueError(f"{op} needs a nonempty array of filter documents")
    return list(value)


def _is_operator_document(value: Any) -> bool:
    if not isinstance(value, Mapping) or not value:
        return False
    first = next(iter(value))
    # {"$ref": ..., "$id": ...} is a DBRef to compare with, as the server reads it
    return isinstance(first, str) and first.startswith("$") and first != "$ref"


def _conjuncts(filter: Any, where: str, matchers: list[Matcher]) -> list[Matcher]:
    """Append the matchers whose conjunction is ``filter`` (``$and`` flattened)."""
    if not isinstance(filter, Mapping):
        raise ValueError(f"{where}: a filter must be a document, not {type(filter).__name__}")
    for key, value in filter.items():
        if not isinstance(key, str):
            raise ValueError(f"filter keys must be strings, not {key!r}")
        if key == "$and":
            for clause in _clauses(key, value):
                _conjuncts(clause, key, matchers)
        elif key == "$or":
            matchers.append(_any_of([_all_of(_conjuncts(c, key, [])) for c in _clauses(key, value)]))
        elif key.startswith("$"):
            raise ValueError(f"unsupported query operator {key!r}")
        elif _is_operator_document(value):
            ops = list(value.items())
            for op, _raw in ops:
                if not (isinstance(op, str) and op.startswith("$")):
                    raise ValueError(f"unknown operator {op!r} in the conditions of {key!r}")
            matchers.append(_field_matcher(key, ops))
        else:
            matchers.append(_field_matcher(key, [("$eq", value)]))
    return matchers


def compile_filter(filter: Mapping[str, Any]) -> Matcher:
    """Compile a MongoDB ``filter`` document into ``matcher(document) -> bool``.

    ``matcher(doc)`` is true exactly when ``collection.find(filter)`` would
    return ``doc`` (see the module doc for what is supported). Raises
    ``ValueError`` naming the problem for an unsupported operator or operand.
    """
    return _all_of(_conjuncts(filter, "filter", []))
