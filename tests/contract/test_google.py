"""The contract suite on GOOGLE_OAUTH accounts, against the Google Calendar test server."""

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


class TestGoogle(ContractSuite, ParitySuite):
    @pytest.fixture
    def settings(self, settings: Settings, fakes: Fakes) -> Settings:
        return fakes.settings(settings)

    @pytest.fixture
    async def runtime(self, settings: Settings, fakes: Fakes) -> AsyncIterator[Runtime]:
        async for rt in in_process_runtime(settings, fakes):
            yield rt

    @pytest.fixture
    async def target(self, api: Api, fakes: Fakes) -> Target:
        return await Target.connect(api, await connect(api, fakes, "GOOGLE_OAUTH"))


class TestGoogleFromMirror(TestGoogle):
    """The same suite, every read sent through the sync mirror and checked against live (reads
    the mirror cannot answer the same way go to Google: calgate.sync.readers)."""

    @pytest.fixture
    def settings(self, settings: Settings, fakes: Fakes) -> Settings:
        return fakes.settings(settings).model_copy(
            update={"sync_mirror_max_age_seconds": MAX_AGE_SECONDS}
        )

    @pytest.fixture
    async def target(self, api: Api, fakes: Fakes) -> Target:
        connected = await Target.connect(api, await connect(api, fakes, "GOOGLE_OAUTH"))
        return await MirrorTarget.of(connected)
