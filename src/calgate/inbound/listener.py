"""calgate's own inbound mail listener: SMTP or LMTP (aiosmtpd) on a configured port, every
message handed to :class:`~calgate.inbound.service.Inbound`. A message is accepted (250) once
read, whatever became of it (a dropped one is logged): refusing would make the sender's server
bounce answers calgate chose not to apply."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiosmtpd.lmtp import LMTP
from aiosmtpd.smtp import SMTP

from calgate.inbound.service import Inbound

log = logging.getLogger("calgate.inbound")


class _Handler:
    def __init__(self, inbound: Inbound) -> None:
        self.inbound = inbound

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw = envelope.original_content or envelope.content
        outcome = await self.inbound.receive(raw if isinstance(raw, bytes) else raw.encode())
        return "250 OK" if outcome.accepted else "250 OK (not applied: logged)"


async def listen(
    inbound: Inbound, host: str, port: int, *, lmtp: bool = False, max_bytes: int = 1 << 20
) -> asyncio.Server:
    """Start listening; close the returned server to stop."""
    handler = _Handler(inbound)
    protocol = LMTP if lmtp else SMTP
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: protocol(handler, data_size_limit=max_bytes, hostname="calgate"), host, port
    )
    log.info("inbound %s listening on %s:%d", "LMTP" if lmtp else "SMTP", host, port)
    return server
