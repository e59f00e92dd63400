"""Google and Graph answers are bounded too (issue 13, item 4): an answer over the policy's
`max_answer_bytes` (setting `provider_max_answer_bytes`) is refused with a clear error, whether
its size is announced (Content-Length) or not (chunked); answers under it read as before."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from calgate.errors import ProviderError
from calgate.providers.http import Policy, make_client, send

pytestmark = pytest.mark.anyio
MIB = 2**20


async def sized(request: Request) -> Response:
    size = int(request.query_params["bytes"])
    return Response(b'{"items":"' + b"x" * size + b'"}', media_type="application/json")


async def chunked(request: Request) -> StreamingResponse:
    size = int(request.query_params["bytes"])

    async def body() -> AsyncIterator[bytes]:
        yield b'{"items":"'
        for _ in range(size // 65536):
            yield b"x" * 65536
        yield b'"}'

    return StreamingResponse(body(), media_type="application/json")


APP = Starlette(routes=[Route("/sized", sized), Route("/chunked", chunked)])
POLICY = Policy(timeout=10.0, max_answer_bytes=MIB)


async def call(path: str, size: int) -> httpx.Response:
    async with make_client(transport=httpx.ASGITransport(app=APP)) as client:
        return await send(
            client,
            "GET",
            f"http://provider.test{path}",
            params={"bytes": str(size)},
            policy=POLICY,
            provider="Google",
            safe=True,
            what="events",
        )


@pytest.mark.parametrize("path", ["/sized", "/chunked"])
async def test_over_the_limit_is_refused(path: str) -> None:
    with pytest.raises(ProviderError) as caught:
        await call(path, 2 * MIB)
    assert caught.value.detail == (
        "Google answered more than 1 MiB (setting provider_max_answer_bytes) (events)"
    )


@pytest.mark.parametrize("path", ["/sized", "/chunked"])
async def test_under_the_limit_reads_as_before(path: str) -> None:
    response = await call(path, MIB // 2)
    assert response.status_code == 200
    assert len(response.json()["items"]) == MIB // 2
