"""Local accounts: the office creates and changes them, their holders sign in and change their
passwords. Passwords are kept as argon2id hashes only. Failed sign-ins are counted on the account
(so every replica sees them) and lock it for a while once there are too many."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cache

from anyio import to_thread
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlmodel.ext.asyncio.session import AsyncSession

from quancheng.access_gateway.config import LOCKOUT, MAX_FAILED_SIGN_INS, MIN_PASSWORD_LENGTH
from quancheng.access_gateway.inputs import AccountChange, AccountCreate, PasswordChange, SignIn
from quancheng.access_gateway.models import Account
from quancheng.access_gateway.repository import AccountRepository
from quancheng.common import audit
from quancheng.common.auth import BuiltinIssuer, Principal
from quancheng.common.clock import utcnow
from quancheng.common.errors import ApiError, KeptRefusalError
from quancheng.common.limits import Page
from quancheng.common.sorting import Sort

_hasher = PasswordHasher()  # argon2id with the library's (RFC 9106 low-memory) parameters


@cache
def _nobody() -> str:
    """Verified against when the username is unknown, so that it takes as long as a wrong
    password; made at the first such sign-in, not at import."""
    return _hasher.hash("no account has this password")


@dataclass(frozen=True)
class SignedIn:
    token: str
    expires_in: int
    must_change_password: bool


def check_password(password: str, username: str) -> None:
    """Long enough, three kinds of character of four, and not the username."""
    kinds = sum(
        (
            any(c.islower() for c in password),
            any(c.isupper() for c in password),
            any(c.isdigit() for c in password),
            any(not c.isalnum() for c in password),
        )
    )
    if len(password) < MIN_PASSWORD_LENGTH or kinds < 3 or username.lower() in password.lower():
        raise ApiError(
            422,
            "weak_password",
            f"a password needs at least {MIN_PASSWORD_LENGTH} characters of three kinds "
            "(lower case, upper case, digits, symbols) and must not contain the username",
            f"密码至少 {MIN_PASSWORD_LENGTH} 位，须包含小写字母、大写字母、数字、符号中的三种，"
            "且不得包含用户名",
        )


async def create(session: AsyncSession, actor: str, body: AccountCreate) -> Account:
    repo = AccountRepository(session)
    if await repo.get(body.username) is not None:
        raise ApiError(
            409,
            "account_exists",
            f"there is an account {body.username} already",
            f"账户 {body.username} 已存在",
        )
    check_password(body.password, body.username)
    now = utcnow()
    account = Account(
        username=body.username,
        display_name=body.display_name,
        roles=body.roles,
        section=body.section,
        clearance=body.clearance,
        password_hash=await _hash(body.password),
        password_changed_at=now,
        created_by=actor,
        created_at=now,
        updated_by=actor,
        updated_at=now,
    )
    await repo.add(account)
    await _audit(session, actor, "account.create", account, {"roles": body.roles})
    return account


async def page(
    session: AsyncSession, *, sort: Sort | None, offset: int, limit: int
) -> Page[Account]:
    items, total = await AccountRepository(session).page(sort=sort, offset=offset, limit=limit)
    return Page(items=list(items), total=total)


async def change(
    session: AsyncSession, principal: Principal, username: str, body: AccountChange
) -> Account:
    account = await _account(session, username)
    changes = body.model_dump(exclude_unset=True, exclude={"password", "unlock"})
    if account.username == principal.subject and (
        changes.get("disabled") or ("roles" in changes and "office" not in changes["roles"])
    ):
        raise ApiError(
            409,
            "own_account",
            "the office can't disable its own account or take its own office role",
            "不能停用自己的账户或取消自己的办公室角色",
        )
    for field, value in changes.items():
        setattr(account, field, value)
    if body.unlock:
        account.failed_attempts, account.locked_until = 0, None
    if body.password is not None:
        check_password(body.password, account.username)
        await _set_password(account, body.password, must_change=True)
    account.updated_by, account.updated_at = principal.subject, utcnow()
    await AccountRepository(session).add(account)
    detail = {**changes, "unlock": body.unlock, "password_reset": body.password is not None}
    await _audit(session, principal.subject, "account.update", account, detail)
    return account


async def sign_in(session: AsyncSession, issuer: BuiltinIssuer, ttl: int, body: SignIn) -> SignedIn:
    """A token for the account, if the password is right and the account may sign in. A wrong
    password is counted, and the count kept although the answer is 401."""
    account = await AccountRepository(session).get(body.username)
    now = utcnow()
    if account is not None and account.locked_until is not None and account.locked_until > now:
        raise _locked(account.locked_until, now)
    known_hash = _nobody() if account is None else account.password_hash
    if not await _verifies(known_hash, body.password) or account is None:
        if account is not None:
            account.failed_attempts += 1
            if account.failed_attempts >= MAX_FAILED_SIGN_INS:
                account.locked_until = now + LOCKOUT
            await AccountRepository(session).add(account)
            await _audit(
                session,
                account.username,
                "account.sign_in_failed",
                account,
                {"failed_attempts": account.failed_attempts},
            )
        raise KeptRefusalError(
            401, "invalid_credentials", "wrong username or password", "用户名或密码错误"
        )
    if account.disabled:
        raise ApiError(403, "account_disabled", "the account is disabled", "该账户已停用")
    account.failed_attempts, account.locked_until = 0, None
    await AccountRepository(session).add(account)
    await _audit(session, account.username, "account.sign_in", account, {})
    token = issuer.mint(
        account.username,
        account.role_list(),
        section=account.section,
        clearance=account.clearance,
        ttl_seconds=ttl,
        extra={"name": account.display_name},  # OpenID Connect's claim, for the console
    )
    return SignedIn(token, ttl, account.must_change_password)


async def change_password(
    session: AsyncSession, principal: Principal, body: PasswordChange
) -> None:
    account = await AccountRepository(session).get(principal.subject)
    if account is None:
        raise ApiError(
            404,
            "no_local_account",
            "the caller has no local account (signed in elsewhere)",
            "当前用户没有本地账户",
        )
    if not await _verifies(account.password_hash, body.current_password):
        raise ApiError(403, "wrong_password", "the current password is wrong", "当前密码不正确")
    if body.new_password == body.current_password:
        raise ApiError(
            422,
            "same_password",
            "choose a password other than the current one",
            "新密码不能与当前密码相同",
        )
    check_password(body.new_password, account.username)
    await _set_password(account, body.new_password, must_change=False)
    account.updated_by, account.updated_at = principal.subject, utcnow()
    await AccountRepository(session).add(account)
    await _audit(session, principal.subject, "account.password_change", account, {})


# Hashing takes tens of milliseconds of CPU on purpose: on a worker thread, not the event loop.
async def _hash(password: str) -> str:
    return await to_thread.run_sync(_hasher.hash, password)


async def _verifies(password_hash: str, password: str) -> bool:
    try:
        return await to_thread.run_sync(_hasher.verify, password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


async def _set_password(account: Account, password: str, *, must_change: bool) -> None:
    account.password_hash = await _hash(password)
    account.password_changed_at = utcnow()
    account.must_change_password = must_change
    account.failed_attempts, account.locked_until = 0, None


def _locked(until: datetime, now: datetime) -> ApiError:
    seconds = max(1, int((until - now).total_seconds()))
    minutes = -(-seconds // 60)
    error = ApiError(
        429,
        "account_locked",
        f"too many failed sign-ins; try again in {minutes} min or ask the office to unlock",
        f"登录失败次数过多，账户已锁定，请 {minutes} 分钟后再试或联系办公室解锁",
    )
    error.headers = {"Retry-After": str(seconds)}
    return error


async def _account(session: AsyncSession, username: str) -> Account:
    account = await AccountRepository(session).get(username)
    if account is None:
        raise ApiError(404, "account_not_found", f"no account {username}", "未找到该账户")
    return account


async def _audit(
    session: AsyncSession, actor: str, action: str, account: Account, detail: dict[str, object]
) -> None:
    await audit.append(
        session, actor=actor, action=action, target=f"account:{account.username}", detail=detail
    )
