"""TEXT values (RFC 5545 section 3.3.11) that can never break a content line.

``icalendar``'s own ``vText`` escapes ``\\``, ``;``, ``,`` and line breaks, but first turns a
literal backslash-N into a line break, so ``C:\\New`` would come back as ``C:`` + newline +
``ew``. :class:`Text` escapes in one pass instead. Line breaks (CRLF, CR or LF) become the
``\\n`` escape: TEXT has no way to say CR, so a CR reads back as LF. Other control characters
(``%x00-08``, ``%x0B-1F``, ``%x7F``) are not allowed in TEXT at all and are dropped, so no
reader that splits lines on them can be fooled either.
"""

from __future__ import annotations

import re

from icalendar import vText

_ESCAPES = {"\\": "\\\\", ";": "\\;", ",": "\\,", "\r\n": "\\n", "\r": "\\n", "\n": "\\n"}
_CONTROLS = r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]"
_SPECIAL = re.compile(r"\r\n|[\\;,\r\n]")
_ESCAPED = re.compile(r"\\([\\;,:nN])")


def escape(text: str) -> str:
    """The TEXT form of ``text``: control characters dropped first (so a CR and an LF that
    only a control character separated are one line break, as :func:`clean` says), then one
    escaping pass."""
    return _SPECIAL.sub(lambda m: _ESCAPES[m.group()], re.sub(_CONTROLS, "", text))


def unescape(text: str) -> str:
    """The text of a TEXT value (for x-properties, which ``icalendar`` keeps verbatim)."""
    return _ESCAPED.sub(lambda m: "\n" if m.group(1) in "nN" else m.group(1), text)


def clean(text: str) -> str:
    """What ``text`` reads back as after :func:`escape` (CR and CRLF become LF)."""
    without_controls = re.sub(_CONTROLS, "", text)
    return without_controls.replace("\r\n", "\n").replace("\r", "\n")


def has_control(text: str) -> bool:
    """Whether ``text`` holds a control character (for URIs, emails and parameters)."""
    return re.search(r"[\x00-\x1f\x7f]", text) is not None


class Text(vText):
    """A ``vText`` with the escaping of :func:`escape`."""

    def to_ical(self) -> bytes:
        return escape(str(self)).encode("utf-8")
