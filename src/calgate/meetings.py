"""Meeting links made by calgate for accounts whose provider cannot create meetings (LOCAL,
CalDAV): a configured URL template (``meeting_url_template``, e.g. a Jitsi-style
``https://meet.example.org/{room}``) with an unguessable room name.
"""

from __future__ import annotations

import secrets
from urllib.parse import urlsplit

from calgate.domain.model import Conference, ConferenceProvider
from calgate.errors import FeatureNotImplemented

PLACEHOLDER = "{room}"
# 128 bits of randomness: a room cannot be found by guessing.
ROOM_BYTES = 16


def check_template(template: str) -> str:
    """``template`` if usable, else ValueError naming the setting and the problem."""
    if PLACEHOLDER not in template:
        raise ValueError(
            f"meeting_url_template: must contain {PLACEHOLDER}, e.g. https://meet.jit.si/{{room}}"
        )
    parts = urlsplit(template.replace(PLACEHOLDER, "room"))
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError("meeting_url_template: must be an http(s) URL with a host")
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in template):
        raise ValueError("meeting_url_template: holds a space or control character")
    return template


class MeetingLinks:
    """Makes meeting links from the configured template (None: not configured)."""

    def __init__(self, template: str | None) -> None:
        self.template = check_template(template) if template else None

    @staticmethod
    def new_room() -> str:
        return "calgate-" + secrets.token_urlsafe(ROOM_BYTES)

    def create(self, kind: ConferenceProvider) -> Conference:
        """A new meeting of ``kind`` (the conference provider the client asked for)."""
        if self.template is None:
            raise FeatureNotImplemented(
                f"conference: no meeting service is configured to create a {kind} meeting; "
                "set meeting_url_template (CALGATE_MEETING_URL_TEMPLATE, e.g. "
                "https://meet.jit.si/{room}) or give conference.url"
            )
        room = self.new_room()
        return Conference(kind, self.template.replace(PLACEHOLDER, room), room)
