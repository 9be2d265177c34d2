"""``quancheng account …``: local accounts from the command line, for the first office account
of a new platform (nobody can sign in yet to create one through the API)."""

from __future__ import annotations

import asyncio
import sys
from typing import Annotated

import typer
from pydantic import ValidationError

from quancheng.access_gateway.config import MIGRATIONS, SERVICE_NAME
from quancheng.access_gateway.inputs import AccountCreate
from quancheng.access_gateway.service import accounts as account_rules
from quancheng.common.auth import Clearance, Role
from quancheng.common.cli import DataDir, settings_for
from quancheng.common.db import Database, session_scope
from quancheng.common.db.migrate import upgrade
from quancheng.common.errors import ApiError
from quancheng.common.settings import Settings

accounts = typer.Typer(help="Local accounts of the built-in issuer 本地账户.", no_args_is_help=True)


@accounts.command()
def create(
    username: Annotated[str, typer.Option(help="The sign-in name (an officer: their id).")],
    name: Annotated[str, typer.Option(help="The person's name 姓名.")],
    role: Annotated[list[Role], typer.Option("--role", help="Role; repeat for several.")],
    section: Annotated[str | None, typer.Option(help="Section code.")] = None,
    clearance: Annotated[Clearance, typer.Option(help="Secrecy clearance.")] = Clearance.INTERNAL,
    password_stdin: Annotated[
        bool, typer.Option(help="Read the password from standard input (for scripts).")
    ] = False,
    data_dir: DataDir = None,
) -> None:
    """Create an account; its holder chooses a new password at the first sign-in."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = typer.prompt("密码 password", hide_input=True, confirmation_prompt=True)
    try:
        body = AccountCreate(
            username=username,
            display_name=name,
            roles=role,
            section=section,
            clearance=clearance,
            password=password,
        )
    except ValidationError as exc:
        for error in exc.errors():
            typer.echo(f"{'.'.join(map(str, error['loc']))}: {error['msg']}", err=True)
        raise typer.Exit(2) from None
    try:
        asyncio.run(_create(settings_for(data_dir), body))
    except ApiError as exc:
        typer.echo(f"{exc.message_zh} ({exc.message})", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"已创建账户 created account {body.username}; 首次登录须修改密码")


async def _create(settings: Settings, body: AccountCreate) -> None:
    url = settings.database_url(SERVICE_NAME)
    await asyncio.to_thread(upgrade, url, MIGRATIONS)  # a new data dir has no tables yet
    db = Database(url)
    db.connect()
    try:
        async with session_scope(db) as session:
            await account_rules.create(session, "command-line", body)
    finally:
        await db.dispose()
