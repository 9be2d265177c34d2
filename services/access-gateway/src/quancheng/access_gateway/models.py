from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from quancheng.common.auth import Clearance, Role
from quancheng.common.db import enum_column, utc_column


class Account(SQLModel, table=True):
    """A person's local account with the built-in issuer: signing in with its password yields
    the same RS256 token the API accepts from any trusted issuer."""

    __tablename__ = "accounts"

    # The token's subject: for an officer, the officer's id in the registry.
    username: str = Field(primary_key=True, max_length=128)
    display_name: str = Field(max_length=64)
    roles: list[Role] = Field(sa_column=Column(JSON, nullable=False))
    section: str | None = Field(default=None, max_length=32)
    clearance: Clearance = Field(sa_column=enum_column(Clearance))
    password_hash: str = Field(max_length=256)  # argon2id, PHC string
    # Set when the office gave the password: the holder is asked to choose their own.
    must_change_password: bool = True
    disabled: bool = False
    failed_attempts: int = 0  # since the last successful sign-in
    locked_until: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    password_changed_at: datetime = Field(sa_column=utc_column())
    created_by: str = Field(max_length=128)
    created_at: datetime = Field(sa_column=utc_column())
    updated_by: str = Field(max_length=128)
    updated_at: datetime = Field(sa_column=utc_column())

    def role_list(self) -> list[Role]:
        """The roles as enum members (the JSON column gives back their values)."""
        return [Role(role) for role in self.roles]
