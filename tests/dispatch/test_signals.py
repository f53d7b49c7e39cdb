from __future__ import annotations

from typing import Any

import pytest

from tbone.dispatch import Signal


class Base:
    pass


class Child(Base):
    pass


class Other:
    pass


async def test_receivers_run_in_connection_order_sync_and_async() -> None:
    calls: list[str] = []

    async def first(sender: type, **kwargs: Any) -> str:
        calls.append("first")
        return "a"

    def second(sender: type, **kwargs: Any) -> str:
        calls.append("second")
        return "b"

    signal = Signal("s")
    signal.connect(first)
    signal.connect(second)
    results = await signal.send(Base)
    assert calls == ["first", "second"]
    assert results == [(first, "a"), (second, "b")]


async def test_receivers_get_sender_and_keyword_arguments() -> None:
    seen: list[tuple[Any, dict[str, Any]]] = []

    def receiver(sender: type, **kwargs: Any) -> None:
        seen.append((sender, kwargs))

    signal = Signal()
    signal.connect(receiver)
    await signal.send(Base, instance=1, created=True)
    assert seen == [(Base, {"instance": 1, "created": True})]


async def test_connecting_twice_is_a_no_op_and_disconnect_reports() -> None:
    calls: list[int] = []

    def receiver(sender: type, **kwargs: Any) -> None:
        calls.append(1)

    signal = Signal()
    assert signal.connect(receiver) is receiver
    signal.connect(receiver)
    await signal.send(Base)
    assert calls == [1]
    assert signal.disconnect(receiver) is True
    assert signal.disconnect(receiver) is False
    await signal.send(Base)
    assert calls == [1]
    assert signal.receivers == []


async def test_sender_filter_includes_subclasses_only() -> None:
    heard: list[Any] = []

    def receiver(sender: type, **kwargs: Any) -> None:
        heard.append(sender)

    signal = Signal()
    signal.connect(receiver, sender=Base)
    await signal.send(Base)
    await signal.send(Child)
    await signal.send(Other)
    await signal.send(None)
    assert heard == [Base, Child]
    assert signal.has_receivers(Child)
    assert not signal.has_receivers(Other)


async def test_disconnect_is_per_sender_filter() -> None:
    heard: list[Any] = []

    def receiver(sender: type, **kwargs: Any) -> None:
        heard.append(sender)

    signal = Signal()
    signal.connect(receiver, sender=Base)
    signal.connect(receiver, sender=Other)
    assert signal.disconnect(receiver, sender=Base)
    await signal.send(Base)
    await signal.send(Other)
    assert heard == [Other]


async def test_send_is_robust_and_returns_exceptions() -> None:
    calls: list[str] = []

    async def broken(sender: type, **kwargs: Any) -> None:
        raise RuntimeError("boom")

    def after(sender: type, **kwargs: Any) -> str:
        calls.append("after")
        return "ok"

    signal = Signal("robust")
    signal.connect(broken)
    signal.connect(after)
    results = await signal.send(Base)
    assert calls == ["after"]
    assert isinstance(results[0][1], RuntimeError)
    assert str(results[0][1]) == "boom"
    assert results[1] == (after, "ok")


def test_connect_rejects_non_callables() -> None:
    signal = Signal()
    with pytest.raises(TypeError):
        signal.connect("not callable")  # type: ignore[arg-type]


def test_repr_names_the_signal() -> None:
    assert "post_save" in repr(Signal("post_save"))
