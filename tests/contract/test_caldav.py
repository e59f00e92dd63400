"""The contract suite on CALDAV and ICLOUD accounts, against a real Radicale server."""

from __future__ import annotations

import pytest

from calgate.settings import Settings
from tests.conftest import Api
from tests.contract.mirror import MAX_AGE_SECONDS, MirrorTarget
from tests.contract.parity import ParitySuite
from tests.contract.suite import ContractSuite, Target
from tests.radicale import Radicale, radicale_fixture  # noqa: F401 - the fixture

pytestmark = pytest.mark.anyio


async def connect(api: Api, radicale: Radicale, provider: str) -> Target:
    """A new Radicale user with one calendar, connected through POST /api/v1/accounts (the
    calendar is found by discovery from the server's root URL)."""
    user = radicale.add_user()
    radicale.make_calendar(user, "work", "Work")
    body = {"provider": provider, "username": user.name, "password": user.password}
    if provider == "CALDAV":
        body["url"] = radicale.url + "/"
    r = await api.call("POST", "/api/v1/accounts", json=body)
    assert r.status_code == 201, r.text
    return await Target.connect(api, r.json()["account_id"], "work")


class TestCalDAV(ContractSuite, ParitySuite):
    @pytest.fixture
    def settings(self, settings: Settings) -> Settings:
        return settings.model_copy(update={"allow_loopback_urls": True})

    @pytest.fixture
    async def target(self, api: Api, radicale: Radicale) -> Target:
        return await connect(api, radicale, "CALDAV")


class TestICloud(ContractSuite, ParitySuite):
    """ICLOUD is CalDAV at the server in settings: pointed at Radicale here."""

    @pytest.fixture
    def settings(self, settings: Settings, radicale: Radicale) -> Settings:
        return settings.model_copy(
            update={"icloud_url": radicale.url + "/", "allow_loopback_urls": True}
        )

    @pytest.fixture
    async def target(self, api: Api, radicale: Radicale) -> Target:
        return await connect(api, radicale, "ICLOUD")


class TestCalDAVFromMirror(TestCalDAV):
    """The same suite, every read answered from the sync mirror and checked against live."""

    @pytest.fixture
    def settings(self, settings: Settings) -> Settings:
        return settings.model_copy(
            update={"allow_loopback_urls": True, "sync_mirror_max_age_seconds": MAX_AGE_SECONDS}
        )

    @pytest.fixture
    async def target(self, api: Api, radicale: Radicale) -> Target:
        return await MirrorTarget.of(await connect(api, radicale, "CALDAV"))


class TestICloudFromMirror(TestICloud):
    @pytest.fixture
    def settings(self, settings: Settings, radicale: Radicale) -> Settings:
        return settings.model_copy(
            update={
                "icloud_url": radicale.url + "/",
                "allow_loopback_urls": True,
                "sync_mirror_max_age_seconds": MAX_AGE_SECONDS,
            }
        )

    @pytest.fixture
    async def target(self, api: Api, radicale: Radicale) -> Target:
        return await MirrorTarget.of(await connect(api, radicale, "ICLOUD"))
