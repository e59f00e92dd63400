"""WebDAV XML: the request bodies calgate sends and a safe reader for the ``multistatus`` answers.

Answers are read with expat directly into ElementTree elements, refusing any document type
declaration (so no entity expansion, internal or external, can happen), as defusedxml does.
Element names are Clark names: ``{DAV:}href``.
"""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final
from urllib.parse import unquote, urljoin
from xml.parsers import expat
from xml.sax.saxutils import escape

from calgate.errors import ProviderError

DAV: Final = "DAV:"
CALDAV: Final = "urn:ietf:params:xml:ns:caldav"
CS: Final = "http://calendarserver.org/ns/"
ICAL: Final = "http://apple.com/ns/ical/"
_PREFIXES: Final = {DAV: "D", CALDAV: "C", CS: "CS", ICAL: "I"}


def qname(namespace: str, name: str) -> str:
    return f"{{{namespace}}}{name}"


class UnsafeXML(ValueError):
    """The document declares a DTD or entities: refused."""


def parse(data: bytes) -> ET.Element:
    """The root element of ``data``; raises :class:`ValueError` for bad or unsafe XML."""
    builder = ET.TreeBuilder()
    parser = expat.ParserCreate(namespace_separator="}")

    def name(raw: str) -> str:
        return f"{{{raw}" if "}" in raw else raw

    def start(tag: str, attrs: dict[str, str]) -> None:
        builder.start(name(tag), {name(k): v for k, v in attrs.items()})

    def refuse(*_: object) -> None:
        raise UnsafeXML("XML with a document type declaration or entities is refused")

    parser.StartElementHandler = start
    parser.EndElementHandler = lambda tag: builder.end(name(tag))
    parser.CharacterDataHandler = builder.data
    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    parser.UnparsedEntityDeclHandler = refuse
    parser.ExternalEntityRefHandler = refuse  # type: ignore[assignment]
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    try:
        parser.Parse(data, True)
        root: ET.Element = builder.close()
    except expat.ExpatError as error:
        raise ValueError(f"not well-formed XML ({error})") from None
    except AssertionError:  # TreeBuilder: an empty document
        raise ValueError("empty XML document") from None
    return root


# Request bodies ----------------------------------------------------------------------------


def _element(tag: str) -> str:
    namespace, _, local = tag[1:].partition("}")
    return f"<{_PREFIXES[namespace]}:{local}/>"


def propfind(*props: str) -> bytes:
    """A PROPFIND body asking for ``props`` (Clark names)."""
    names = "".join(_element(p) for p in props)
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        f"<D:propfind {_XMLNS}><D:prop>{names}</D:prop></D:propfind>"
    ).encode()


_XMLNS: Final = " ".join(f'xmlns:{p}="{ns}"' for ns, p in _PREFIXES.items())


def _tag(name: str) -> str:
    namespace, _, local = name[1:].partition("}")
    return f"{_PREFIXES[namespace]}:{local}"


def set_properties(root: str, values: Mapping[str, str], *, events_only: bool = False) -> bytes:
    """A ``MKCALENDAR`` (``root`` ``C:mkcalendar``, RFC 4791 5.3.1) or ``PROPPATCH`` (``root``
    ``D:propertyupdate``, RFC 4918 9.2) body setting ``values`` (Clark name -> text, escaped);
    ``events_only``: the new calendar holds VEVENTs only."""
    props = "".join(f"<{_tag(k)}>{escape(v)}</{_tag(k)}>" for k, v in values.items())
    if events_only:
        props += '<C:supported-calendar-component-set><C:comp name="VEVENT"/>'
        props += "</C:supported-calendar-component-set>"
    return (
        f'<?xml version="1.0" encoding="utf-8"?><{root} {_XMLNS}>'
        f"<D:set><D:prop>{props}</D:prop></D:set></{root}>"
    ).encode()


def _ical_utc(instant: dt.datetime) -> str:
    return instant.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")


def calendar_query(start: dt.datetime | None, end: dt.datetime | None) -> bytes:
    """A ``calendar-query`` REPORT body: every VEVENT resource overlapping ``[start, end)``
    (RFC 4791 section 7.8), with its ETag and data."""
    time_range = ""
    if start is not None or end is not None:
        bounds = "".join(
            f' {name}="{_ical_utc(value)}"'
            for name, value in (("start", start), ("end", end))
            if value is not None
        )
        time_range = f"<C:time-range{bounds}/>"
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        f"<C:calendar-query {_XMLNS}>"
        "<D:prop><D:getetag/><C:calendar-data/></D:prop>"
        '<C:filter><C:comp-filter name="VCALENDAR">'
        f'<C:comp-filter name="VEVENT">{time_range}</C:comp-filter>'
        "</C:comp-filter></C:filter>"
        "</C:calendar-query>"
    ).encode()


# Answers -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Response:
    """One ``<response>`` of a multistatus: the resource URL and its found properties."""

    url: str  # absolute, resolved against the request URL
    status: int  # the response-level status (200 when only propstats are given)
    props: dict[str, ET.Element] = field(default_factory=dict)

    def text(self, tag: str) -> str:
        element = self.props.get(tag)
        return "".join(element.itertext()).strip() if element is not None else ""

    def hrefs(self, tag: str) -> list[str]:
        """The URLs inside a property such as ``current-user-principal`` (absolute)."""
        element = self.props.get(tag)
        if element is None:
            return []
        return [
            urljoin(self.url, (h.text or "").strip())
            for h in element.iter(qname(DAV, "href"))
            if (h.text or "").strip()
        ]

    def has(self, tag: str, child: str) -> bool:
        element = self.props.get(tag)
        return element is not None and element.find(f".//{child}") is not None


def _status(element: ET.Element | None) -> int:
    text = (element.text or "") if element is not None else ""
    parts = text.split()
    try:
        return int(parts[1]) if len(parts) > 1 else 200
    except ValueError:
        return 500


def multistatus(data: bytes, base_url: str) -> list[Response]:
    """The responses of a ``207 Multi-Status`` body; raises :class:`ProviderError` when the
    body is not one."""
    return responses(multistatus_root(data), base_url)


def multistatus_root(data: bytes) -> ET.Element:
    """The ``multistatus`` element of a body; raises :class:`ProviderError` when the body is
    not one."""
    try:
        root = parse(data)
    except ValueError as error:
        raise ProviderError(f"the CalDAV server answered unreadable XML: {error}") from None
    if root.tag != qname(DAV, "multistatus"):
        raise ProviderError(f"the CalDAV server answered {root.tag!r} instead of a multistatus")
    return root


def responses(root: ET.Element, base_url: str) -> list[Response]:
    """The responses of a ``multistatus`` element (:func:`multistatus_root`)."""
    found: list[Response] = []
    for item in root.findall(qname(DAV, "response")):
        href = (item.findtext(qname(DAV, "href")) or "").strip()
        if not href:
            continue
        props: dict[str, ET.Element] = {}
        for propstat in item.findall(qname(DAV, "propstat")):
            if _status(propstat.find(qname(DAV, "status"))) // 100 != 2:
                continue
            prop = propstat.find(qname(DAV, "prop"))
            for element in prop if prop is not None else ():
                props[element.tag] = element
        status = item.find(qname(DAV, "status"))
        found.append(Response(urljoin(base_url, href), _status(status), props))
    return found


def refused_properties(data: bytes) -> list[str]:
    """The local names of the properties a ``PROPPATCH`` multistatus did not set."""
    try:
        root = parse(data)
    except ValueError as error:
        raise ProviderError(f"the CalDAV server answered unreadable XML: {error}") from None
    return sorted(
        element.tag.rpartition("}")[2]
        for propstat in root.iter(qname(DAV, "propstat"))
        if _status(propstat.find(qname(DAV, "status"))) // 100 != 2
        for prop in propstat.findall(qname(DAV, "prop"))
        for element in prop
    )


def same_path(a: str, b: str) -> bool:
    """Whether two URLs name the same collection (trailing slash and escaping aside)."""
    return unquote(a).rstrip("/") == unquote(b).rstrip("/")


def precondition(data: bytes) -> str | None:
    """The name of the failed precondition in a ``<D:error>`` body (RFC 4918 section 16)."""
    try:
        root = parse(data)
    except ValueError:
        return None
    if root.tag != qname(DAV, "error") or not len(root):
        return None
    return root[0].tag.rpartition("}")[2]
