"""The contract suite on OUTLOOK accounts, against the Microsoft Graph test server."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from calgate.runtime import Runtime
from calgate.settings import Settings
from tests.conftest import Api
from tests.contract.mirror import MAX_AGE_SECONDS, MirrorTarget
from tests.contract.parity import ParitySuite
from tests.contract.suite import ContractSuite, Target
from tests.oauth_env import Fakes, connect, fakes_fixture, in_process_runtime  # noqa: F401

pytestmark = pytest.mark.anyio


class TestMicrosoft(ContractSuite, ParitySuite):
    @pytest.fixture
    def settings(self, settings: Settings, fakes: Fakes) -> Settings:
        return fakes.settings(settings)

    @pytest.fixture
    async def runtime(self, settings: Settings, fakes: Fakes) -> AsyncIterator[Runtime]:
        async for rt in in_process_runtime(settings, fakes):
            yield rt

    @pytest.fixture
    async def target(self, api: Api, fakes: Fakes) -> Target:
        return await Target.connect(api, await connect(api, fakes, "OUTLOOK"))


class TestMicrosoftFromMirror(TestMicrosoft):
    """The same suite with the Outlook calendar synced and its mirror current before every
    read, each read checked against Graph's answer: GETs of single events and exceptions are
    answered from the mirror, lists and series from Graph (calgate.sync.readers; docs/sync.md
    says why)."""

    @pytest.fixture
    def settings(self, settings: Settings, fakes: Fakes) -> Settings:
        return fakes.settings(settings).model_copy(
            update={"sync_mirror_max_age_seconds": MAX_AGE_SECONDS}
        )

    @pytest.fixture
    async def target(self, api: Api, fakes: Fakes) -> Target:
        connected = await Target.connect(api, await connect(api, fakes, "OUTLOOK"))
        return await MirrorTarget.of(connected)
