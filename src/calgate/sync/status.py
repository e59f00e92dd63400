"""The sync state of an account's calendars, as the API (``GET /api/v1/accounts/{id}``,
field ``sync``) and ``calgate sync status`` show it."""

from __future__ import annotations

from typing import Any

from calgate.domain.times import format_utc
from calgate.store.codec import us_to_dt
from calgate.store.mirror import CalendarState


def state_to_wire(state: CalendarState, now: int) -> dict[str, Any]:
    """``status``: ``pending`` (no baseline yet), ``ok``, ``failing`` (the last run failed:
    ``last_error`` says why); ``lag_seconds``: age of the last successful sync."""
    success = state.last_success_at
    if state.last_error:
        status = "failing"
    elif state.cursor is None:
        status = "pending"
    else:
        status = "ok"
    return {
        "calendar_id": state.calendar_id,
        "status": status,
        "mode": state.mode or None,
        "last_success_at": format_utc(us_to_dt(success)) if success else None,
        "lag_seconds": round((now - success) / 1e6, 3) if success else None,
        "next_run_at": format_utc(us_to_dt(state.due_at)),
        "last_error": state.last_error or None,
        "changes_seen": state.changes_seen,
        "full_resyncs": state.full_resyncs,
    }
