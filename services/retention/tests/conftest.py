"""The retention service on its own."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from fastapi import FastAPI

from quancheng.common.settings import Settings
from quancheng.common.testing.kit import started
from quancheng.retention.main import create_app


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    async with started(create_app(settings)) as app:
        yield app
