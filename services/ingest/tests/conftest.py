"""The ingest service on its own; it knows no device until it is told of one."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from fastapi import FastAPI

from quancheng.common.settings import Settings
from quancheng.common.testing.kit import started
from quancheng.ingest.main import create_app


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    async with started(create_app(settings)) as app:
        yield app
