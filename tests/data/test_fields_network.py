"""Email, URL and PhoneNumber: str for mypy, checked formats at run time."""

from __future__ import annotations

import subprocess
import sys
from typing import Annotated

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
        ("josé@Bücher.DE", "josé@bücher.de"),  # internationalized, normalized domain
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


@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        ("+1 (650) 253-0000", "+16502530000"),
        ("+44 20 7123 4567", "+442071234567"),
        ("+4930123456", "+4930123456"),
    ],
)
def test_phone_is_checked_by_numbering_plan_and_stored_in_e164(raw: str, e164: str) -> None:
    assert Contact.from_data({"phone": raw}).phone == e164


@pytest.mark.parametrize(
    "raw",
    ["12345", "call me", "111111111", "+1 555 123 4567", "650 253 0000", "+1 555 123 4567 8901 234"],
)
def test_phone_rejects(raw: str) -> None:
    # no region: a national number ("650 253 0000") cannot be read
    assert types(Contact, {"phone": raw}) == ["phone_number"]


class GBPhoneNumberField(PhoneNumberField):
    default_region = "GB"


class Caller(Model):
    us: Annotated[str, PhoneNumberField(region="US")] | None = None
    gb: Annotated[str, GBPhoneNumberField()] | None = None


def test_phone_region_reads_national_numbers() -> None:
    caller = Caller.from_data({"us": "(650) 253-0000", "gb": "020 7123 4567"})
    assert (caller.us, caller.gb) == ("+16502530000", "+442071234567")
    assert types(Caller, {"us": "020 7123 4567"}) == ["phone_number"]


@pytest.mark.parametrize(
    ("blocked", "field"), [("phonenumbers", "PhoneNumber"), ("email_validator", "Email")]
)
def test_a_missing_library_is_a_configuration_error_naming_the_extra(blocked: str, field: str) -> None:
    script = (
        f"import sys; sys.modules[{blocked!r}] = None\n"
        "from tbone.data import Model, ConfigurationError, Email, PhoneNumber\n"
        f"class Contact(Model):\n    value: {field} | None = None\n"
        "try:\n    Contact.from_data({})\nexcept ConfigurationError as exc:\n    print(exc)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert "tbone[formats]" in done.stdout and "Contact.value" in done.stdout


def test_schema_formats() -> None:
    props = Contact.schema()["properties"]
    assert props["email"]["anyOf"][0] == {"type": "string", "format": "email"}
    assert props["site"]["anyOf"][0]["format"] == "uri"
