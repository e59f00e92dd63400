"""The rows behind attendees' replies: the events calgate invited attendees to (by UID), and
the COUNTER proposals received. Plain functions over a connection."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import BigInteger, Column, Index, String, Table, Text, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from calgate.store.tables import metadata

invitation_uids = Table(
    "invitation_uids",
    metadata,
    Column("account_id", String(40), primary_key=True),
    Column("event_id", String(255), primary_key=True),
    Column("tenant_id", String(40), nullable=False),
    Column("calendar_id", String(255), nullable=False),
    Column("ical_uid", String(255), nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    Index("ix_invitation_uids_uid", "ical_uid"),
)

counter_proposals = Table(
    "counter_proposals",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("tenant_id", String(40), nullable=False),
    Column("account_id", String(40), nullable=False),
    Column("calendar_id", String(255), nullable=False),
    Column("event_id", String(255), nullable=False),
    Column("attendee", String(320), nullable=False),
    Column("data", Text, nullable=False),
    Column("received_at", BigInteger, nullable=False),
    Index("ix_counter_proposals_event", "account_id", "event_id"),
)


@dataclass(frozen=True, slots=True)
class Invited:
    """An event calgate sent invitations for."""

    tenant_id: str
    account_id: str
    calendar_id: str
    event_id: str


def remember(conn: Connection, invited: Invited, ical_uid: str, now: int) -> None:
    values = {
        "tenant_id": invited.tenant_id,
        "account_id": invited.account_id,
        "calendar_id": invited.calendar_id,
        "event_id": invited.event_id,
        "ical_uid": ical_uid,
        "updated_at": now,
    }
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(invitation_uids).values(values)
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=["account_id", "event_id"],
            set_={"ical_uid": ical_uid, "calendar_id": invited.calendar_id, "updated_at": now},
        )
    )


def invited(conn: Connection, ical_uid: str, tenant_id: str | None) -> list[Invited]:
    """The events invited to under ``ical_uid`` (of ``tenant_id`` when given)."""
    u = invitation_uids
    query = select(u.c.tenant_id, u.c.account_id, u.c.calendar_id, u.c.event_id).where(
        u.c.ical_uid == ical_uid
    )
    if tenant_id is not None:
        query = query.where(u.c.tenant_id == tenant_id)
    return [Invited(*row) for row in conn.execute(query.order_by(u.c.account_id)).all()]


def add_proposal(
    conn: Connection,
    proposal_id: str,
    invited: Invited,
    attendee: str,
    data: dict[str, Any],
    now: int,
) -> None:
    conn.execute(
        counter_proposals.insert().values(
            id=proposal_id,
            tenant_id=invited.tenant_id,
            account_id=invited.account_id,
            calendar_id=invited.calendar_id,
            event_id=invited.event_id,
            attendee=attendee,
            data=orjson.dumps(data).decode(),
            received_at=now,
        )
    )


def proposals(conn: Connection, account_id: str, event_ids: list[str]) -> list[dict[str, Any]]:
    c = counter_proposals
    rows = conn.execute(
        select(c.c.id, c.c.event_id, c.c.attendee, c.c.data, c.c.received_at)
        .where(c.c.account_id == account_id, c.c.event_id.in_(event_ids))
        .order_by(c.c.received_at, c.c.id)
    ).all()
    return [
        {"id": r.id, "event_id": r.event_id, "attendee": r.attendee, "received_at": r.received_at}
        | orjson.loads(r.data)
        for r in rows
    ]
