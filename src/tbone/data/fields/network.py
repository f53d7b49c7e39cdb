"""String fields with a format: email addresses, URLs and phone numbers.

``Email``, ``URL`` and ``PhoneNumber`` are ``Annotated[str, ...]`` aliases, so
mypy sees plain ``str`` while the metaclass picks the checking field class.
No check touches the network (no DNS, no carrier lookups): they catch typos
at the API boundary.

Email addresses and phone numbers are checked by the libraries that do it
properly, installed with the ``formats`` extra (``pip install
'tbone[formats]'``): ``email-validator`` (the one pydantic uses: RFC syntax,
internationalized domains, normalization) and ``phonenumbers`` (Google's
libphonenumber: real numbering plans, stored in E.164). A model that declares
one of these fields without the library installed fails with a
``ConfigurationError`` naming the extra when the model is first used.
"""

from __future__ import annotations

from types import ModuleType
from typing import Annotated, Any, ClassVar
from urllib.parse import urlsplit

from tbone.data.errors import ConfigurationError, FieldError
from tbone.data.fields.base import Namespace
from tbone.data.fields.scalars import StringField

email_validator: ModuleType | None
phonenumbers: ModuleType | None
try:  # optional: the ``formats`` extra
    import email_validator
except ImportError:  # pragma: no cover - exercised by a subprocess test
    email_validator = None
try:
    import phonenumbers
except ImportError:  # pragma: no cover - exercised by a subprocess test
    phonenumbers = None

__all__ = ["URL", "Email", "EmailField", "PhoneNumber", "PhoneNumberField", "URLField"]

FORMATS_EXTRA = "tbone[formats]"


def _require(module: ModuleType | None, package: str, field: str) -> ModuleType:
    if module is None:
        raise ConfigurationError(
            f"{field} needs the {package!r} package: install it with pip install '{FORMATS_EXTRA}'"
        )
    return module


class _FormattedStringField(StringField):
    """A string whose format is checked; the check always runs (no fast path)."""

    def fast_guard(self, var: str, ns: Namespace, stored: bool = False) -> str | None:
        return None

    def coerce(self, value: Any) -> str:
        return self.check_format(super().coerce(value).strip())

    def check_format(self, value: str) -> str:
        return value


class EmailField(_FormattedStringField):
    """An email address, checked and normalized by ``email-validator`` (syntax only,
    no DNS): internationalized domains are accepted, the domain is lower-cased
    and IDNA-normalized; the stored value is the normalized address."""

    json_format = "email"

    def bind(self, name: str, model_name: str) -> None:
        _require(email_validator, "email-validator", f"{model_name}.{name} (EmailField)")
        super().bind(name, model_name)

    def check_format(self, value: str) -> str:
        validator = _require(email_validator, "email-validator", "EmailField")
        try:
            checked = validator.validate_email(value, check_deliverability=False)
        except validator.EmailNotValidError as exc:
            raise FieldError(f"Value {value!r} is not a valid email address: {exc}", "email") from None
        normalized: str = checked.normalized
        return normalized


class URLField(_FormattedStringField):
    """An absolute http(s) URL (``schemes`` can widen that)."""

    json_format = "uri"
    schemes: tuple[str, ...] = ("http", "https")

    def check_format(self, value: str) -> str:
        try:
            parts = urlsplit(value)
        except ValueError:
            parts = None
        if (
            parts is None
            or parts.scheme.lower() not in self.schemes
            or not parts.netloc
            or " " in value
        ):
            raise FieldError(f"Value {value!r} is not a valid URL", "url")
        return value


class PhoneNumberField(_FormattedStringField):
    """A phone number valid in its numbering plan (``phonenumbers``), stored in E.164
    (``+14155550132``).

    A number without a leading ``+`` is read in ``region`` (an ISO 3166 code
    such as ``"US"``): ``PhoneNumberField(region="GB")`` in ``Annotated``, or
    the class attribute ``default_region`` for every field of a subclass.
    Without a region, numbers must be international (``+`` and country code).
    """

    json_format = "phone"
    default_region: ClassVar[str | None] = None

    def __init__(self, *, region: str | None = None, **options: Any) -> None:
        super().__init__(**options)
        self.region = region if region is not None else self.default_region

    def bind(self, name: str, model_name: str) -> None:
        _require(phonenumbers, "phonenumbers", f"{model_name}.{name} (PhoneNumberField)")
        super().bind(name, model_name)

    def check_format(self, value: str) -> str:
        lib = _require(phonenumbers, "phonenumbers", "PhoneNumberField")
        try:
            number = lib.parse(value, self.region)
        except lib.NumberParseException:
            number = None
        if number is None or not lib.is_valid_number(number):
            where = "" if self.region is None else f" (region {self.region})"
            raise FieldError(f"Value {value!r} is not a valid phone number{where}", "phone_number")
        e164: str = lib.format_number(number, lib.PhoneNumberFormat.E164)
        return e164


Email = Annotated[str, EmailField()]
URL = Annotated[str, URLField()]
PhoneNumber = Annotated[str, PhoneNumberField()]
