"""The contract suite on LOCAL accounts (calgate's own store)."""

from __future__ import annotations

import pytest

from tests.conftest import Api
from tests.contract.parity import ParitySuite
from tests.contract.suite import ContractSuite, Target


class TestLocal(ContractSuite, ParitySuite):
    @pytest.fixture
    async def target(self, api: Api) -> Target:
        r = await api.call("POST", "/api/v1/accounts", json={"provider": "LOCAL", "name": "Suite"})
        assert r.status_code == 201, r.text
        return await Target.connect(api, r.json()["account_id"])
