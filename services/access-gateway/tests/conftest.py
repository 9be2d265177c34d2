"""The gateway is tested in front of the services it serves: the embedded platform."""

from __future__ import annotations

import pytest
from starlette.applications import Starlette

from quancheng.common.testing.kit import AccessBureau, Embedded, TokenFactory, access_bureau


@pytest.fixture
def app(embedded: Embedded) -> Starlette:
    """The gateway, with every service behind it in this process."""
    return embedded.app


@pytest.fixture
async def bureau(embedded: Embedded, token: TokenFactory) -> AccessBureau:
    """Two sections' recordings to ask for, and the people who ask and decide."""
    return await access_bureau(embedded, token)
