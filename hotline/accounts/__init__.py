"""Who may sign in: accounts with a role (operator, supervisor, qa, admin) and languages,
scrypt-hashed passwords, session tokens with an expiry (``store``), and the throttle that
makes guessing slow (``throttle``). Sign-in is never open: a first start makes an ``admin``
with a random password.

May import: ``hotline.wire`` (the roles). The server signs people in through it; the CLI
manages accounts (``hotline accounts``).
"""

from __future__ import annotations

from hotline.accounts.store import (
    ACCOUNTS_FILENAME,
    FIRST_ADMIN_FILENAME,
    Account,
    AccountError,
    AccountStore,
    Session,
    accounts_path,
    ensure_first_admin,
    hash_password,
    verify_password,
)
from hotline.accounts.throttle import SignInThrottle

__all__ = [
    "ACCOUNTS_FILENAME",
    "FIRST_ADMIN_FILENAME",
    "Account",
    "AccountError",
    "AccountStore",
    "Session",
    "SignInThrottle",
    "accounts_path",
    "ensure_first_admin",
    "hash_password",
    "verify_password",
]
