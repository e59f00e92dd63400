"""Regression: the Graph test server's first event body cost about a second (kiota imports the
msgraph models it parses on first use), inside the 1.5 s deadline of the OUTLOOK round trip in
tests/test_google_network.py, which then failed under load. The server now parses one full event
before it takes requests; a fresh interpreter shows the models loaded once the app is built."""

from __future__ import annotations

import subprocess
import sys

PROBE = """
import sys
from tests.fakes.graph import GraphState, graph_app
models = "msgraph.generated.models."
before = {m for m in sys.modules if m.startswith(models)}
graph_app(GraphState())
after = {m for m in sys.modules if m.startswith(models)}
needed = ("event", "patterned_recurrence", "attendee", "single_value_legacy_extended_property")
print(sorted(models + name for name in needed if models + name not in after), len(after - before))
"""


def test_the_app_is_built_with_the_event_models_loaded() -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, check=True, timeout=60
    )
    missing, loaded = done.stdout.rsplit(" ", 1)
    assert missing == "[]"
    assert int(loaded) > 100  # the lazy imports happened while building the app
