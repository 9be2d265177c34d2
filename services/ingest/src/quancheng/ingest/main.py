from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from quancheng.common.hashing import resumable_sm3
from quancheng.common.service import ServiceDefinition, create_service_app
from quancheng.common.settings import Settings
from quancheng.common.wiring import Platform, make_locks
from quancheng.ingest import consumers
from quancheng.ingest.api.routes import tus, uploads
from quancheng.ingest.config import MIGRATIONS, SERVICE_NAME
from quancheng.ingest.service.sweeping import sweep
from quancheng.ingest.service.uploads import Uploads

log = logging.getLogger(__name__)


@asynccontextmanager
async def upload_context(app: FastAPI) -> AsyncIterator[None]:
    """The upload rules' context, and the sweeper that expires abandoned uploads; at the end,
    originals still being stored in the background are given time to finish."""
    state = app.state.service
    settings = state.settings
    if settings.ingest.sm3:
        resumable_sm3()  # refuse to start, saying why, if the extension is missing
    context = Uploads(
        db=state.db,
        store=state.platform.store,
        locks=make_locks(state.db, settings.data_dir / "locks" / SERVICE_NAME),
        settings=settings.ingest,
    )
    app.state.uploads = context

    async def sweeper() -> None:
        while True:
            await asyncio.sleep(settings.ingest.expiry_sweep_seconds)
            try:
                ended = await sweep(context)
            except Exception:  # a failed sweep is retried on the next round
                log.exception("the upload sweep failed")
            else:
                if ended:
                    log.info("expired %d abandoned upload(s)", ended)

    task = asyncio.create_task(sweeper(), name="ingest-upload-sweeper")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await context.stop()


DEFINITION = ServiceDefinition(
    name=SERVICE_NAME,
    title="Quancheng ingest 采集上传",
    description="Resumable uploads (tus 1.0) of recordings into write-once storage.",
    migrations=MIGRATIONS,
    routers=[tus.public, tus.router, uploads.router],
    consumers=consumers.register,
    lifespan_hooks=[upload_context],
    prefixes=["/api/v1/upload-permission", "/api/v1/uploads", "/files"],
)


def create_app(settings: Settings | None = None, platform: Platform | None = None) -> FastAPI:
    return create_service_app(DEFINITION, settings or Settings(), platform)
