"""Local test servers for the providers calgate talks to over HTTP: Google Calendar and Graph.

Each is a Starlette app built from a state object that tests read and arm (events, OAuth
tokens, faults, request log); :func:`serve` runs one on a real loopback port.
"""

from .common import (
    ConnectionDropped,
    Fault,
    Faults,
    OAuthServer,
    RequestLog,
    RequestRecord,
    pkce_challenge,
    serve,
)
from .google import GoogleError, GoogleState, SendUpdates, google_app
from .graph import GraphError, GraphState, graph_app

__all__ = [
    "ConnectionDropped",
    "Fault",
    "Faults",
    "GoogleError",
    "GoogleState",
    "GraphError",
    "GraphState",
    "OAuthServer",
    "RequestLog",
    "RequestRecord",
    "SendUpdates",
    "google_app",
    "graph_app",
    "pkce_challenge",
    "serve",
]
