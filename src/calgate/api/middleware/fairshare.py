"""A fair share of the process for each API key (issue 13: no tenant's requests slow another's).

While another API key is *present* (it has a request in flight, or had one end less than
:data:`LINGER_SECONDS` ago, and it is known to be valid: below), a key may have at most
``share`` requests running at once; its further requests wait, first come first served, until
one of its own ends or no other key is present. A key alone has the whole process: the share
costs nothing to a single-tenant deployment, nor to a tenant whose requests are fewer than its
share.

A request holds its place in the share from when it starts until it is answered, for
:data:`HOLD_SECONDS` at most (its key stays present all the while, though): one that waits
longer (on a provider, on a recurrence turn) lets its key's next request in, so a key's slow
requests never stop its others for long and nothing waits on itself. The waiting costs no
work: the request has not been read further than its headers. Requests without an
``X-API-KEY`` (health, readiness, metrics, push notifications) are not held. Each key value
has its own place, known or not (an unknown key is answered 401 once its turn comes), but only
a key that has authenticated counts as present (and stops counting once it is answered 401:
revoked): requests with made-up keys cannot hold a tenant to its share.

The share is per process, as the rate limit is (``calgate.api.middleware.ratelimit``).
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict, deque

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from calgate import metrics
from calgate.api.middleware.common import limited_key

HOLD_SECONDS = 0.05
"""How long a running request holds its place in its key's share at most."""

MAX_PROVEN = 10_000
"""Valid keys remembered (least recently used forgotten first)."""

LINGER_SECONDS = 0.1
"""How long a key stays present after its last request ended: a client sending one request
after another is present between them."""


class _Lane:
    """One key's requests: how many hold a place in its share (``running``), how many were let
    in and have not ended (``inside``, past their hold too), those waiting, whether it is
    present, whether the key is known to be valid (``proven``) and so ``counted`` among those
    present."""

    __slots__ = (
        *("counted", "inside", "key", "leaving", "present", "proven", "running", "waiting"),
    )

    def __init__(self, key: bytes, proven: bool) -> None:
        self.key = key
        self.running = 0
        self.inside = 0
        self.waiting: deque[asyncio.Future[None]] = deque()
        self.present = False
        self.proven = proven
        self.counted = False
        self.leaving: asyncio.TimerHandle | None = None


class _Place:
    """A running request's place in its lane, given up once (answered, or held too long)."""

    __slots__ = ("held", "lane", "timer")

    def __init__(self, lane: _Lane) -> None:
        self.lane = lane
        self.held = True
        self.timer: asyncio.TimerHandle | None = None


class FairShare:
    def __init__(self, app: ASGIApp, *, share: int) -> None:
        self.app = app
        self.share = share
        self.lanes: dict[bytes, _Lane] = {}
        self.present = 0  # lanes present and proven
        self.queued: set[_Lane] = set()  # lanes with requests waiting
        self.proven: OrderedDict[bytes, None] = OrderedDict()  # keys that authenticated
        self.loop: asyncio.AbstractEventLoop | None = None  # whose timers and futures these are

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        key = limited_key(scope) if self.share > 0 else None
        if key is None:
            await self.app(scope, receive, send)
            return
        loop = asyncio.get_running_loop()
        if loop is not self.loop:  # a new event loop (tests): the old one's state is gone
            self.loop, self.present = loop, 0
            self.lanes.clear()
            self.queued.clear()
        lane = self.lanes.get(key)
        if lane is None:
            proven = key in self.proven
            if proven:
                self.proven.move_to_end(key)
            lane = self.lanes[key] = _Lane(key, proven)
        if lane.waiting or not self._may_run(lane):
            await self._wait(lane)
        else:
            self._run(lane)
        place = _Place(lane)
        place.timer = loop.call_later(HOLD_SECONDS, self._give_up, place)
        try:
            await self.app(scope, receive, self._proving(lane, scope, send))
        finally:
            self._give_up(place)
            self._ended(lane)

    def _proving(self, lane: _Lane, scope: Scope, send: Send) -> Send:
        """``send``, that marks ``lane``'s key valid when the request authenticated (the app
        put its tenant in the scope's state, as for the access log), and not valid when it is
        answered 401 without (a key revoked since)."""

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                if scope.get("state", {}).get("tenant") is not None:
                    self._prove(lane)
                elif message["status"] == 401:
                    self._disprove(lane)
            await send(message)

        return sending

    def _prove(self, lane: _Lane) -> None:
        if lane.proven:
            return
        lane.proven = True
        self.proven[lane.key] = None
        if len(self.proven) > MAX_PROVEN:
            self.proven.popitem(last=False)
        self._count(lane)

    def _disprove(self, lane: _Lane) -> None:
        self.proven.pop(lane.key, None)
        if lane.proven:
            lane.proven = False
            if lane.counted:
                lane.counted = False
                self.present -= 1
                self._admit()

    def waiting(self) -> int:
        """Requests waiting for their key's share (all keys)."""
        return sum(len(lane.waiting) for lane in self.queued)

    def _may_run(self, lane: _Lane) -> bool:
        others = self.present - (1 if lane.counted else 0)
        return lane.running < self.share or others == 0

    def _run(self, lane: _Lane) -> None:
        lane.running += 1
        lane.inside += 1
        if lane.leaving is not None:
            lane.leaving.cancel()
            lane.leaving = None
        lane.present = True
        self._count(lane)

    def _count(self, lane: _Lane) -> None:
        if lane.present and lane.proven and not lane.counted:
            lane.counted = True
            self.present += 1

    async def _wait(self, lane: _Lane) -> None:
        loop = asyncio.get_running_loop()
        turn: asyncio.Future[None] = loop.create_future()
        lane.waiting.append(turn)
        self.queued.add(lane)
        began = loop.time()
        try:
            await turn  # _admit() counts the request as running before it sets the result
            metrics.FAIR_SHARE_WAITS.inc()
            metrics.FAIR_SHARE_WAIT_SECONDS.inc(loop.time() - began)
        except asyncio.CancelledError:
            if turn.done() and not turn.cancelled():  # let in, then cancelled: give it back
                self._give_up(_Place(lane))
                self._ended(lane)
            else:
                if turn in lane.waiting:  # _admit() may have dropped it already
                    lane.waiting.remove(turn)
                if not lane.waiting:
                    self.queued.discard(lane)
                self._forget(lane)
            raise

    def _give_up(self, place: _Place) -> None:
        if not place.held:
            return
        place.held = False
        if place.timer is not None:
            place.timer.cancel()
        place.lane.running -= 1
        self._admit()

    def _ended(self, lane: _Lane) -> None:
        """A request let in has ended: its key stays present a while if it was its last."""
        lane.inside -= 1
        if lane.inside == 0 and lane.present and lane.leaving is None:
            lane.leaving = asyncio.get_running_loop().call_later(LINGER_SECONDS, self._leave, lane)

    def _leave(self, lane: _Lane) -> None:
        lane.leaving = None
        if lane.inside == 0 and lane.present:
            lane.present = False
            if lane.counted:
                lane.counted = False
                self.present -= 1
            self._forget(lane)
            self._admit()

    def _admit(self) -> None:
        """Let in the waiting requests that may run now, each lane's in order."""
        for lane in list(self.queued):
            while lane.waiting and self._may_run(lane):
                turn = lane.waiting.popleft()
                if turn.done():  # cancelled meanwhile
                    continue
                self._run(lane)
                turn.set_result(None)
            if not lane.waiting:
                self.queued.discard(lane)

    def _forget(self, lane: _Lane) -> None:
        idle = not lane.inside and not lane.running and not lane.waiting and not lane.present
        if idle and self.lanes.get(lane.key) is lane:
            del self.lanes[lane.key]
