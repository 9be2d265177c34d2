"""The gateway is tested in front of the services it serves: the embedded platform."""

from __future__ import annotations

import pytest
from starlette.applications import Starlette

from quancheng.common.testing.kit import Embedded


@pytest.fixture
def app(embedded: Embedded) -> Starlette:
    """The gateway, with every service behind it in this process."""
    return embedded.app
