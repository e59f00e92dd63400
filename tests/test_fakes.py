"""The provider test servers themselves: routes, schema checks, OAuth, idempotency, faults."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.fakes import GoogleState, GraphState, google_app, graph_app, serve

pytestmark = pytest.mark.anyio

EVENTS = "/calendar/v3/calendars/primary/events"
PARIS = "Europe/Paris"
T10 = "2026-03-02T10:00:00"


def google_event(**extra: Any) -> dict[str, Any]:
    return {
        "summary": "Review",
        "start": {"dateTime": "2026-03-02T10:00:00", "timeZone": PARIS},
        "end": {"dateTime": "2026-03-02T11:00:00", "timeZone": PARIS},
        **extra,
    }


def graph_event(**extra: Any) -> dict[str, Any]:
    return {
        "subject": "Review",
        "start": {"dateTime": "2026-03-02T10:00:00", "timeZone": "W. Europe Standard Time"},
        "end": {"dateTime": "2026-03-02T11:00:00", "timeZone": "W. Europe Standard Time"},
        **extra,
    }


WEEKLY = {
    "pattern": {"type": "weekly", "interval": 1, "daysOfWeek": ["monday"]},
    "range": {"type": "numbered", "startDate": "2026-03-02", "numberOfOccurrences": 3},
}


@pytest.fixture
def google_state() -> GoogleState:
    return GoogleState()


@pytest.fixture
async def google(google_state: GoogleState) -> AsyncIterator[httpx.AsyncClient]:
    token = google_state.oauth.issue_access_token()
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=google_app(google_state)),
        base_url="http://google.test",
        headers={"Authorization": f"Bearer {token}"},
    ) as client:
        yield client


@pytest.fixture
def graph_state() -> GraphState:
    return GraphState()


@pytest.fixture
async def graph(graph_state: GraphState) -> AsyncIterator[httpx.AsyncClient]:
    token = graph_state.oauth.issue_access_token()
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=graph_app(graph_state)),
        base_url="http://graph.test",
        headers={"Authorization": f"Bearer {token}"},
    ) as client:
        yield client


@pytest.fixture
def google_socket(google_state: GoogleState) -> Iterator[httpx.Client]:
    token = google_state.oauth.issue_access_token()
    with (
        serve(google_app(google_state)) as url,
        httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}) as client,
    ):
        yield client


@pytest.fixture
def graph_socket(graph_state: GraphState) -> Iterator[httpx.Client]:
    token = graph_state.oauth.issue_access_token()
    with (
        serve(graph_app(graph_state)) as url,
        httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}) as client,
    ):
        yield client


def pkce() -> tuple[str, str]:
    verifier = "v" * 50
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


# --- Google ---------------------------------------------------------------------------------


async def test_google_calendars(google: httpx.AsyncClient) -> None:
    listed = (await google.get("/calendar/v3/users/me/calendarList")).json()
    assert [c["id"] for c in listed["items"]] == ["user@example.com"]
    assert listed["items"][0]["primary"] is True
    primary = (await google.get("/calendar/v3/calendars/primary")).json()
    assert primary["kind"] == "calendar#calendar" and primary["timeZone"] == PARIS
    missing = await google.get("/calendar/v3/calendars/nobody@example.com")
    assert missing.status_code == 404
    assert missing.json()["error"]["errors"][0]["reason"] == "notFound"


async def test_google_needs_a_valid_token(google: httpx.AsyncClient, google_state: GoogleState):
    bare = await google.get("/calendar/v3/calendars/primary", headers={"Authorization": ""})
    assert bare.status_code == 401
    error = bare.json()["error"]
    assert error["code"] == 401 and error["status"] == "UNAUTHENTICATED"
    assert error["errors"][0]["reason"] == "authError"
    google_state.oauth.expire_access_tokens()
    assert (await google.get("/calendar/v3/calendars/primary")).status_code == 401


async def test_google_refresh_token_grant(google: httpx.AsyncClient, google_state: GoogleState):
    oauth = google_state.oauth
    refresh = oauth.issue_refresh_token()
    form = {"grant_type": "refresh_token", "refresh_token": refresh}
    form |= {"client_id": oauth.client_id, "client_secret": oauth.client_secret}
    answer = (await google.post("/token", data=form)).json()
    assert answer["token_type"] == "Bearer" and answer["expires_in"] == 3600
    assert set(answer) == {"access_token", "expires_in", "token_type", "scope"}
    headers = {"Authorization": f"Bearer {answer['access_token']}"}
    assert (await google.get("/calendar/v3/calendars/primary", headers=headers)).status_code == 200
    wrong = await google.post("/token", data=form | {"client_secret": "nope"})
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_client"
    oauth.revoke(refresh)
    revoked = await google.post("/token", data=form)
    assert revoked.status_code == 400 and revoked.json()["error"] == "invalid_grant"


async def test_google_authorization_code_with_pkce(
    google: httpx.AsyncClient, google_state: GoogleState
) -> None:
    oauth, (verifier, challenge) = google_state.oauth, pkce()
    redirect = "http://calgate.test/oauth/callback"
    params = {"client_id": oauth.client_id, "redirect_uri": redirect, "response_type": "code"}
    params |= {"state": "s1", "code_challenge": challenge, "code_challenge_method": "S256"}
    consent = await google.get("/o/oauth2/v2/auth", params=params)
    assert consent.status_code == 302
    back = parse_qs(urlsplit(consent.headers["location"]).query)
    assert back["state"] == ["s1"]
    form = {"grant_type": "authorization_code", "code": back["code"][0], "redirect_uri": redirect}
    form |= {"client_id": oauth.client_id, "client_secret": oauth.client_secret}
    bad = await google.post("/token", data=form | {"code_verifier": "w" * 50})
    assert bad.status_code == 400 and bad.json()["error"] == "invalid_grant"
    consent = await google.get("/o/oauth2/v2/auth", params=params)
    form["code"] = parse_qs(urlsplit(consent.headers["location"]).query)["code"][0]
    good = await google.post("/token", data=form | {"code_verifier": verifier})
    assert good.status_code == 200 and good.json()["refresh_token"] in oauth.refresh_tokens
    again = await google.post("/token", data=form | {"code_verifier": verifier})
    assert again.status_code == 400, "a code is good once"
    form["code"] = oauth.issue_code(redirect, challenge)
    assert (await google.post("/token", data=form | {"code_verifier": verifier})).is_success
    assert oauth.grants == ["authorization_code"] * 4


async def test_google_insert_get_and_sendupdates(
    google: httpx.AsyncClient, google_state: GoogleState
) -> None:
    body = google_event(id="calgate0001", colorId="5", transparency="transparent")
    body |= {"htmlLink": "ignored", "attendees": [{"email": "ada@example.org", "optional": True}]}
    made = await google.post(EVENTS, params={"sendUpdates": "all"}, json=body)
    assert made.status_code == 200, made.text
    event = made.json()
    assert event["id"] == "calgate0001" and event["colorId"] == "5"
    assert event["start"] == {"dateTime": "2026-03-02T10:00:00+01:00", "timeZone": PARIS}
    assert event["htmlLink"] != "ignored" and event["status"] == "confirmed"
    assert event["attendees"][0]["responseStatus"] == "needsAction"
    assert (await google.get(f"{EVENTS}/calgate0001")).json() == event
    again = await google.post(EVENTS, json=body)
    assert again.status_code == 409
    assert again.json()["error"]["errors"][0]["reason"] == "duplicate"
    assert google_state.inserts == 1
    assert [(n.method, n.value) for n in google_state.send_updates] == [("POST", "all")]
    for bad_id in ("abc", "has-upper-X1", "wxyz12345"):
        assert (await google.post(EVENTS, json=google_event(id=bad_id))).status_code == 400


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"colour": "5"}, 'Unknown name "colour": Cannot find field.'),
        ({"start": {"dateTime": "2026-03-02T10:00:00Z", "zone": PARIS}}, "at 'resource.start'"),
        ({"attendees": [{"mail": "a@example.org"}]}, "at 'resource.attendees[0]'"),
        ({"summary": 5}, "Invalid value at 'resource.summary' (TYPE_STRING)"),
        ({"guestsCanModify": "yes"}, "(TYPE_BOOL)"),
        ({"visibility": "secret"}, "Invalid value for visibility"),
        ({"colorId": "12"}, "Invalid value for colorId"),
        ({"recurrence": ["RRULE:FREQ=DAILY"], "start": {"dateTime": "2026-03-02T10:00:00Z"}},
         "Missing time zone definition for start time."),
        ({"start": {"dateTime": "2026-03-02T10:00:00"}}, "Missing time zone definition"),
        ({"recurrence": ["RRULE:FREQ=SOMETIMES"]}, "Invalid recurrence rule."),
        ({"end": {"dateTime": "2026-03-02T09:00:00", "timeZone": PARIS}}, "time range is empty"),
    ],
)  # fmt: skip
async def test_google_rejects_what_the_discovery_document_refuses(
    google: httpx.AsyncClient, extra: dict[str, Any], message: str
) -> None:
    answer = await google.post(EVENTS, json=google_event(**extra))
    assert answer.status_code == 400
    assert message in answer.json()["error"]["message"]
    assert answer.json()["error"]["status"] == "INVALID_ARGUMENT"


async def test_google_rejects_unknown_query_parameters(google: httpx.AsyncClient) -> None:
    answer = await google.post(EVENTS, params={"notify": "true"}, json=google_event())
    assert answer.status_code == 400 and "Cannot bind query parameter" in answer.text
    answer = await google.post(EVENTS, params={"sendUpdates": "everyone"}, json=google_event())
    assert answer.status_code == 400


async def test_google_meet_creation(google: httpx.AsyncClient) -> None:
    request = {
        "createRequest": {"requestId": "r1", "conferenceSolutionKey": {"type": "hangoutsMeet"}}
    }
    body = google_event(conferenceData=request)
    plain = (await google.post(EVENTS, json=body)).json()
    assert "conferenceData" not in plain, "conferenceDataVersion=0 ignores conference data"
    made = (await google.post(EVENTS, params={"conferenceDataVersion": 1}, json=body)).json()
    uri = made["conferenceData"]["entryPoints"][0]["uri"]
    assert uri.startswith("https://meet.google.com/") and made["hangoutLink"] == uri
    assert made["conferenceData"]["createRequest"]["status"] == {"statusCode": "success"}


async def test_google_recurring_list_and_instances(google: httpx.AsyncClient) -> None:
    rule = ["RRULE:FREQ=WEEKLY;COUNT=4", "EXDATE;TZID=Europe/Paris:20260309T100000"]
    master = (await google.post(EVENTS, json=google_event(id="series01", recurrence=rule))).json()
    await google.post(EVENTS, json=google_event(id="single01", summary="One-off"))
    window = {"timeMin": "2026-03-01T00:00:00Z", "timeMax": "2026-04-01T00:00:00Z"}
    masters = (await google.get(EVENTS, params=window)).json()["items"]
    assert [e["id"] for e in masters] == ["series01", "single01"]
    expanded = await google.get(
        EVENTS, params=window | {"singleEvents": "true", "orderBy": "startTime"}
    )
    ids = [e["id"] for e in expanded.json()["items"]]
    assert ids == [
        "series01_20260302T090000Z",
        "single01",
        "series01_20260316T090000Z",
        "series01_20260323T090000Z",
    ]
    instances = (await google.get(f"{EVENTS}/series01/instances")).json()["items"]
    assert instances[1]["recurringEventId"] == "series01" and "recurrence" not in instances[1]
    assert instances[1]["start"] == {"dateTime": "2026-03-16T10:00:00+01:00", "timeZone": PARIS}
    assert (await google.get(EVENTS, params={"orderBy": "startTime"})).status_code == 400
    one = f"{EVENTS}/series01_20260316T090000Z"
    assert (await google.patch(one, json={"summary": "Moved"})).json()["summary"] == "Moved"
    assert (await google.delete(f"{EVENTS}/series01_20260323T090000Z")).status_code == 204
    instances = (await google.get(f"{EVENTS}/series01/instances")).json()["items"]
    assert [i["summary"] for i in instances] == ["Review", "Moved"]
    assert master["recurrence"] == rule


async def test_google_all_day_instance_ids(google: httpx.AsyncClient) -> None:
    body = {"summary": "Day", "start": {"date": "2026-03-02"}, "end": {"date": "2026-03-03"}}
    made = await google.post(
        EVENTS, json=body | {"id": "dated01", "recurrence": ["RRULE:FREQ=DAILY;COUNT=2"]}
    )
    assert made.status_code == 200, made.text
    items = (await google.get(f"{EVENTS}/dated01/instances")).json()["items"]
    assert [(i["id"], i["start"]) for i in items] == [
        ("dated01_20260302", {"date": "2026-03-02"}),
        ("dated01_20260303", {"date": "2026-03-03"}),
    ]


async def test_google_patch_put_delete(google: httpx.AsyncClient, google_state: GoogleState):
    await google.post(EVENTS, json=google_event(id="change01", location="Room 1"))
    patched = await google.patch(
        f"{EVENTS}/change01", params={"sendUpdates": "none"}, json={"summary": "New"}
    )
    assert patched.json()["summary"] == "New" and patched.json()["location"] == "Room 1"
    assert (await google.patch(f"{EVENTS}/change01", json={"location": 1})).status_code == 400
    replaced = (await google.put(f"{EVENTS}/change01", json=google_event(summary="Put"))).json()
    assert replaced["summary"] == "Put" and "location" not in replaced and replaced["sequence"] == 2
    assert (await google.delete(f"{EVENTS}/change01")).status_code == 204
    assert (await google.get(f"{EVENTS}/change01")).json()["status"] == "cancelled"
    assert (await google.delete(f"{EVENTS}/change01")).status_code == 410
    assert (await google.get(EVENTS)).json()["items"] == []
    shown = (await google.get(EVENTS, params={"showDeleted": "true"})).json()["items"]
    assert [e["id"] for e in shown] == ["change01"]
    assert [n.value for n in google_state.send_updates] == [None, "none", None, None]


async def test_google_pages(google: httpx.AsyncClient, google_state: GoogleState) -> None:
    for n in range(5):
        await google.post(EVENTS, json=google_event(summary=f"E{n}"))
    seen, token = [], None
    while True:
        params = {"maxResults": "2"} | ({"pageToken": token} if token else {})
        answer = (await google.get(EVENTS, params=params)).json()
        seen += [e["summary"] for e in answer["items"]]
        if "nextPageToken" not in answer:
            break
        token = answer["nextPageToken"]
    assert seen == [f"E{n}" for n in range(5)] and "nextSyncToken" in answer
    assert len(google_state.stored()) == 5


def test_google_over_a_real_socket(google_socket: httpx.Client, google_state: GoogleState):
    made = google_socket.post(EVENTS, json=google_event(id="socket01"))
    assert made.status_code == 200
    assert google_socket.get(f"{EVENTS}/socket01").json()["summary"] == "Review"
    record = google_state.requests.find("POST", EVENTS)[0]
    assert record.json["id"] == "socket01" and record.status == 200


# --- Graph ----------------------------------------------------------------------------------


async def test_graph_me_and_calendars(graph: httpx.AsyncClient, graph_state: GraphState):
    assert (await graph.get("/v1.0/me")).json()["mail"] == "user@example.com"
    calendars = (await graph.get("/v1.0/me/calendars")).json()["value"]
    assert [c["isDefaultCalendar"] for c in calendars] == [True]
    one = (await graph.get(f"/v1.0/me/calendars/{calendars[0]['id']}")).json()
    assert one["name"] == "Calendar"
    missing = await graph.get("/v1.0/me/calendars/AAMkADnope")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "ErrorItemNotFound"
    bare = await graph.get("/v1.0/me", headers={"Authorization": ""})
    assert bare.status_code == 401
    assert bare.json()["error"]["code"] == "InvalidAuthenticationToken"


async def test_graph_oauth_with_pkce(graph: httpx.AsyncClient, graph_state: GraphState) -> None:
    oauth, (verifier, challenge) = graph_state.oauth, pkce()
    redirect = "http://calgate.test/oauth/callback"
    params = {"client_id": oauth.client_id, "redirect_uri": redirect, "response_type": "code"}
    params |= {"code_challenge": challenge, "code_challenge_method": "S256", "state": "s2"}
    consent = await graph.get("/common/oauth2/v2.0/authorize", params=params)
    code = parse_qs(urlsplit(consent.headers["location"]).query)["code"][0]
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect}
    form |= {"client_id": oauth.client_id, "client_secret": oauth.client_secret}
    missing = await graph.post("/common/oauth2/v2.0/token", data=form)
    assert missing.status_code == 400 and missing.json()["error"] == "invalid_grant"
    consent = await graph.get("/common/oauth2/v2.0/authorize", params=params)
    form["code"] = parse_qs(urlsplit(consent.headers["location"]).query)["code"][0]
    first = (
        await graph.post("/common/oauth2/v2.0/token", data=form | {"code_verifier": verifier})
    ).json()
    refresh = {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}
    refresh |= {"client_id": oauth.client_id, "client_secret": oauth.client_secret}
    second = (await graph.post("/tenant-1/oauth2/v2.0/token", data=refresh)).json()
    assert second["refresh_token"] != first["refresh_token"], "Graph rotates refresh tokens"
    stale = await graph.post("/tenant-1/oauth2/v2.0/token", data=refresh)
    assert stale.json()["error"] == "invalid_grant"


async def test_graph_create_teams_and_transaction_id(
    graph: httpx.AsyncClient, graph_state: GraphState
) -> None:
    url = f"/v1.0/me/calendars/{graph_state.default_calendar}/events"
    body = graph_event(isOnlineMeeting=True, onlineMeetingProvider="teamsForBusiness")
    body |= {"transactionId": "tx-1", "attendees": [{"emailAddress": {"address": "a@example.org"}}]}
    first = await graph.post(url, json=body)
    assert first.status_code == 201, first.text
    event = first.json()
    assert event["onlineMeeting"]["joinUrl"].startswith(
        "https://teams.microsoft.com/l/meetup-join/"
    )
    assert event["start"] == {
        "dateTime": "2026-03-02T10:00:00.0000000",
        "timeZone": "W. Europe Standard Time",
    }
    assert event["attendees"][0]["type"] == "required"
    retry = await graph.post(url, json=body)
    assert retry.status_code == 201 and retry.json()["id"] == event["id"]
    assert graph_state.creates == 1 and len(graph_state.stored()) == 1
    fetched = (await graph.get(f"/v1.0/me/events/{event['id']}")).json()
    assert fetched["start"] == {"dateTime": "2026-03-02T09:00:00.0000000", "timeZone": "UTC"}
    via_calendar = await graph.get(
        f"{url}/{event['id']}", headers={"Prefer": 'outlook.timezone="Europe/Paris"'}
    )
    assert via_calendar.json()["start"]["dateTime"] == "2026-03-02T10:00:00.0000000"


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"colour": "red"}, "property 'colour' does not exist on type 'microsoft.graph.event'"),
        ({"location": {"displayName": "A", "room": 1}}, "'room' does not exist on type"),
        ({"recurrence": {"pattern": {"every": 2}}}, "microsoft.graph.recurrencePattern"),
        ({"showAs": "away"}, "microsoft.graph.freeBusyStatus"),
        ({"sensitivity": "secret"}, "microsoft.graph.sensitivity"),
        ({"attendees": [{"type": "vip"}]}, "microsoft.graph.attendeeType"),
        ({"subject": 5}, "Edm.String"),
        ({"isAllDay": "yes"}, "Edm.Boolean"),
        ({"body": "text"}, "'StartObject'"),
    ],
)
async def test_graph_rejects_what_the_sdk_models_refuse(
    graph: httpx.AsyncClient, extra: dict[str, Any], message: str
) -> None:
    answer = await graph.post("/v1.0/me/events", json=graph_event(**extra))
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "RequestBodyRead"
    assert message in answer.json()["error"]["message"]


@pytest.mark.parametrize(
    ("extra", "code"),
    [
        ({"start": {"dateTime": T10, "timeZone": "Mars/Olympus"}}, "TimeZoneNotSupportedException"),
        ({"start": {"dateTime": T10 + "+01:00", "timeZone": "UTC"}}, "ErrorInvalidRequest"),
        ({"isAllDay": True}, "ErrorInvalidRequest"),
        (
            {"recurrence": {"pattern": {"type": "weekly"}, "range": WEEKLY["range"]}},
            "ErrorInvalidRequest",
        ),
    ],
)
async def test_graph_semantic_checks(graph: httpx.AsyncClient, extra: dict, code: str) -> None:
    answer = await graph.post("/v1.0/me/events", json=graph_event(**extra))
    assert answer.status_code == 400 and answer.json()["error"]["code"] == code


async def test_graph_series_view_and_instances(graph: httpx.AsyncClient) -> None:
    master = (await graph.post("/v1.0/me/events", json=graph_event(recurrence=WEEKLY))).json()
    assert master["type"] == "seriesMaster"
    await graph.post("/v1.0/me/events", json=graph_event(subject="Single"))
    window = {"startDateTime": "2026-03-01T00:00:00Z", "endDateTime": "2026-04-01T00:00:00Z"}
    prefer = {"Prefer": 'outlook.timezone="Pacific Standard Time", odata.maxpagesize=2'}
    page = await graph.get("/v1.0/me/calendarView", params=window, headers=prefer)
    assert page.headers["Preference-Applied"] == 'outlook.timezone="Pacific Standard Time"'
    first = page.json()["value"]
    assert [e["type"] for e in first] == ["occurrence", "singleInstance"]
    assert first[0]["start"] == {
        "dateTime": "2026-03-02T01:00:00.0000000",
        "timeZone": "Pacific Standard Time",
    }
    rest = (await graph.get(page.json()["@odata.nextLink"])).json()
    assert len(rest["value"]) == 2 and "@odata.nextLink" not in rest
    assert (await graph.get("/v1.0/me/calendarView")).json()["error"][
        "code"
    ] == "ErrorInvalidParameter"
    listed = (await graph.get("/v1.0/me/events")).json()["value"]
    assert sorted(e["type"] for e in listed) == ["seriesMaster", "singleInstance"]
    url = f"/v1.0/me/events/{master['id']}/instances"
    occurrences = (await graph.get(url, params=window)).json()["value"]
    assert [o["seriesMasterId"] for o in occurrences] == [master["id"]] * 3
    assert (await graph.delete(f"/v1.0/me/events/{occurrences[1]['id']}")).status_code == 204
    changed = await graph.patch(
        f"/v1.0/me/events/{occurrences[2]['id']}", json={"subject": "Moved"}
    )
    assert changed.json()["type"] == "exception"
    after = (await graph.get(url, params=window)).json()["value"]
    assert [o["subject"] for o in after] == ["Review", "Moved"]


async def test_graph_patch_and_delete(graph: httpx.AsyncClient, graph_state: GraphState) -> None:
    event = (await graph.post("/v1.0/me/events", json=graph_event())).json()
    url = f"/v1.0/me/events/{event['id']}"
    patched = await graph.patch(url, json={"subject": "New", "showAs": "free"})
    assert patched.json()["subject"] == "New" and patched.json()["showAs"] == "free"
    assert (await graph.patch(url, json={"showAs": "gone"})).status_code == 400
    assert (await graph.delete(url)).status_code == 204
    assert (await graph.get(url)).status_code == 404
    assert graph_state.stored() == []


def test_graph_over_a_real_socket(graph_socket: httpx.Client, graph_state: GraphState) -> None:
    made = graph_socket.post("/v1.0/me/events", json=graph_event(transactionId="tx-s"))
    assert made.status_code == 201
    assert graph_socket.post("/v1.0/me/events", json=graph_event(foo=1)).status_code == 400
    records = graph_state.requests.find("POST", "/v1.0/me/events")
    assert [r.status for r in records] == [201, 400]
    assert records[0].json["transactionId"] == "tx-s"


# --- Faults and the request log ----------------------------------------------------------------


async def test_google_fault_shapes(google: httpx.AsyncClient, google_state: GoogleState) -> None:
    faults = google_state.faults
    faults.add("/calendar/v3", status=429, headers={"Retry-After": "1"})
    faults.add("/calendar/v3", status=403, reason="quotaExceeded")
    faults.add("/calendar/v3", status=503, method="GET", times=2)
    limited = await google.get("/calendar/v3/calendars/primary")
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "1"
    assert limited.json()["error"]["errors"][0]["reason"] == "rateLimitExceeded"
    quota = (await google.get("/calendar/v3/calendars/primary")).json()["error"]
    assert quota["code"] == 403 and quota["errors"][0] == {
        "domain": "usageLimits",
        "reason": "quotaExceeded",
        "message": "Calendar usage limits exceeded.",
    }
    assert (await google.post(EVENTS, json=google_event())).status_code == 200, "GET only"
    assert [(await google.get(EVENTS)).status_code for _ in range(3)] == [503, 503, 200]
    assert [f.hits for f in faults] == [1, 1, 2]
    log = google_state.requests
    assert [r.status for r in log] == [429, 403, 200, 503, 503, 200]
    assert log[2].json["summary"] == "Review" and log[2].query == {}


async def test_graph_fault_shapes(graph: httpx.AsyncClient, graph_state: GraphState) -> None:
    graph_state.faults.add("/v1.0/me", status=401)
    graph_state.faults.add("/v1.0/me", status=500, body={"error": {"code": "Custom"}})
    expired = await graph.get("/v1.0/me")
    assert expired.json()["error"]["code"] == "InvalidAuthenticationToken"
    assert (await graph.get("/v1.0/me")).json() == {"error": {"code": "Custom"}}
    assert (await graph.get("/v1.0/me")).status_code == 200


async def test_a_dropped_connection_in_process(google: httpx.AsyncClient, google_state):
    google_state.faults.add(EVENTS, drop=True, method="POST")
    with pytest.raises(httpx.RemoteProtocolError):
        await google.post(EVENTS, json=google_event(id="dropped01"))
    assert google_state.inserts == 0 and google_state.requests[0].status is None


def test_a_dropped_connection_and_a_slow_answer_over_a_socket(
    graph_socket: httpx.Client, graph_state: GraphState
) -> None:
    graph_state.faults.add("/v1.0/me/events", drop=True)
    with pytest.raises(httpx.RemoteProtocolError):
        graph_socket.post("/v1.0/me/events", json=graph_event())
    graph_state.faults.add("/v1.0/me", delay=30)
    with pytest.raises(httpx.ReadTimeout):
        graph_socket.get("/v1.0/me", timeout=0.2)
    graph_state.faults.add("/v1.0/me", delay=0.1)
    assert graph_socket.get("/v1.0/me").status_code == 200
    assert graph_state.creates == 0
