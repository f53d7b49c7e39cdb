"""String fields with a format: email addresses, URLs and phone numbers.

``Email``, ``URL`` and ``PhoneNumber`` are ``Annotated[str, ...]`` aliases, so
mypy sees plain ``str`` while the metaclass picks the checking field class.
The checks are deliberately syntactic (no DNS, no carrier lookups): they catch
typos at the API boundary without network access.
"""

from __future__ import annotations

import re
from typing import Annotated, Any
from urllib.parse import urlsplit

from tbone.data.errors import FieldError
from tbone.data.fields.base import Namespace
from tbone.data.fields.scalars import StringField

__all__ = ["URL", "Email", "EmailField", "PhoneNumber", "PhoneNumberField", "URLField"]

_EMAIL_RE = re.compile(
    r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+"
    r"[A-Za-z]{2,63}"
)
_PHONE_CHARS_RE = re.compile(r"\+?[0-9 ().\-]+")


class _FormattedStringField(StringField):
    """A string whose format is checked; the check always runs (no fast path)."""

    def fast_guard(self, var: str, ns: Namespace) -> str | None:
        return None

    def coerce(self, value: Any) -> str:
        return self.check_format(super().coerce(value).strip())

    def check_format(self, value: str) -> str:
        return value


class EmailField(_FormattedStringField):
    json_format = "email"

    def check_format(self, value: str) -> str:
        if len(value) > 254 or not _EMAIL_RE.fullmatch(value):
            raise FieldError(f"Value {value!r} is not a valid email address", "email")
        local, _, domain = value.rpartition("@")
        return f"{local}@{domain.lower()}"


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
    """A phone number: digits with optional ``+``, spaces, dots, dashes and
    parentheses, 7 to 15 digits (E.164's maximum). Stored as given, trimmed."""

    json_format = "phone"

    def check_format(self, value: str) -> str:
        digits = sum(ch.isdigit() for ch in value)
        if not _PHONE_CHARS_RE.fullmatch(value) or not 7 <= digits <= 15:
            raise FieldError(f"Value {value!r} is not a valid phone number", "phone_number")
        return value


Email = Annotated[str, EmailField()]
URL = Annotated[str, URLField()]
PhoneNumber = Annotated[str, PhoneNumberField()]
