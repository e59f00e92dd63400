"""Webhooks of a tenant: create (with a secret shown once), list, get, delete, and the
deliveries made to each (with a way to send a failed one again)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from sqlalchemy.engine import Connection

from calgate.domain import cursor
from calgate.errors import FeatureNotImplemented, InvalidParameters, NotFound
from calgate.outbox import Outbox
from calgate.outbox import store as outbox_store
from calgate.outbox.store import Delivery
from calgate.secrets import SecretBox
from calgate.security import validate_public_url
from calgate.store import idempotency
from calgate.store.db import Database, now_ms_us, now_us
from calgate.store.ids import new_id
from calgate.webhooks import store
from calgate.webhooks.signing import new_secret
from calgate.webhooks.store import Webhook

SOURCE = "calendar_event"
EVENTS = ("calendar_event_created", "calendar_event_updated", "calendar_event_deleted")
# Unipile's account status webhooks (``{"AccountStatus": {...}}``, calgate.webhooks.status):
# they take no ``events``; stored with this one, which their deliveries carry.
STATUS_SOURCE = "account_status"
# Sources of the Unipile API that calgate does not send: 501 rather than 400.
OTHER_SOURCES = frozenset({"messaging", "email", "email_tracking", "users"})
MAX_WEBHOOKS = 100
MAX_HEADERS = 20
MAX_ACCOUNT_IDS = 500
# Headers calgate sets itself (or that would break the request) cannot be given.
_RESERVED = frozenset(
    {
        "content-type",
        "content-length",
        "content-encoding",
        "host",
        "connection",
        "keep-alive",
        "transfer-encoding",
        "te",
        "trailer",
        "upgrade",
        "expect",
    }
)
_TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,100}$")
_BAD_VALUE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
MAX_HEADER_VALUE = 4096


@dataclass(frozen=True, slots=True)
class WebhookSpec:
    """A validated-shape request to create a webhook (the route parses the JSON)."""

    source: str
    request_url: str
    name: str = ""
    events: list[str] | None = None
    account_ids: list[str] = field(default_factory=list)
    headers: list[tuple[str, str]] = field(default_factory=list)
    api_version: str = "v1"  # v2: deliveries in Unipile v2's envelope


# Unipile v2 caps a webhook endpoint's secret at 36 characters ("whsec_" and 30: 176 bits).
V2_SECRET_BYTES = 22


@dataclass(frozen=True, slots=True)
class WebhookChanges:
    """What a PATCH of a webhook sets (``None``: left as it is)."""

    request_url: str | None = None
    name: str | None = None
    events: list[str] | None = None
    account_ids: list[str] | None = None
    enabled: bool | None = None


def _events(given: list[str] | None) -> list[str]:
    if given is None:
        return list(EVENTS)
    if not given:
        raise InvalidParameters(f"events: give at least one of {', '.join(EVENTS)}")
    for i, name in enumerate(given):
        if name not in EVENTS:
            raise InvalidParameters(
                f"events[{i}]: {name!r} is not a calendar event; use {', '.join(EVENTS)}"
            )
    return [name for name in EVENTS if name in given]


def _headers(given: list[tuple[str, str]]) -> list[dict[str, str]]:
    if len(given) > MAX_HEADERS:
        raise InvalidParameters(f"headers: at most {MAX_HEADERS}")
    seen: set[str] = set()
    out: list[dict[str, str]] = []
    for i, (key, value) in enumerate(given):
        if not _TOKEN.match(key):
            raise InvalidParameters(f"headers[{i}].key: {key!r} is not a valid header name")
        lowered = key.lower()
        if lowered in _RESERVED or lowered.startswith(("x-calgate-", "proxy-")):
            raise InvalidParameters(f"headers[{i}].key: {key} is set by calgate")
        if lowered in seen:
            raise InvalidParameters(f"headers[{i}].key: {key} is given twice")
        seen.add(lowered)
        if _BAD_VALUE.search(value):
            raise InvalidParameters(
                f"headers[{i}].value: line breaks and control characters are not allowed"
            )
        if len(value) > MAX_HEADER_VALUE:
            raise InvalidParameters(f"headers[{i}].value: longer than {MAX_HEADER_VALUE}")
        out.append({"key": key, "value": value.strip()})
    return out


class WebhookService:
    def __init__(
        self, db: Database, box: SecretBox, outbox: Outbox, *, allow_loopback: bool = False
    ) -> None:
        self.db = db
        self.box = box
        self.outbox = outbox
        self.allow_loopback = allow_loopback

    async def create(self, tenant_id: str, spec: WebhookSpec) -> tuple[Webhook, str]:
        """The new webhook and its secret (only ever shown here)."""
        if spec.source not in (SOURCE, STATUS_SOURCE):
            if spec.source in OTHER_SOURCES:
                raise FeatureNotImplemented(
                    f"source: calgate sends {SOURCE} webhooks only (and {STATUS_SOURCE} "
                    f"ones), not {spec.source}"
                )
            raise InvalidParameters(f"source: must be {SOURCE!r} or {STATUS_SOURCE!r}")
        url = validate_public_url(
            spec.request_url, allow_loopback=self.allow_loopback, field="request_url"
        )
        if spec.source == STATUS_SOURCE:
            if spec.events is not None:
                raise InvalidParameters(f"events: {STATUS_SOURCE} webhooks take no events")
            events = [STATUS_SOURCE]
        else:
            events = _events(spec.events)
        headers = _headers(spec.headers)
        if len(spec.account_ids) > MAX_ACCOUNT_IDS:
            raise InvalidParameters(f"account_ids: at most {MAX_ACCOUNT_IDS}")
        account_ids = list(dict.fromkeys(spec.account_ids))
        secret = new_secret(V2_SECRET_BYTES if spec.api_version == "v2" else 32)
        hook = Webhook(
            id=new_id(),
            tenant_id=tenant_id,
            name=spec.name,
            source=spec.source,
            request_url=url,
            events=events,
            account_ids=account_ids,
            headers=headers,
            secret=self.box.seal({"secret": secret}),
            enabled=True,
            created_at=now_ms_us(),
            api_version=spec.api_version,
        )

        answered = idempotency.answerer()

        def op(conn: Connection) -> None:
            if account_ids:
                known = store.existing_accounts(conn, tenant_id, account_ids)
                for i, account_id in enumerate(account_ids):
                    if account_id not in known:
                        raise InvalidParameters(
                            f"account_ids[{i}]: account {account_id!r} not found"
                        )
            if store.count(conn, tenant_id) >= MAX_WEBHOOKS:
                raise InvalidParameters(
                    f"webhooks: a tenant may have at most {MAX_WEBHOOKS}; delete one first"
                )
            store.insert_webhook(conn, hook)
            answered(conn, "webhook_created", hook.id, {"secret": secret, "webhook": hook})

        await self.db.write(op)
        return hook, secret

    async def update(self, tenant_id: str, webhook_id: str, changes: WebhookChanges) -> Webhook:
        """The webhook with ``changes`` set, each checked as on create."""
        hook = await self.get(tenant_id, webhook_id)
        values: dict[str, object] = {}
        if changes.request_url is not None:
            values["request_url"] = validate_public_url(
                changes.request_url, allow_loopback=self.allow_loopback, field="request_url"
            )
        if changes.name is not None:
            values["name"] = changes.name
        if changes.events is not None:
            if hook.source == STATUS_SOURCE:
                raise InvalidParameters(f"events: {STATUS_SOURCE} webhooks take no events")
            values["events"] = _events(changes.events)
        account_ids = list(dict.fromkeys(changes.account_ids or []))
        if changes.account_ids is not None:
            if len(account_ids) > MAX_ACCOUNT_IDS:
                raise InvalidParameters(f"account_ids: at most {MAX_ACCOUNT_IDS}")
            values["account_ids"] = account_ids
        if changes.enabled is not None:
            values["enabled"] = changes.enabled

        def op(conn: Connection) -> bool:
            known = store.existing_accounts(conn, tenant_id, account_ids) if account_ids else set()
            for i, account_id in enumerate(account_ids):
                if account_id not in known:
                    raise InvalidParameters(f"account_ids[{i}]: account {account_id!r} not found")
            return not values or store.update(conn, tenant_id, webhook_id, values)

        if not await self.db.write(op):
            raise NotFound(f"webhook {webhook_id!r} not found")
        return await self.get(tenant_id, webhook_id)

    def secret_of(self, hook: Webhook) -> str:
        return self.box.open(hook.secret)["secret"]

    async def list_page(
        self, tenant_id: str, *, after: str | None = None, limit: int = 100
    ) -> list[Webhook]:
        return await self.db.read(lambda c: store.list_for(c, tenant_id, after=after, limit=limit))

    async def get(self, tenant_id: str, webhook_id: str) -> Webhook:
        found = await self.db.read(lambda c: store.get(c, tenant_id, webhook_id))
        if found is None:
            raise NotFound(f"webhook {webhook_id!r} not found")
        return found

    async def delete(self, tenant_id: str, webhook_id: str) -> None:
        """Delete the webhook; its pending deliveries are dropped with it."""

        def op(conn: Connection) -> bool:
            if not store.remove(conn, tenant_id, webhook_id):
                return False
            outbox_store.drop_target(conn, "webhook", webhook_id)
            return True

        if not await self.db.write(op):
            raise NotFound(f"webhook {webhook_id!r} not found")

    async def deliveries(
        self,
        tenant_id: str,
        webhook_id: str,
        *,
        status: str | None = None,
        after: str | None = None,
        limit: int = 100,
    ) -> list[Delivery]:
        """Deliveries to a webhook, newest first (``after``: a cursor from :func:`cursor_of`)."""
        before = cursor.decode(after) if after else None
        await self.get(tenant_id, webhook_id)
        return await self.db.read(
            lambda c: outbox_store.for_target(
                c, "webhook", webhook_id, status=status, before=before, limit=limit
            )
        )

    async def redeliver(self, tenant_id: str, webhook_id: str, delivery_id: str) -> Delivery:
        """Send a delivery again (a failed one, or one the receiver lost), with fresh retries."""
        await self.get(tenant_id, webhook_id)

        def op(conn: Connection) -> Delivery | None:
            found = outbox_store.get(conn, delivery_id)
            if found is None or found.channel != "webhook" or found.target != webhook_id:
                return None
            outbox_store.redeliver(conn, delivery_id, now=now_us())
            return outbox_store.get(conn, delivery_id)

        done = await self.db.write(op)
        if done is None:
            raise NotFound(f"delivery {delivery_id!r} not found for this webhook")
        self.outbox.wake()
        return done


def cursor_of(delivery: Delivery) -> str:
    return cursor.encode(delivery.created_at, delivery.id)
