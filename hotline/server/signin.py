"""Signing people in, for every page and websocket that needs it: a name and password once,
a session token from then on. Guessing is throttled per account and per address before any
password is hashed, and the hashing (scrypt, deliberately slow) runs on one thread of its
own, so a flood of attempts can neither hash in parallel nor hold up anything else."""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

from hotline.accounts import Account, AccountStore, Session, SignInThrottle
from hotline.config import SecurityConfig
from hotline.wire.messages import Hello, ProtocolError
from hotline.wire.vocabulary import AccountRole, ErrorCode

__all__ = ["SignIn"]

log = logging.getLogger(__name__)


class SignIn:
    def __init__(self, data_dir: Path, config: SecurityConfig) -> None:
        self.data_dir = data_dir
        self.lifetime = timedelta(hours=config.session_hours)
        self.throttle = SignInThrottle(
            config.sign_in_failures_per_account, config.sign_in_failures_per_address
        )
        self._hashing = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sign-in")

    def close(self) -> None:
        self._hashing.shutdown(wait=False, cancel_futures=True)

    async def with_password(self, name: str, password: str, address: str) -> Session:
        """A new session, or a fatal ``bad_credentials`` / ``too_many_attempts`` error."""
        loop = asyncio.get_running_loop()
        wait = self.throttle.retry_after(name, address, loop.time())
        if wait > 0:
            log.warning("sign-in refused for %r from %s: too many failures", name, address)
            raise ProtocolError(
                ErrorCode.TOO_MANY_ATTEMPTS,
                f"too many failed sign-ins; try again in {wait / 60:.0f} min",
                fatal=True,
            )
        session = await loop.run_in_executor(self._hashing, self._check, name, password, address)
        if session is None:
            self.throttle.failed(name, address, loop.time())
            log.info("sign-in refused for %r from %s: wrong name or password", name, address)
            raise ProtocolError(ErrorCode.BAD_CREDENTIALS, "wrong name or password", fatal=True)
        self.throttle.succeeded(name)
        log.info("%s %r signed in from %s", session.account.role, name, address)
        return session

    async def for_hello(self, hello: Hello, address: str, *roles: AccountRole) -> Session:
        """The session a ``hello`` asks for (its token, or its name and password), for an
        account with one of ``roles`` (admins always); fatal errors otherwise."""
        if hello.token is not None:
            session = await self.with_token(hello.token)
        else:
            assert hello.name is not None and hello.password is not None
            session = await self.with_password(hello.name, hello.password, address)
        require(session.account, *roles)
        return session

    async def with_token(self, token: str) -> Session:
        session = await asyncio.get_running_loop().run_in_executor(
            self._hashing, self._resume, token
        )
        if session is None:
            raise ProtocolError(
                ErrorCode.BAD_CREDENTIALS, "the session has ended: sign in again", fatal=True
            )
        return session

    def _check(self, name: str, password: str, address: str) -> Session | None:
        with AccountStore.in_data_dir(self.data_dir) as store:
            account = store.verify(name, password)
            if account is None:
                return None
            return store.open_session(account, self.lifetime, address)

    def _resume(self, token: str) -> Session | None:
        with AccountStore.in_data_dir(self.data_dir) as store:
            return store.session(token)


def require(account: Account, *roles: AccountRole) -> None:
    """A fatal ``not_allowed`` unless the account has one of ``roles`` (admins always may)."""
    if account.role != AccountRole.ADMIN and account.role not in roles:
        raise ProtocolError(
            ErrorCode.NOT_ALLOWED,
            f"{'an' if str(account.role)[0] in 'aeiou' else 'a'} {account.role} account cannot "
            "do this; it needs " + " or ".join(str(r) for r in roles),
            fatal=True,
        )
