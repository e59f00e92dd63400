"""Apply an attendee's mailed answer: a REPLY sets the attendee's ``response_status`` (and
emits ``calendar_event_updated`` like any change); a COUNTER is recorded as a proposal for the
organizer, never applied. Anything else is logged and dropped."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from calgate.domain.rsvp import Response
from calgate.errors import CalgateError
from calgate.inbound.message import Dropped, Itip, read, stamp
from calgate.services.events import EventService
from calgate.store import replies
from calgate.store.db import Database, now_us
from calgate.store.ids import new_id

log = logging.getLogger("calgate.inbound")


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of one message: ``accepted`` with what it did, or the reason it was
    dropped."""

    accepted: bool
    reason: str = ""
    method: str = ""
    details: dict[str, Any] = field(default_factory=dict)


class Inbound:
    def __init__(self, db: Database, events: EventService) -> None:
        self.db = db
        self.events = events

    async def receive(self, raw: bytes, tenant_id: str | None = None) -> Outcome:
        """Apply the iTIP message in ``raw`` (to ``tenant_id``'s events when given)."""
        try:
            itip = read(raw)
            outcome = await self._apply(itip, tenant_id)
        except Dropped as exc:
            log.info("inbound mail dropped: %s", exc)
            return Outcome(False, str(exc))
        log.info("inbound %s from %s applied to %s", outcome.method, itip.sender, itip.uid)
        return outcome

    async def _apply(self, itip: Itip, tenant_id: str | None) -> Outcome:
        if itip.sender != itip.attendee:
            raise Dropped(f"the sender {itip.sender} is not the ATTENDEE {itip.attendee}")
        found = await self.db.read(lambda conn: replies.invited(conn, itip.uid, tenant_id))
        if not found:
            raise Dropped(f"calgate sent no invitation for UID {itip.uid}")
        reasons = []
        for invited in found:
            event_id = invited.event_id
            if itip.recurrence_id is not None:
                event_id = f"{event_id}_{itip.recurrence_id.token}"
            try:
                details = await self._one(itip, invited, event_id)
            except (CalgateError, Dropped) as exc:
                reasons.append(exc.detail if isinstance(exc, CalgateError) else str(exc))
                continue
            details = {"account_id": invited.account_id, "event_id": event_id, **details}
            return Outcome(True, method=itip.method, details=details)
        raise Dropped("; ".join(reasons))

    async def _one(self, itip: Itip, invited: replies.Invited, event_id: str) -> dict[str, Any]:
        ids = (invited.tenant_id, invited.account_id, invited.calendar_id, event_id)
        if itip.method == "REPLY":
            if itip.status == "noreply":
                raise Dropped("the REPLY's PARTSTAT is not ACCEPTED, TENTATIVE or DECLINED")
            response = Response(itip.status, itip.comment, itip.attendee, itip.sequence)
            await self.events.respond(*ids, response)
            return {"attendee": itip.attendee, "response_status": itip.status}
        event = await self.events.get(*ids)
        if itip.sequence < event.sequence:
            raise Dropped(f"the COUNTER answers SEQUENCE {itip.sequence}, not {event.sequence}")
        if not any(a.email.lower() == itip.attendee for a in event.fields.attendees):
            raise Dropped(f"{itip.attendee} is not an attendee of this event")
        proposal = {
            "start": stamp(itip.start),
            "end": stamp(itip.end),
            "comment": itip.comment,
            "sequence": itip.sequence,
        }
        proposal_id = new_id()
        target = replies.Invited(
            invited.tenant_id, invited.account_id, invited.calendar_id, event_id
        )
        await self.db.write(
            lambda conn: replies.add_proposal(
                conn, proposal_id, target, itip.attendee, proposal, now_us()
            )
        )
        return {"attendee": itip.attendee, "proposal_id": proposal_id, **proposal}
