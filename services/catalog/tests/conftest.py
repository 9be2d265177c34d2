"""The catalog on its own, knowing the test bureau's staff as the registry would tell them."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from fastapi import FastAPI

from quancheng.catalog.main import create_app
from quancheng.common.settings import Settings
from quancheng.common.testing.kit import started, tell


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    """The catalog, running; head-1 heads JC1, where officer-7 and officer-8 serve."""
    async with started(create_app(settings)) as app:
        await tell(app)
        yield app
