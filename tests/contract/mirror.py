"""The contract suite with reads from the sync mirror (issue 9, item 4).

A provider's mirror class subclasses its contract class and swaps the ``target`` for a
:class:`MirrorTarget`: before every read of events (``GET`` of one event, of the list, with
any filter, cursor or offset) it runs the account's sync to completion through the real
scheduler, checks that the calendar's mirror is current (so that calgate answers from it), and
sends the read twice, answered from the mirror and from the provider (the mirror's staleness
bound set to 0 for that one request); both answers must be the same, status and JSON. Every
test of the suite then runs against the answer from the mirror.
"""

from __future__ import annotations

import re
from typing import Any

import httpx

from calgate.store.db import now_us
from calgate.sync.reads import MirrorReads, mirror_current
from calgate.sync.scheduler import Scheduler
from tests.contract.suite import Target

MAX_AGE_SECONDS = 3600.0
_READ = re.compile(r"^/api/v1/calendars/(?P<calendar>[^/]+)/events(/[^/]+)?$")


class MirrorTarget(Target):
    """A :class:`Target` whose event reads come from the mirror, checked against the
    provider's answer."""

    scheduler: Scheduler
    mirror_reads = 0

    @classmethod
    async def of(cls, target: Target) -> MirrorTarget:
        mirrored = cls(target.api, target.account_id, target.calendar_id, target.caps)
        mirrored.scheduler = target.api.runtime.scheduler()
        return mirrored

    @property
    def reads(self) -> MirrorReads:
        reads = self.api.runtime.events.mirror
        assert isinstance(reads, MirrorReads)
        return reads

    async def call(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        found = _READ.match(url)
        if method != "GET" or found is None:
            return await super().call(method, url, **kwargs)
        calendar_id = found["calendar"]
        done = await self.scheduler.run_account(self.account_id)
        assert done and all(result is not None for _, result in done), done
        db, account_id, max_age = self.api.runtime.db, self.account_id, self.reads.max_age_us
        assert max_age > 0
        synced = [c for c, _ in done]
        if calendar_id in synced:
            current = await db.read(
                lambda c: mirror_current(
                    c, account_id, calendar_id, now=now_us(), max_age_us=max_age
                )
            )
            assert current, "the mirror of a calendar just synced must be current"
            self.mirror_reads += 1
        from_mirror = await super().call(method, url, **kwargs)
        self.reads.max_age_us = 0
        try:
            live = await super().call(method, url, **kwargs)
        finally:
            self.reads.max_age_us = max_age
        assert from_mirror.status_code == live.status_code, (url, from_mirror.text, live.text)
        assert _body(from_mirror) == _body(live), url
        return from_mirror


def _body(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text
