"""``LiveQueries``: subscriptions to a resource query, kept up to date by every write.

``{"type": "subscribe", "key": "s1", "href": "/api/notes/?room=5"}`` answers
what ``GET href`` answers this client, then sends ``enter``/``update``/
``leave`` events for every document that starts to match, changes while
matching, or stops matching (SPEC §6). Membership is the list's filter ANDed
with ``Meta.query`` and the client's read scope (SPEC §7), evaluated in
Python by ``tbone.db.matching`` on each change.

Where changes come from: every write of the persistence layer records a
``tbone.db.changes.Change`` (resource verbs, bulk writes and model methods
alike), heard through the ``changed`` signal. With a channel that crosses
processes (``MongoChannel``, ``RedisChannel``), one engine per process and
channel publishes this process's changes as records, in write order (a write
returns once its record is on the channel), and every engine, this
process's included, applies the records in the channel's order: every
process sees the changes of a document in the same order. With a
``MemoryChannel`` (or none), changes go straight to the live queries. With
a change-stream feed, MongoDB is the only source.

Consistency: a subscription is registered (and its group's membership read,
for a new group) before the initial page is read; every change processed
meanwhile is held back, one per document (the latest), and sent right after
the page. So nothing written after the page was read is missed, and nothing
in the page is followed by an older state of the same document. All changes
are processed in order by one task per engine, so per document events keep
write order.

Fan-out: changes go through an index of each group's top-level equality
terms (a change for ``room=r7`` looks at the groups on ``r7``, the groups
without such a term, and the groups the document belonged to); each group
matches once, serializes and encodes its event once, and every subscriber's
frame is that payload with its key. Events for one connection computed in one
turn of the loop go out in one write, through a ``Fanout`` that drops a
subscriber that stops reading without delaying the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
import weakref
from collections import deque
from collections.abc import Mapping
from itertools import count
from typing import Any, ClassVar
from urllib.parse import urlsplit

from tbone.db.changes import Change, changed
from tbone.db.matching import compile_filter
from tbone.dispatch import messages
from tbone.dispatch.carriers.base import Carrier
from tbone.dispatch.channels.fanout import Fanout
from tbone.dispatch.channels.mem import MemoryChannel
from tbone.dispatch.encoding import EncodedMessage, dumps
from tbone.resources.errors import HTTPError
from tbone.resources.http import Headers, Request, parse_query
from tbone.resources.live.groups import LiveGroup, Subscription
from tbone.resources.live.records import CHANGES_EVENT, ChangeRecord, record_of, record_of_feed
from tbone.resources.routing import Router

__all__ = ["MAX_SUBSCRIPTIONS", "LiveQueries", "live_queries_of"]

logger = logging.getLogger("tbone.resources.live")

#: Live subscriptions one connection may hold; one more is answered with an error.
MAX_SUBSCRIPTIONS = 256

#: Changes kept for resuming subscriptions (``"since"``), per engine.
HISTORY = 10_000

#: Seconds a collection stays recorded after its last live query ended, so a
#: client that reconnects within it can resume.
RESUME_WINDOW = 120.0

#: Longest stretch of change processing before the engine sends what it has and
#: lets the event loop serve requests (seconds).
BATCH_SECONDS = 0.02

_tokens = count()


class _Activate:
    """Queue item: send a subscription's initial page (or, resuming, the changes it
    missed since ``since``), then its held-back events."""

    __slots__ = ("message", "since", "sub")

    def __init__(self, sub: Subscription, message: dict[str, Any], since: int | None = None) -> None:
        self.sub = sub
        self.message = message
        self.since = since


class _Members:
    """Queue item: a new group's membership has been read; replay what it missed."""

    __slots__ = ("group", "members")

    def __init__(self, group: LiveGroup, members: set[Any] | None) -> None:
        self.group = group
        self.members = members


class _Resync:
    """Queue item: the feed lost its place for a collection."""

    __slots__ = ("key",)

    def __init__(self, key: tuple[str, str]) -> None:
        self.key = key


class _Sink:
    """The carrier that receives change records from the channel."""

    def __init__(self, engine: LiveQueries) -> None:
        self._engine = weakref.ref(engine)

    async def deliver(self, data: dict[str, Any]) -> bool:
        engine = self._engine()
        if engine is None:
            return False
        payload = data.get("payload")
        if isinstance(payload, dict):
            record = ChangeRecord.from_message(payload.get("data"))
            if record is not None:
                engine.push(record)
        return True


class _Watch:
    """The groups that watch one collection of one database, indexed."""

    __slots__ = ("by_term", "member_of", "unindexed")

    def __init__(self) -> None:
        self.by_term: dict[str, dict[Any, set[LiveGroup]]] = {}
        self.unindexed: set[LiveGroup] = set()
        self.member_of: dict[Any, set[LiveGroup]] = {}

    def add(self, group: LiveGroup) -> None:
        if group.index_terms:
            field, value = group.index_terms[0]
            self.by_term.setdefault(field, {}).setdefault(value, set()).add(group)
        else:
            self.unindexed.add(group)

    def remove(self, group: LiveGroup) -> None:
        if group.index_terms:
            field, value = group.index_terms[0]
            groups = self.by_term.get(field, {}).get(value)
            if groups is not None:
                groups.discard(group)
                if not groups:
                    del self.by_term[field][value]
                    if not self.by_term[field]:
                        del self.by_term[field]
        else:
            self.unindexed.discard(group)
        for pk in group.members or ():
            self.forget_member(pk, group)

    def forget_member(self, pk: Any, group: LiveGroup) -> None:
        groups = self.member_of.get(pk)
        if groups is not None:
            groups.discard(group)
            if not groups:
                del self.member_of[pk]

    def empty(self) -> bool:
        return not (self.by_term or self.unindexed)

    def candidates(self, document: Mapping[str, Any] | None, pks: list[Any]) -> set[LiveGroup]:
        found = set(self.unindexed)
        for pk in pks:
            found.update(self.member_of.get(pk, ()))
        if document is not None:
            for field, groups in self.by_term.items():
                value = document.get(field)
                values = value if isinstance(value, list) else (value,)
                for item in values:
                    try:
                        found.update(groups.get(item, ()))
                    except TypeError:  # an unhashable value matches no indexed term
                        continue
        return found


class LiveQueries:
    """The live queries of one ``WebsocketMultiplexer`` (see module doc).

    ``mount_websocket`` attaches one (``multiplexer.live``); code that drives a
    multiplexer itself attaches it with ``LiveQueries(multiplexer)``. ``close``
    ends its task and disconnects it from the ``changed`` signal.
    """

    #: One publishing engine per channel and process (see module doc).
    _publishers: ClassVar[weakref.WeakKeyDictionary[Any, LiveQueries]] = weakref.WeakKeyDictionary()

    def __init__(self, multiplexer: Any, *, max_subscriptions: int = MAX_SUBSCRIPTIONS) -> None:
        self.multiplexer = multiplexer
        self.max_subscriptions = max_subscriptions
        self.fanout = Fanout()
        self._groups: dict[tuple[Any, ...], LiveGroup] = {}
        self._watches: dict[tuple[str, str], _Watch] = {}
        self._by_carrier: dict[Carrier, dict[Any, Subscription]] = {}
        self._queue: asyncio.Queue[ChangeRecord | _Activate | _Members | _Resync] = asyncio.Queue()
        self._rereads: set[asyncio.Task[None]] = set()
        #: resuming (SPEC §11): every change processed gets a sequence number;
        #: tokens are "<epoch>.<seq>", the epoch naming this engine's history
        self.epoch = uuid.uuid4().hex[:16]
        self._seq = 0
        self._history: deque[tuple[int, ChangeRecord]] = deque(maxlen=HISTORY)
        self._floor = 0  # changes up to this one can no longer be replayed
        self._recent: dict[tuple[str, str], float] = {}
        self._task: asyncio.Task[None] | None = None
        self._sink = _Sink(self)
        self._channel: Any = None
        self._outgoing: asyncio.Queue[tuple[ChangeRecord, asyncio.Future[None]]] = asyncio.Queue()
        self._publisher: asyncio.Task[None] | None = None
        #: change records this process could not publish (lost for the others)
        self.publish_errors = 0
        #: with a change-stream feed, every change comes from MongoDB itself
        #: (writes by any process or tool); otherwise from the ``changed``
        #: signal and the channel
        self.feed: Any = getattr(multiplexer, "feed", None)
        if self.feed is not None:
            self.feed.connect(self._on_feed)
        else:
            changed.connect(self._on_change)
        multiplexer.live = self

    async def start(self) -> None:
        """Check at start-up what the changes come from: a feed raises
        ``FeedUnavailable`` here when the database has no change streams."""
        if self.feed is not None:
            await self.feed.start()

    def _attach_channel(self) -> None:
        # on the first subscription, inside the running loop (a channel's
        # subscribe may start its task): other processes' changes matter
        # only once something is watched
        channel = getattr(self.multiplexer, "channel", None)
        if self.feed is not None or self._channel is not None or channel is None:
            return
        if isinstance(channel, MemoryChannel):
            return
        self._channel = channel
        channel.subscribe(CHANGES_EVENT, self._sink)
        self._publishers.setdefault(channel, self)

    # -- the multiplexer's side ------------------------------------------------

    def subscription_count(self, carrier: Carrier | None = None) -> int:
        if carrier is not None:
            return len(self._by_carrier.get(carrier, ()))
        return sum(len(subs) for subs in self._by_carrier.values())

    async def subscribe(self, carrier: Carrier, message: Mapping[str, Any]) -> dict[str, Any] | None:
        """Serve a ``subscribe`` message with an ``href``.

        Returns a reply for the multiplexer to deliver when the subscription
        is refused, ``None`` when the engine sends the response itself (so
        that the page and the events that follow it leave in order).
        """
        key = message.get("key")
        href = message.get("href")
        if key is None or isinstance(key, bool):
            return messages.error("a live subscription needs a 'key' (a string or an integer)", None)
        if not isinstance(href, str) or not href.startswith("/"):
            return messages.error("subscribe needs an absolute 'href' (or an 'event')", key)
        subs = self._by_carrier.get(carrier, {})
        if key in subs:
            return messages.error(f"subscription key {key!r} is already in use on this connection", key)
        if len(subs) >= self.max_subscriptions:
            return messages.error(
                f"too many live subscriptions on this connection (at most {self.max_subscriptions})", key
            )
        headers = dict(getattr(carrier, "headers", None) or {})
        extra = message.get("headers")
        if extra is not None:
            if not isinstance(extra, Mapping) or not all(isinstance(k, str) for k in extra):
                return messages.error("'headers' must be an object", key)
            lowered = {k.lower(): v for k, v in headers.items()}
            lowered.update((k.lower(), str(v)) for k, v in extra.items())
            headers = lowered
        self._attach_channel()
        split = urlsplit(href)
        path = split.path
        router = self._router_for(path)
        target = None if router is None else _list_resource(router, path)
        if router is None or target is None:
            return await self._answer_get(carrier, key, href, headers, router, live_error=True)
        try:
            group = await self._group_for(target, path, split.query, headers)
        except _Refused:
            # the GET tells the client why (401, 400 with field errors, 404...)
            return await self._answer_get(carrier, key, href, headers, router, live_error=False)
        except _NotLive as exc:
            return messages.response(key, 400, {"error": str(exc)})
        token = f"live:{next(_tokens)}"
        sub = Subscription(carrier, key, group, token)
        group.subscriptions[(id(carrier), key)] = sub
        self._by_carrier.setdefault(carrier, {})[key] = sub
        self.fanout.subscribe(token, carrier)
        self._start()
        since = None
        if "since" in message:
            since = self.resumable(message.get("since"))
        if since is not None:  # resuming: the changes since the token, not a page
            reply = messages.response(key, 200, {"meta": {"resync": False}, "objects": []})
            self._queue.put_nowait(_Activate(sub, reply, since))
            return None
        status, payload = await self._get(router, href, headers)
        if status != 200:
            self._remove(sub)
            return messages.response(key, status, payload)
        if sub.pending is None:  # dropped while the page was read
            return None
        if not isinstance(payload, dict) or not isinstance(payload.get("meta"), dict):
            payload = {"meta": {}, "objects": payload}
        if "since" in message:  # the gap cannot be covered: a full page
            payload["meta"]["resync"] = True
        self._queue.put_nowait(_Activate(sub, messages.response(key, status, payload)))
        return None

    def unsubscribe(self, carrier: Carrier, key: Any) -> dict[str, Any]:
        sub = self._by_carrier.get(carrier, {}).get(key)
        if sub is None:
            return messages.error(f"no live subscription {key!r} on this connection", key)
        self._remove(sub)
        return messages.response(key, 204, None)

    def disconnect(self, carrier: Carrier) -> None:
        """End every live subscription of ``carrier`` (its socket closed)."""
        for sub in list(self._by_carrier.get(carrier, {}).values()):
            self._remove(sub)

    async def close(self) -> None:
        changed.disconnect(self._on_change)
        if self.feed is not None:
            self.feed.disconnect(self._on_feed)
        if self._channel is not None:
            self._channel.unsubscribe(CHANGES_EVENT, self._sink)
            if self._publishers.get(self._channel) is self:
                del self._publishers[self._channel]
        for carrier in list(self._by_carrier):
            self.disconnect(carrier)
        self.fanout.close()
        if self._publisher is not None:
            self._publisher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._publisher
            self._publisher = None
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    # -- changes ----------------------------------------------------------------

    def push(self, record: ChangeRecord) -> None:
        """Queue a change for the live queries (records from other processes)."""
        if self._follows((record.database, record.collection)):
            self._queue.put_nowait(record)
            self._start()

    def _follows(self, key: tuple[str, str]) -> bool:
        """Whether changes of this collection matter: watched now, or recently
        enough that a client may come back to resume."""
        if key in self._watches:
            return True
        until = self._recent.get(key)
        if until is None:
            return False
        if until < time.monotonic():
            del self._recent[key]
            return False
        return True

    def _on_feed(self, change: dict[str, Any]) -> None:
        key = (str(change.get("database")), str(change.get("collection")))
        if key not in self._watches:
            return
        if change.get("op") == "resync":
            self._queue.put_nowait(_Resync(key))
            self._start()
            return
        self.push(record_of_feed(change))

    async def _on_change(self, sender: Any, change: Change, **_: Any) -> None:
        self._attach_channel()
        channel = self._channel
        if channel is None:  # one process: straight to the live queries
            database = str(getattr(change.db, "name", ""))
            if self._follows((database, change.collection)):
                self.push(record_of(change))
            return
        # Across processes, this process's changes take the channel like every
        # other process's, and come back through it: every engine applies the
        # changes of a document in the channel's one order. The write returns
        # once its record is on the channel (a task sends the records in write
        # order), so a write made after it, anywhere, is ordered after it too.
        if self._publishers.get(channel) is self:
            sent = asyncio.get_running_loop().create_future()
            self._outgoing.put_nowait((record_of(change), sent))
            if self._publisher is None or self._publisher.done():
                loop = asyncio.get_running_loop()
                self._publisher = loop.create_task(self._publish(), name="tbone-live-publisher")
            await sent

    async def _publish(self) -> None:
        """Send this process's change records on the channel, in write order."""
        outgoing, channel = self._outgoing, self._channel
        while True:
            record, sent = await outgoing.get()
            try:
                await channel.publish(CHANGES_EVENT, record.to_message())
            except Exception:  # lost for the other processes (docs/websocket.md), not for this one
                self.publish_errors += 1
                logger.warning("live queries: a change record could not be published", exc_info=True)
                self.push(record)
            finally:
                if not sent.done():
                    sent.set_result(None)

    def _start(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run(), name="tbone-live-queries")

    async def _run(self) -> None:
        queue = self._queue
        loop = asyncio.get_running_loop()
        while True:
            items = [await queue.get()]
            while not queue.empty() and len(items) < 1024:
                items.append(queue.get_nowait())
            out: dict[Carrier, list[EncodedMessage]] = {}
            cache: dict[Any, Any] = {}
            deadline = loop.time() + BATCH_SECONDS
            for item in items:
                try:
                    if isinstance(item, ChangeRecord):
                        self._seq += 1
                        self._history.append((self._seq, item))
                        await self._apply(item, out, cache)
                    elif isinstance(item, _Members):
                        await self._members_read(item, out, cache)
                    elif isinstance(item, _Resync):
                        self._resync(item, out)
                    else:
                        await self._activate(item, out, cache)
                except Exception:  # one bad change must not end live queries
                    logger.exception("live queries: processing %r failed", item)
                if loop.time() > deadline:
                    # send what is ready and let requests run before going on
                    self._send(out)
                    out, cache = {}, {}
                    await asyncio.sleep(0)
                    deadline = loop.time() + BATCH_SECONDS
            self._send(out)

    def _send(self, out: dict[Carrier, list[EncodedMessage]]) -> None:
        if out:
            self.fanout.send_each(out.items())

    async def _apply(
        self,
        record: ChangeRecord,
        out: dict[Carrier, list[EncodedMessage]],
        cache: dict[Any, Any],
    ) -> None:
        watch = self._watches.get((record.database, record.collection))
        if watch is None:
            return
        document = record.document
        if record.by_id:  # named by _id: the primary key may be another field
            groups = self._all_groups(watch)
        else:
            groups = watch.candidates(document if not record.primitive else None, [record.pk])
        if record.primitive:  # indexed look-ups need native values: read it back per model
            models = {g.model for g in self._all_groups(watch)}
            for model in models:
                group = next(g for g in self._all_groups(watch) if g.model is model)
                _, native = group.native(record, cache)
                groups |= watch.candidates(native, [group.pk_of(record)])
        for group in groups:
            if group.members is None:
                group.buffer.append(record)
            else:
                await self._transition(group, watch, record, out, cache)

    def _all_groups(self, watch: _Watch) -> set[LiveGroup]:
        found = set(watch.unindexed)
        for by_value in watch.by_term.values():
            for groups in by_value.values():
                found |= groups
        return found

    async def _transition(
        self,
        group: LiveGroup,
        watch: _Watch,
        record: ChangeRecord,
        out: dict[Carrier, list[EncodedMessage]],
        cache: dict[Any, Any],
    ) -> None:
        members = group.members
        assert members is not None
        pk = group.pk_of(record)
        instance, document = group.native(record, cache)
        was = pk in members
        now = document is not None and group.matcher(document)
        if now:
            members.add(pk)
            watch.member_of.setdefault(pk, set()).add(group)
        elif was:
            members.discard(pk)
            watch.forget_member(pk, group)
        if not (was or now):
            return
        op = ("update" if was else "enter") if now else "leave"
        # one rendering and one encoding per change for every group that shows
        # documents alike (they differ by scope only)
        memo_key = (id(record), op, group.render_key)
        memo = cache.get(memo_key)
        if memo is None:
            memo = cache[memo_key] = await self._event(group, record, op, pk, instance, self._seq)
        payload, encoded = memo
        for sub in list(group.subscriptions.values()):
            if sub.pending is not None:
                sub.pending.pop(pk, None)  # the latest event of a document goes last
                sub.pending[pk] = (payload, encoded)
            else:
                out.setdefault(sub.carrier, []).append(sub.message(payload, encoded))

    async def _event(
        self, group: LiveGroup, record: ChangeRecord, op: str, pk: Any, instance: Any, seq: int
    ) -> tuple[dict[str, Any], bytes]:
        """The event payload of ``record`` as ``group`` shows it, and its JSON."""
        data = await group.render(instance) if op != "leave" else None
        pk_value = group.pk_field.export_value(pk, "serialize")
        payload = {"op": op, "pk": pk_value, "rev": record.rev, "data": data, "since": self.token(seq)}
        return payload, dumps(payload)

    async def _members_read(
        self, item: _Members, out: dict[Carrier, list[EncodedMessage]], cache: dict[Any, Any]
    ) -> None:
        group = item.group
        if self._groups.get(group.signature) is not group:
            return  # every subscriber left meanwhile
        watch = self._watches[(group.database, group.collection)]
        if item.members is None:  # the read failed: the group cannot be kept exact
            for sub in list(group.subscriptions.values()):
                out.setdefault(sub.carrier, []).append(
                    EncodedMessage(
                        messages.error("the live query could not be started; subscribe again", sub.key)
                    )
                )
                self._remove(sub)
            return
        group.members = item.members
        for pk in item.members:
            watch.member_of.setdefault(pk, set()).add(group)
        # one change per document, the latest: the membership read may already reflect it
        latest: dict[Any, ChangeRecord] = {}
        for record in group.buffer:
            pk = group.pk_of(record)
            latest.pop(pk, None)
            latest[pk] = record
        group.buffer = []
        for record in latest.values():
            await self._transition(group, watch, record, out, cache)

    def token(self, seq: int) -> str:
        """The resume token of "everything up to change ``seq``"."""
        return f"{self.epoch}.{seq}"

    def resumable(self, token: Any) -> int | None:
        """The sequence number a ``since`` token resumes from, or ``None`` when the
        missed changes can no longer be replayed (another process or restart, or
        older than the history kept)."""
        if not isinstance(token, str):
            return None
        epoch, _, seq = token.partition(".")
        if epoch != self.epoch or not seq.isdigit():
            return None
        number = int(seq)
        oldest = self._history[0][0] if self._history else self._seq + 1
        if number > self._seq or number < self._floor or number < oldest - 1:
            return None
        return number

    async def _activate(
        self, item: _Activate, out: dict[Carrier, list[EncodedMessage]], cache: dict[Any, Any]
    ) -> None:
        sub = item.sub
        if sub.pending is None:
            return
        pending = sub.pending
        since = item.since
        if since is not None and not self._floor <= since:
            since = None  # a resync came in meanwhile: the history is gone
        message = item.message
        if since is not None:
            # every change after the client's token, the latest per document,
            # as "enter" (it matches now) or "leave": the client upserts or drops
            group = sub.group
            replay: dict[Any, tuple[dict[str, Any], bytes]] = {}
            for seq, record in self._history:
                if seq <= since or record.database != group.database:
                    continue
                if record.collection != group.collection:
                    continue
                pk = group.pk_of(record)
                instance, document = group.native(record, cache)
                now = document is not None and group.matcher(document)
                event = await self._event(group, record, "enter" if now else "leave", pk, instance, seq)
                replay.pop(pk, None)
                replay[pk] = event
            for pk, event in pending.items():  # newer: computed from the live group
                replay.pop(pk, None)
                replay[pk] = event
            pending = replay
        message["payload"]["meta"]["since"] = self.token(self._seq)
        messages = out.setdefault(sub.carrier, [])
        messages.append(EncodedMessage(message))
        for payload, encoded in pending.values():
            messages.append(sub.message(payload, encoded))
        sub.pending = None

    # -- subscriptions -------------------------------------------------------

    def _router_for(self, path: str) -> Router | None:
        name = path.strip("/").split("/", 1)[0]
        router = self.multiplexer.routers.get(name)
        return router if isinstance(router, Router) else None

    async def _get(self, router: Router, href: str, headers: Mapping[str, str]) -> tuple[int, Any]:
        try:
            return await router.dispatch(self.multiplexer.app, "GET", href, {}, headers)
        except Exception:
            logger.exception("live queries: GET %s failed", href)
            return 500, {"error": "Internal Server Error"}

    async def _answer_get(
        self,
        carrier: Carrier,
        key: Any,
        href: str,
        headers: Mapping[str, str],
        router: Router | None,
        *,
        live_error: bool,
    ) -> dict[str, Any]:
        if router is None:
            return messages.response(key, 404, {"error": "Not Found"})
        status, payload = await self._get(router, href, headers)
        if live_error and status == 200:
            return messages.response(
                key, 400, {"error": "live queries take a list href, e.g. /api/notes/?room=5"}
            )
        if status == 200:  # the resource served the list, but not as a live query
            return messages.response(key, 400, {"error": "this resource does not support live queries"})
        return messages.response(key, status, payload)

    async def _group_for(
        self, resource_class: type[Any], path: str, query_string: str, headers: Mapping[str, str]
    ) -> LiveGroup:
        args = parse_query(query_string)  # as HTTP reads it, repeated arguments included
        request = Request(
            app=self.multiplexer.app, method="GET", path=path, args=args, headers=Headers(headers)
        )
        resource = resource_class(request, endpoint="list", base_url=path)
        meta = resource._meta
        if "get" not in meta.incoming_list or not callable(getattr(resource, "list_query", None)):
            raise _NotLive("this resource does not support live queries")
        try:
            if not await meta.authentication.is_authenticated(request):
                raise _Refused
            scope = None
            authorization = getattr(meta, "authorization", None)
            if authorization is not None:
                scope = await authorization.read_scope(request)
            query = resource.list_query()
            fields = resource.selected_fields()
            db = resource.get_db()
        except (HTTPError, ValueError) as exc:
            raise _Refused from exc
        if query.text is not None:
            raise _NotLive("full-text search (q) cannot be a live query")
        filters: dict[str, Any] = dict(query.filters)
        if scope is not None:
            filters = {"$and": [filters, dict(scope)]} if filters else dict(scope)
        model = resource.model()
        database = str(getattr(db, "name", ""))
        collection = model.get_collection_name()
        signature = (
            resource_class,
            path,
            database,
            repr(filters),
            None if fields is None else tuple(sorted(fields)),
        )
        group = self._groups.get(signature)
        if group is not None:
            # the page must be read after the membership: a document that enters
            # between the two is then an "enter", never an "update" of a document
            # the client has not seen
            await group.ready.wait()
            return group
        try:
            matcher = compile_filter(filters)
        except ValueError as exc:
            logger.error("%s: a live filter cannot be matched: %s", resource_class.__name__, exc)
            raise _NotLive("this query cannot be followed live") from exc
        group = LiveGroup(
            signature=signature,
            resource=resource,
            model=model,
            pk_field=resource.pk_field(),
            database=database,
            collection=collection,
            filters=filters,
            matcher=matcher,
            fields=fields,
        )
        self._groups[signature] = group
        if (database, collection) not in self._watches and self.feed is not None:
            self.feed.watch(database, collection)
        self._watches.setdefault((database, collection), _Watch()).add(group)
        self._start()
        if self.feed is not None:
            try:  # the stream's start point is fixed before anything is read
                await self.feed.ready(database, collection)
            except Exception:
                self._drop_group(group)
                raise
        await self._read_members(group, db)
        return group

    async def _read_members(self, group: LiveGroup, db: Any) -> None:
        """Read which documents match, after the group was registered (so that
        changes from then on are buffered) and before any page is read."""
        members: set[Any] | None
        try:
            key = group.pk_field.data_key
            cursor = group.model.get_collection(db).find(group.filters, {key: 1, "_id": 1})
            members = set()
            async for doc in cursor:
                members.add(doc.get(key))
                group.ids[doc.get("_id")] = doc.get(key)
        except Exception:
            logger.exception("live queries: reading the members of %r failed", group)
            members = None
        self._queue.put_nowait(_Members(group, members))
        group.ready.set()

    def _remove(self, sub: Subscription) -> None:
        group = sub.group
        group.subscriptions.pop((id(sub.carrier), sub.key), None)
        subs = self._by_carrier.get(sub.carrier)
        if subs is not None and subs.get(sub.key) is sub:
            del subs[sub.key]
            if not subs:
                del self._by_carrier[sub.carrier]
        self.fanout.unsubscribe(sub.token, sub.carrier)
        sub.pending = None
        if not group.subscriptions and self._groups.get(group.signature) is group:
            self._drop_group(group)

    def _drop_group(self, group: LiveGroup) -> None:
        self._groups.pop(group.signature, None)
        key = (group.database, group.collection)
        watch = self._watches.get(key)
        if watch is not None:
            watch.remove(group)
            if watch.empty():
                del self._watches[key]
                self._recent[key] = time.monotonic() + RESUME_WINDOW
                if self.feed is not None:
                    self.feed.unwatch(*key)

    def _resync(self, item: _Resync, out: dict[Carrier, list[EncodedMessage]]) -> None:
        """The feed could not resume: tell each subscriber, and read the membership
        again (changes meanwhile are buffered as for a new group)."""
        watch = self._watches.get(item.key)
        if watch is None:
            return
        self._floor = self._seq + 1  # what came before can no longer be replayed
        payload = {"op": "resync", "pk": None, "rev": None, "data": None, "since": None}
        encoded = dumps(payload)
        for group in self._all_groups(watch):
            for sub in group.subscriptions.values():
                out.setdefault(sub.carrier, []).append(sub.message(payload, encoded))
            for pk in group.members or ():
                watch.forget_member(pk, group)
            group.members = None
            group.ready.clear()
            db = group.resource.get_db()
            task = asyncio.get_running_loop().create_task(self._read_members(group, db))
            self._rereads.add(task)
            task.add_done_callback(self._rereads.discard)


class _Refused(Exception):
    """The client may not list this href (or the href is invalid): the GET says why."""


class _NotLive(Exception):
    """The list exists but cannot be followed live."""


def _list_resource(router: Router, path: str) -> type[Any] | None:
    for endpoint, resource in router.endpoints.items():
        if router.base_url(endpoint) == path:
            return resource
    return None


def live_queries_of(multiplexer: Any) -> LiveQueries:
    """The multiplexer's ``LiveQueries``, attached now if it has none (what
    ``mount_websocket`` calls on both servers)."""
    live = getattr(multiplexer, "live", None)
    if isinstance(live, LiveQueries):
        return live
    return LiveQueries(multiplexer)
