"""The ``quancheng`` command: run the platform or one service, mint tokens, trace requirements,
verify audit chains."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from importlib.metadata import entry_points
from pathlib import Path
from typing import Annotated

import typer
import uvloop
from granian.constants import Interfaces
from granian.log import LogLevels
from granian.server.embed import Server

from quancheng.common.audit import ChainReport, verify_log
from quancheng.common.auth import BuiltinIssuer, Clearance, Role
from quancheng.common.db import Database
from quancheng.common.db.database import sqlite_path
from quancheng.common.embedded import create_embedded_app, service_factories
from quancheng.common.settings import SERVICES, BusKind, Settings
from quancheng.common.trace import build_report, render

log = logging.getLogger(__name__)

app = typer.Typer(
    help="Quancheng 全程 — whole-process enforcement records.",
    no_args_is_help=True,
    add_completion=False,
)

DataDir = Annotated[
    Path | None,
    typer.Option("--data-dir", help="Where data lives (default: $QUANCHENG_DATA_DIR or ./var)."),
]


def settings_for(data_dir: Path | None) -> Settings:
    """Settings from the environment, on ``--data-dir`` if one was given (commands that services
    bring use it too)."""
    settings = Settings()
    if data_dir is not None:
        settings = settings.model_copy(update={"data_dir": data_dir})
    return settings


def _serve(asgi_app: object, host: str, port: int, settings: Settings) -> None:
    """Serve ``asgi_app`` with Granian until SIGINT or SIGTERM, then stop gracefully.

    Granian's HTTP/1.1 runs in Rust and hands request bodies to the app in large pieces, so
    uploads are received several times faster than through a Python HTTP parser; its embedded
    server runs on our own event loop and takes the app object as it is."""
    server = Server(
        asgi_app,
        address=host,
        port=port,
        interface=Interfaces.ASGI,
        # Errors only: its info is start-up chatter, and its one warning says that the embedded
        # server is marked experimental. They go to the platform's log handlers.
        log_level=LogLevels.error,
        log_dictconfig={
            "formatters": {},
            "handlers": {},
            "loggers": {"_granian": {"handlers": [], "propagate": True}},
        },
    )

    async def run() -> None:
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, server.stop)
        await server.serve()  # returns once the app's lifespan has shut down
        log.info("shutdown complete")

    uvloop.run(run())


@app.command()
def up(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port of the gateway.")] = 8000,
    data_dir: DataDir = None,
) -> None:
    """Run all five services in one process (embedded mode), the gateway on HOST:PORT."""
    settings = settings_for(data_dir)
    base = f"http://{host}:{port}"
    typer.echo(f"Quancheng 全程 (embedded) — data in {settings.data_dir.resolve()}")
    typer.echo(f"  API:     {base}   (docs: {base}/docs, health: {base}/healthz)")
    # Absolute paths, so that the command works from whatever directory it is pasted into.
    command = Path(sys.executable).parent / "quancheng"
    typer.echo(
        f"  Token:   {command} token --sub NAME --role office"
        f" --data-dir {settings.data_dir.resolve()}"
    )
    typer.echo(
        f"  Account: {command} account create --username NAME --name 姓名 --role office"
        f" --data-dir {settings.data_dir.resolve()}   (the first office account; then sign in"
        f" at {base}/api/v1/sign-in)"
    )
    typer.echo(f'  Example: curl -H "Authorization: Bearer $TOKEN" {base}/api/v1/me')
    _serve(create_embedded_app(settings), host, port, settings)


@app.command()
def serve(
    service: Annotated[str, typer.Argument(help=f"One of: {', '.join(SERVICES)}.")],
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 8000,
    data_dir: DataDir = None,
) -> None:
    """Run one service on its own (distributed mode)."""
    if service not in SERVICES:
        raise typer.BadParameter(f"unknown service {service!r}; one of {', '.join(SERVICES)}")
    settings = settings_for(data_dir)
    if settings.bus.kind is BusKind.INPROCESS:
        typer.echo(
            f"warning: the in-process bus keeps {service}'s events inside this process; "
            "services in other processes will not receive them",
            err=True,
        )
    factory = service_factories()[service]
    _serve(factory(settings), host, port, settings)


@app.command()
def token(
    sub: Annotated[str, typer.Option("--sub", help="Subject (user or client id).")],
    role: Annotated[list[Role], typer.Option("--role", help="Role; repeat for several.")],
    section: Annotated[str | None, typer.Option(help="Section code.")] = None,
    clearance: Annotated[Clearance, typer.Option(help="Secrecy clearance.")] = Clearance.INTERNAL,
    ttl: Annotated[int, typer.Option(help="Lifetime in seconds.", min=1)] = 3600,
    data_dir: DataDir = None,
) -> None:
    """Print a JWT from the built-in issuer of the data dir (for scripts and trying the API)."""
    settings = settings_for(data_dir)
    issuer = BuiltinIssuer.from_directory(
        settings.identity_dir,
        issuer=settings.identity.issuer,
        audience=settings.identity.audience,
    )
    typer.echo(issuer.mint(sub, role, section=section, clearance=clearance, ttl_seconds=ttl))


@app.command()
def trace(
    root: Annotated[Path, typer.Option(help="The repository's root.")] = Path(),
) -> None:
    """For every requirement ID, the tests that prove it; IDs without a test last."""
    doc = root / "docs" / "requirements.md"
    if not doc.is_file():
        raise typer.BadParameter(f"{doc} not found: run from the repository's root or use --root")
    typer.echo(render(build_report(root.resolve())))


@app.command("verify-audit")
def verify_audit(data_dir: DataDir = None) -> None:
    """Verify every service's hash-chained audit log; name the first bad entry of each."""
    settings = settings_for(data_dir)

    async def verify_one(service: str) -> ChainReport:
        db = Database(settings.database_url(service))
        db.connect()
        try:
            async with db.session() as session:
                return await verify_log(session)
        finally:
            await db.dispose()

    broken = False
    for service in SERVICES:
        path = sqlite_path(settings.database_url(service))
        if path is not None and not path.exists():
            typer.echo(f"{service}: no database yet ({path})")
            continue
        report = asyncio.run(verify_one(service))
        if report.intact:
            typer.echo(f"{service}: intact ({report.entries} entries)")
        else:
            broken = True
            typer.echo(f"{service}: BROKEN at entry {report.first_bad_seq}: {report.reason}")
    raise typer.Exit(1 if broken else 0)


@app.command()
def upload(
    paths: Annotated[list[Path], typer.Argument(help="Files, or directories to upload whole.")],
    device: Annotated[str, typer.Option(help="The device the recordings come from.")],
    officer: Annotated[str, typer.Option(help="The officer the device is issued to.")],
    activity: Annotated[str | None, typer.Option(help="The enforcement activity.")] = None,
    kind: Annotated[
        str | None, typer.Option(help="video, audio, photo, scan or document (default: by type).")
    ] = None,
    server: Annotated[str, typer.Option(help="The gateway's URL.")] = "http://127.0.0.1:8000",
    token: Annotated[str | None, typer.Option(envvar="QC_TOKEN", help="A bearer token.")] = None,
    client_id: Annotated[
        str | None, typer.Option(help="A device's or docking station's client id.")
    ] = None,
    client_secret: Annotated[
        str | None, typer.Option(envvar="QC_CLIENT_SECRET", help="Its client secret.")
    ] = None,
    wipe: Annotated[
        bool, typer.Option(help="Delete each file once its receipt says it is safe to.")
    ] = False,
    state_dir: Annotated[
        Path | None, typer.Option(help="Where unfinished uploads are remembered.")
    ] = None,
) -> None:
    """Upload recordings (tus), resumable across restarts; print each file's receipt."""
    # Imported here: the tus client pulls in requests and aiohttp, which no other command needs.
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TransferSpeedColumn
    from rich.table import Table

    from quancheng.common.uploader import (
        Credentials,
        Uploader,
        UploadError,
        default_state_dir,
        files_of,
    )

    console = Console()
    try:
        files = files_of(paths)
    except UploadError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None
    credentials = Credentials(
        server.rstrip("/"), token=token, client_id=client_id, client_secret=client_secret
    )
    sizes = {f.resolve(): f.stat().st_size for f in files}
    receipts = []
    failures = []
    with Progress(
        "{task.description}", BarColumn(), DownloadColumn(), TransferSpeedColumn(), console=console
    ) as bars:
        total = bars.add_task("合计 total", total=sum(sizes.values()))
        tasks = {path: bars.add_task(path.name, total=size) for path, size in sizes.items()}
        done = dict.fromkeys(sizes, 0)

        def progress(path: Path, offset: int, size: int) -> None:
            bars.update(tasks[path], completed=offset)
            done[path] = offset
            bars.update(total, completed=sum(done.values()))

        uploader = Uploader(
            credentials,
            device_id=device,
            officer_id=officer,
            activity_id=activity,
            kind=kind,
            state_dir=state_dir or default_state_dir(),
            progress=progress,
        )
        for path in sizes:
            try:
                receipts.append(uploader.upload(path, wipe=wipe))
            except UploadError as exc:
                failures.append(str(exc))
    table = Table(title="上传回执 receipts")
    for column in ("文件 file", "记录 record", "SHA-256", "可清除 safe to wipe", "已清除 wiped"):
        table.add_column(column)
    for receipt in receipts:
        table.add_row(
            receipt.path.name,
            receipt.record_id or "-",
            receipt.sha256 or "-",
            "是 yes" if receipt.safe_to_wipe else "否 no",
            "是 yes" if receipt.wiped else "否 no",
        )
    console.print(table)
    for failure in failures:
        console.print(f"[red]未完成 failed: {failure}[/red]")
    raise typer.Exit(1 if failures else 0)


def main() -> None:
    # Commands a service brings (``quancheng account``), found like the services themselves.
    for command in entry_points(group="quancheng.commands"):
        app.add_typer(command.load(), name=command.name)
    app()
