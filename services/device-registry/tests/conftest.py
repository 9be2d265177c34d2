"""The device registry on its own, with the test bureau's sections and officers imported."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from quancheng.common.settings import Settings
from quancheng.common.testing.kit import Headers, client_of, seed_staff, started
from quancheng.device_registry.main import create_app


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    async with started(create_app(settings)) as app:
        yield app


@pytest.fixture
async def client(app: FastAPI, office: Headers) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the registry, with the test bureau's sections and officers in place."""
    async with client_of(app) as client:
        await seed_staff(client, office)
        yield client
