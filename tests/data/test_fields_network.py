"""Email, URL and PhoneNumber: str for mypy, checked formats at run time."""

from __future__ import annotations

import pytest

from tbone.data import URL, Email, Model, PhoneNumber
from tbone.data.fields import EmailField, PhoneNumberField, URLField

from .helpers import types


class Contact(Model):
    email: Email | None = None
    site: URL | None = None
    phone: PhoneNumber | None = None


class Two(Model):
    a: Email
    b: Email | None = None


def test_field_classes() -> None:
    assert isinstance(Contact.email, EmailField)
    assert isinstance(Contact.site, URLField)
    assert isinstance(Contact.phone, PhoneNumberField)


def test_aliases_get_their_own_field_objects() -> None:
    # Email is one shared Annotated alias: options of one attribute must not leak
    assert Two.a is not Two.b
    assert Two.a.nullable is False and Two.b.nullable is True
    assert types(Two, {"a": None}) == ["none_not_allowed"]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("ada@Example.COM", "ada@example.com"),
        (" bob.smith+tag@mail.example.org ", "bob.smith+tag@mail.example.org"),
    ],
)
def test_email_accepts_and_normalizes_domain(raw: str, expected: str) -> None:
    assert Contact.from_data({"email": raw}).email == expected


@pytest.mark.parametrize("raw", ["plainaddress", "a@b", "@example.com", "a b@example.com", "a@-x.com", 3])
def test_email_rejects(raw: object) -> None:
    assert types(Contact, {"email": raw}) == ["string_type" if raw == 3 else "email"]


@pytest.mark.parametrize("raw", ["https://example.com", "http://localhost:8080/a?b=c#d"])
def test_url_accepts(raw: str) -> None:
    assert Contact.from_data({"site": raw}).site == raw


@pytest.mark.parametrize("raw", ["example.com", "ftp://example.com", "https://", "http://exa mple.com"])
def test_url_rejects(raw: str) -> None:
    assert types(Contact, {"site": raw}) == ["url"]


@pytest.mark.parametrize("raw", ["+1 (555) 123-4567", "555.123.4567", "+442071234567"])
def test_phone_accepts(raw: str) -> None:
    assert Contact.from_data({"phone": raw}).phone == raw


@pytest.mark.parametrize("raw", ["12345", "call me", "+1 555 123 4567 8901 234", "555-CALL-NOW"])
def test_phone_rejects(raw: str) -> None:
    assert types(Contact, {"phone": raw}) == ["phone_number"]


def test_schema_formats() -> None:
    props = Contact.schema()["properties"]
    assert props["email"]["anyOf"][0] == {"type": "string", "format": "email"}
    assert props["site"]["anyOf"][0]["format"] == "uri"
