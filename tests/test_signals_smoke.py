from tbone.dispatch import Signal


async def test_signal_sync_and_async_receivers_in_order() -> None:
    calls: list[str] = []

    def first(sender: type, **kw: object) -> str:
        calls.append("first")
        return "a"

    async def second(sender: type, **kw: object) -> str:
        calls.append("second")
        return "b"

    sig = Signal("s")
    sig.connect(first)
    sig.connect(second)
    results = await sig.send(int, x=1)
    assert calls == ["first", "second"]
    assert [r for _, r in results] == ["a", "b"]


async def test_db_fixture_reaches_server(db: object) -> None:
    from typing import Any

    database: Any = db
    await database.things.insert_one({"a": 1})
    assert await database.things.count_documents({}) == 1
