"""The v1/v2 parity scenarios (tests/contract/v2.py) on every provider, each account built by
that provider's contract class's own fixtures."""

from __future__ import annotations

import pytest

from tests.contract import test_caldav, test_google, test_local, test_microsoft
from tests.contract.v2 import V2Suite
from tests.oauth_env import fakes_fixture  # noqa: F401 - the fixture
from tests.radicale import radicale_fixture  # noqa: F401 - the fixture

pytestmark = pytest.mark.anyio


class TestV2Local(V2Suite):
    target = test_local.TestLocal.target


class TestV2CalDAV(V2Suite):
    settings = test_caldav.TestCalDAV.settings
    target = test_caldav.TestCalDAV.target


class TestV2Google(V2Suite):
    settings = test_google.TestGoogle.settings
    runtime = test_google.TestGoogle.runtime
    target = test_google.TestGoogle.target


class TestV2Microsoft(V2Suite):
    settings = test_microsoft.TestMicrosoft.settings
    runtime = test_microsoft.TestMicrosoft.runtime
    target = test_microsoft.TestMicrosoft.target
