"""Realistic examples of the API's requests and answers, for the OpenAPI document (/docs).

One table, keyed by operation, applied to the document once it is built: an operation's own
example (set where the route is declared) wins. tests/test_api_examples.py checks that the
answers here carry only fields calgate's real answers have.
"""

from __future__ import annotations

import copy
from typing import Any

ACCOUNT_ID = "2a50599f78585479c7c6ac9f406bed1a"
CALENDAR_ID = "169b7131ddf9ce55c80f62c7ac624609"
EVENT_ID = "af555973d2e39a8a80bb3601e73c8913"
WEBHOOK_ID = "fff618497280651e551588c59f118cf0"
OTHER_ACCOUNT_ID = "51f0f8b0a3cd7252660af80d5fe8c7d5"

CALENDAR: dict[str, Any] = {
    "object": "Calendar",
    "id": CALENDAR_ID,
    "name": "Team calendar",
    "description": "Reviews and planning",
    "is_read_only": False,
    "is_owned_by_user": True,
    "is_default": True,
    "is_primary": True,
    "access_role": "owner",
    "background_color": "#1A73E8",
    "foreground_color": "#FFFFFF",
    "text_color": "#FFFFFF",
    "timezone": "Europe/Paris",
    "version": "3",
}

EVENT: dict[str, Any] = {
    "object": "CalendarEvent",
    "id": EVENT_ID,
    "ical_uid": f"{EVENT_ID}@calgate",
    "master_event_id": "",
    "calendar_id": CALENDAR_ID,
    "created_at": "2026-01-12T09:15:02.114Z",
    "updated_at": "2026-01-13T16:40:27.503Z",
    "title": "Weekly review",
    "body": "Numbers, then plans for the week",
    "location": "Room 9",
    "is_cancelled": False,
    "is_all_day": False,
    "is_attendees_list_hidden": False,
    "attendees": [
        {
            "email": "ada@example.org",
            "display_name": "Ada Lovelace",
            "comment": "",
            "is_organizer": False,
            "is_optional": False,
            "is_resource": False,
            "type": "required",
            "response_status": "accepted",
        }
    ],
    "start": {"date_time": "2026-01-20T14:30:00+01:00", "time_zone": "Europe/Paris"},
    "end": {"date_time": "2026-01-20T15:30:00+01:00", "time_zone": "Europe/Paris"},
    "recurrence": ["RRULE:FREQ=WEEKLY;BYDAY=TU;COUNT=10"],
    "organizer": {"email": "team@example.org", "display_name": "Team"},
    "conference": None,
    "visibility": "default",
    "transparency": "opaque",
    "event_type": "default",
    "guests_can_modify": False,
    "color": None,
    "notifications": "sent",
    "version": "2",
}

ACCOUNT: dict[str, Any] = {
    "object": "Account",
    "type": "LOCAL",
    "id": ACCOUNT_ID,
    "name": "Team",
    "created_at": "2026-01-12T09:14:40.220Z",
    "sources": [{"id": f"{ACCOUNT_ID}_CALENDAR", "status": "OK"}],
    "connection_params": {"calendar": {"email": "team@example.org"}},
}

WEBHOOK: dict[str, Any] = {
    "object": "Webhook",
    "id": WEBHOOK_ID,
    "name": "app",
    "source": "calendar_event",
    "request_url": "https://app.example.org/hooks/calgate",
    "format": "json",
    "events": ["calendar_event_created", "calendar_event_updated", "calendar_event_deleted"],
    "account_ids": [ACCOUNT_ID],
    "headers": [{"key": "X-App-Token", "value": "••••"}],
    "enabled": True,
    "created_at": "2026-01-12T09:20:11.002Z",
}

DELIVERY: dict[str, Any] = {
    "object": "WebhookDelivery",
    "id": "5b0c1d7e9f2a4c3b8e6d1f0a2b3c4d5e",
    "webhook_id": WEBHOOK_ID,
    "event": "calendar_event_updated",
    "event_id": EVENT_ID,
    "account_id": ACCOUNT_ID,
    "status": "failed",
    "attempts": 6,
    "next_attempt_at": None,
    "last_status_code": 502,
    "last_error": "HTTP 502",
    "created_at": "2026-01-13T16:40:27.611Z",
    "delivered_at": None,
}

CAPABILITIES: dict[str, Any] = {
    "object": "AccountCapabilities",
    "account_id": ACCOUNT_ID,
    "colors": "any",
    "palette": [],
    "conference_create": [],
    "conference_links": ["unknown"],
    "recurrence": "rfc5545",
    "invitations": "calgate",
    "hidden_attendees": True,
    "guests_can_modify": True,
    "calendar_management": True,
    "calendar_fields": ["background_color", "description", "name", "timezone"],
    "ics_files": True,
    "event_types": ["default"],
}

ACCOUNTS = "/api/v1/accounts"
CALENDARS = "/api/v1/calendars"
ONE_CALENDAR = "/api/v1/calendars/{calendar_id}"
EVENTS = "/api/v1/calendars/{calendar_id}/events"
ONE_EVENT = "/api/v1/calendars/{calendar_id}/events/{event_id}"
WEBHOOKS = "/api/v1/webhooks"

# (method, path) -> {"request": body example, "<status>": answer example}
EXAMPLES: dict[tuple[str, str], dict[str, Any]] = {
    ("get", ACCOUNTS): {"200": {"object": "AccountList", "items": [ACCOUNT], "cursor": None}},
    ("post", ACCOUNTS): {
        "request": {
            "provider": "LOCAL",
            "name": "Team",
            "email": "team@example.org",
            "timezone": "Europe/Paris",
        },
        "201": {"object": "AccountCreated", "account_id": ACCOUNT_ID},
    },
    ("get", f"{ACCOUNTS}/{{account_id}}"): {"200": ACCOUNT},
    ("delete", f"{ACCOUNTS}/{{account_id}}"): {"200": {"object": "AccountDeleted"}},
    ("get", f"{ACCOUNTS}/{{account_id}}/capabilities"): {"200": CAPABILITIES},
    ("post", "/api/v1/hosted/accounts/link"): {
        "request": {
            "provider": "GOOGLE_OAUTH",
            "success_redirect_url": "https://app.example.org/connected",
            "failure_redirect_url": "https://app.example.org/failed",
        },
        "200": {
            "object": "HostedAuthURL",
            "url": "https://accounts.example.org/o/oauth2/v2/auth?client_id=…&state=…",
        },
    },
    ("post", f"{CALENDARS}/free_busy"): {
        "request": {
            "start": "2026-03-23T00:00:00Z",
            "end": "2026-03-30T00:00:00Z",
            "calendars": [{"account_id": ACCOUNT_ID}, {"account_id": OTHER_ACCOUNT_ID}],
        },
        "200": {
            "object": "FreeBusy",
            "data": [
                {
                    "account_id": ACCOUNT_ID,
                    "calendar_id": CALENDAR_ID,
                    "errors": [],
                    "busy": [
                        {
                            "start": "2026-03-23T08:00:00.000Z",
                            "end": "2026-03-23T09:30:00.000Z",
                            "status": "busy",
                        }
                    ],
                },
                {
                    "account_id": OTHER_ACCOUNT_ID,
                    "calendar_id": "work",
                    "busy": [],
                    "errors": [
                        {
                            "status": 503,
                            "type": "errors/network_down",
                            "title": "Network down",
                            "detail": "the CalDAV server could not be reached",
                        }
                    ],
                },
            ],
        },
    },
    ("post", f"{CALENDARS}/availability"): {
        "request": {
            "start": "2026-03-27T00:00:00Z",
            "end": "2026-03-31T00:00:00Z",
            "duration_minutes": 60,
            "interval_minutes": 30,
            "buffer_before_minutes": 10,
            "buffer_after_minutes": 10,
            "participants": [
                {
                    "account_id": ACCOUNT_ID,
                    "working_hours": {
                        "time_zone": "Europe/Paris",
                        "days": {
                            "mon": [{"start": "09:00", "end": "17:00"}],
                            "tue": [{"start": "09:00", "end": "17:00"}],
                        },
                    },
                },
                {"account_id": OTHER_ACCOUNT_ID, "optional": True},
            ],
        },
        "200": {
            "object": "Availability",
            "errors": [],
            "slots": [
                {
                    "start": "2026-03-30T07:00:00.000Z",
                    "end": "2026-03-30T08:00:00.000Z",
                    "free": [ACCOUNT_ID, OTHER_ACCOUNT_ID],
                }
            ],
        },
    },
    ("get", CALENDARS): {
        "200": {"object": "CalendarList", "data": [CALENDAR], "next_cursor": None}
    },
    ("post", CALENDARS): {
        "request": {"name": "Side projects", "timezone": "Asia/Kolkata"},
        "201": {"object": "CalendarCreated", "calendar_id": CALENDAR_ID},
    },
    ("get", ONE_CALENDAR): {"200": CALENDAR},
    ("patch", ONE_CALENDAR): {"request": {"name": "Team calendar"}, "200": CALENDAR},
    ("delete", ONE_CALENDAR): {"200": {"object": "CalendarDeleted"}},
    ("get", EVENTS): {
        "200": {
            "object": "CalendarEventList",
            "data": [EVENT],
            "next_cursor": "eyJzIjoxNzY4OTE1ODAwMDAwMDAwLCJpIjoiYWY1NTU5In0",
        }
    },
    # The create body's example is the schema's own (calgate.api.schemas.EventCreate).
    ("post", EVENTS): {"200": {"object": "CalendarEventCreated", "event_id": EVENT_ID}},
    ("get", ONE_EVENT): {"200": EVENT},
    ("patch", ONE_EVENT): {
        "request": {"location": "Room 9"},
        "200": {"object": "CalendarEventUpdated"},
    },
    ("delete", ONE_EVENT): {"200": {"object": "CalendarEventDeleted"}},
    ("post", f"{ONE_CALENDAR}/ics"): {
        "200": {"object": "CalendarImported", "created": 12, "updated": 1, "unchanged": 40}
    },
    ("post", f"{ONE_CALENDAR}/feed"): {
        "200": {
            "object": "CalendarFeed",
            "url": "https://calgate.example.org/feeds/lfhxZENTFkcqSW2HZLkqmxVesa2-uEAVIWh0izQ.ics",
        }
    },
    ("delete", f"{ONE_CALENDAR}/feed"): {"200": {"object": "CalendarFeedDeleted"}},
    ("post", WEBHOOKS): {
        "request": {
            "source": "calendar_event",
            "request_url": "https://app.example.org/hooks/calgate",
            "name": "app",
            "events": ["calendar_event_created", "calendar_event_updated"],
            "account_ids": [ACCOUNT_ID],
            "headers": [{"key": "X-App-Token", "value": "s3cr3t"}],
        },
        "201": {
            "object": "WebhookCreated",
            "webhook_id": WEBHOOK_ID,
            "secret": "whsec_La7boF8WxepDyJJSIlx7NaIm7gVn2M2eF8OvLy693HI",
        },
    },
    ("get", WEBHOOKS): {"200": {"object": "WebhookList", "items": [WEBHOOK], "cursor": None}},
    ("get", f"{WEBHOOKS}/{{webhook_id}}"): {"200": WEBHOOK},
    ("delete", f"{WEBHOOKS}/{{webhook_id}}"): {"200": {"object": "WebhookDeleted"}},
    ("get", f"{WEBHOOKS}/{{webhook_id}}/deliveries"): {
        "200": {"object": "WebhookDeliveryList", "items": [DELIVERY], "cursor": None}
    },
    ("post", f"{WEBHOOKS}/{{webhook_id}}/deliveries/{{delivery_id}}/retry"): {
        "200": {**DELIVERY, "status": "pending", "next_attempt_at": "2026-01-13T17:02:00.000Z"}
    },
}


def apply(spec: dict[str, Any]) -> None:
    """Put each example on its operation's JSON request body and answers, unless the operation
    already has one."""
    for (method, path), examples in EXAMPLES.items():
        operation = spec.get("paths", {}).get(path, {}).get(method)
        if operation is None:
            continue
        for key, example in examples.items():
            if key == "request":
                content = operation.get("requestBody", {}).get("content", {})
            else:
                content = operation.get("responses", {}).get(key, {}).get("content", {})
            media = content.get("application/json")
            if media is not None and "example" not in media and "examples" not in media:
                media["example"] = copy.deepcopy(example)
