"""Accounts and sessions: who may sign in, in which role, with which languages.

Accounts live in their own SQLite file, ``operators.sqlite3`` in the data folder, beside the
records file but apart from it: keeping credentials out of the records means an exported or
copied records file never carries password hashes. Tables and columns are created when
missing, so a file from an earlier version opens as it is (its accounts become operators).

Passwords are stored only as scrypt hashes with a random salt per account
(``scrypt$N$r$p$salt$hash``, base64) and checked in constant time. A successful sign-in
gives a session token with an expiry; only its SHA-256 is stored, so the file never holds a
token that could be replayed. Sign-in is never open: on a first start with no account, the
server makes an ``admin`` account with a random password (:func:`ensure_first_admin`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hotline.wire.vocabulary import AccountRole

__all__ = [
    "ACCOUNTS_FILENAME",
    "FIRST_ADMIN_FILENAME",
    "Account",
    "AccountError",
    "AccountStore",
    "Session",
    "accounts_path",
    "ensure_first_admin",
    "hash_password",
    "verify_password",
]

ACCOUNTS_FILENAME = "operators.sqlite3"
FIRST_ADMIN_FILENAME = "initial-admin-password"
SCRYPT_N = 1 << 14
SCRYPT_R = 8
SCRYPT_P = 1
SALT_BYTES = 16
HASH_BYTES = 32
NAME_MAX = 64
PASSWORD_MIN = 8
TOKEN_BYTES = 32
ROLES_THAT_TAKE_CALLS = frozenset({AccountRole.OPERATOR, AccountRole.SUPERVISOR})

_SCHEMA = (
    """
    CREATE TABLE IF NOT EXISTS operators (
        name          TEXT PRIMARY KEY NOT NULL,
        display_name  TEXT NOT NULL,
        languages     TEXT NOT NULL,
        password_hash TEXT NOT NULL,
        created       TEXT NOT NULL
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS sessions (
        token_hash TEXT PRIMARY KEY NOT NULL,
        name       TEXT NOT NULL REFERENCES operators (name),
        created    TEXT NOT NULL,
        expires    TEXT NOT NULL,
        address    TEXT
    )
    """,
)
_COLUMNS = {
    "role": "ALTER TABLE operators ADD COLUMN role TEXT NOT NULL DEFAULT 'operator'",
    "disabled": "ALTER TABLE operators ADD COLUMN disabled INTEGER NOT NULL DEFAULT 0",
}
_FIELDS = "name, display_name, languages, created, role, disabled"


class AccountError(ValueError):
    """A bad name, password, role or language list, an account that exists already, or
    credentials that do not match."""


@dataclass(slots=True, frozen=True)
class Account:
    name: str
    display_name: str
    languages: list[str]
    created: datetime
    role: AccountRole = AccountRole.OPERATOR
    disabled: bool = False

    @property
    def takes_calls(self) -> bool:
        return self.role in ROLES_THAT_TAKE_CALLS or self.role == AccountRole.ADMIN


@dataclass(slots=True, frozen=True)
class Session:
    """A signed-in account; ``token`` is what pages and websockets present from then on."""

    token: str
    account: Account
    expires: datetime


def accounts_path(data_dir: Path | str) -> Path:
    return Path(data_dir) / ACCOUNTS_FILENAME


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int, length: int) -> bytes:
    return hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=length, maxmem=256 * n * r
    )


def hash_password(password: str) -> str:
    """An scrypt hash with a fresh random salt, as ``scrypt$N$r$p$salt$hash``."""
    salt = os.urandom(SALT_BYTES)
    digest = _scrypt(password, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P, HASH_BYTES)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, stored: str) -> bool:
    """Whether ``password`` matches ``stored``; the comparison takes constant time."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(digest)
        actual = _scrypt(password, base64.b64decode(salt), int(n), int(r), int(p), len(expected))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


_DUMMY_HASH = hash_password("no such account")


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _check_name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > NAME_MAX or any(c.isspace() for c in name):
        raise AccountError(f"an account name is 1 to {NAME_MAX} characters without spaces")
    return name


def _check_role(role: str) -> AccountRole:
    try:
        return AccountRole(role)
    except ValueError:
        known = ", ".join(r.value for r in AccountRole)
        raise AccountError(f"role {role!r} is not one of {known}") from None


def _check_languages(languages: list[str], role: AccountRole) -> list[str]:
    cleaned = [lang.strip().lower() for lang in languages if lang.strip()]
    if any(not lang.replace("-", "").isalpha() or len(lang) > 16 for lang in cleaned):
        raise AccountError("languages must be codes such as 'es' or 'en'")
    if not cleaned and role in ROLES_THAT_TAKE_CALLS:
        raise AccountError(f"a{'n' if role == 'operator' else ''} {role} needs languages")
    return list(dict.fromkeys(cleaned))


def _check_password(password: str) -> str:
    if len(password) < PASSWORD_MIN:
        raise AccountError(f"a password needs at least {PASSWORD_MIN} characters")
    return password


class AccountStore:
    """The accounts and sessions tables; a short-lived connection per use is fine (sign-ins
    are rare). The file is readable only by its owner."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        created = not self.path.exists()
        self._conn = sqlite3.connect(self.path, isolation_level=None, timeout=10.0)
        if created:
            os.chmod(self.path, 0o600)
        for statement in _SCHEMA:
            self._conn.execute(statement)
        columns = {row[1] for row in self._conn.execute("PRAGMA table_info(operators)")}
        for column, statement in _COLUMNS.items():
            if column not in columns:
                self._conn.execute(statement)

    @classmethod
    def in_data_dir(cls, data_dir: Path | str) -> AccountStore:
        return cls(accounts_path(data_dir))

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> AccountStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- accounts ---------------------------------------------------------------------

    def add(
        self,
        name: str,
        password: str,
        languages: list[str],
        display_name: str | None = None,
        role: str = AccountRole.OPERATOR,
    ) -> Account:
        name = _check_name(name)
        role = _check_role(role)
        languages = _check_languages(languages, role)
        _check_password(password)
        created = datetime.now(UTC)
        display = (display_name or name).strip()
        try:
            self._conn.execute(
                "INSERT INTO operators (name, display_name, languages, password_hash, created, "
                "role, disabled) VALUES (?, ?, ?, ?, ?, ?, 0)",
                (
                    name,
                    display,
                    ",".join(languages),
                    hash_password(password),
                    created.isoformat(),
                    role,
                ),
            )
        except sqlite3.IntegrityError:
            raise AccountError(f"account {name!r} exists already") from None
        return Account(name, display, languages, created, role)

    def set_password(self, name: str, password: str) -> None:
        """A new password; every session of the account ends with the old one."""
        _check_password(password)
        cursor = self._conn.execute(
            "UPDATE operators SET password_hash = ? WHERE name = ?", (hash_password(password), name)
        )
        if cursor.rowcount == 0:
            raise AccountError(f"no account {name!r}")
        self._conn.execute("DELETE FROM sessions WHERE name = ?", (name,))

    def set_disabled(self, name: str, disabled: bool = True) -> None:
        """A disabled account cannot sign in, and its sessions end at once."""
        cursor = self._conn.execute(
            "UPDATE operators SET disabled = ? WHERE name = ?", (int(disabled), name)
        )
        if cursor.rowcount == 0:
            raise AccountError(f"no account {name!r}")
        if disabled:
            self._conn.execute("DELETE FROM sessions WHERE name = ?", (name,))

    def get(self, name: str) -> Account | None:
        row = self._conn.execute(
            f"SELECT {_FIELDS} FROM operators WHERE name = ?", (name,)
        ).fetchone()
        return None if row is None else _account(row)

    def list(self) -> list[Account]:
        rows = self._conn.execute(f"SELECT {_FIELDS} FROM operators ORDER BY name").fetchall()
        return [_account(row) for row in rows]

    def count(self) -> int:
        return self._conn.execute("SELECT count(*) FROM operators").fetchone()[0]

    def verify(self, name: str, password: str) -> Account | None:
        """The account when name and password match and it is enabled, else None; an
        unknown name costs the same hashing time as a wrong password, so timing does not
        tell names apart."""
        row = self._conn.execute(
            f"SELECT {_FIELDS}, password_hash FROM operators WHERE name = ?", (name,)
        ).fetchone()
        if row is None:
            verify_password(password, _DUMMY_HASH)
            return None
        if not verify_password(password, row[6]):
            return None
        account = _account(row[:6])
        return None if account.disabled else account

    # --- sessions ---------------------------------------------------------------------

    def open_session(
        self, account: Account, lifetime: timedelta, address: str | None = None
    ) -> Session:
        token = secrets.token_urlsafe(TOKEN_BYTES)
        now = datetime.now(UTC)
        expires = now + lifetime
        self._conn.execute(
            "INSERT INTO sessions (token_hash, name, created, expires, address) "
            "VALUES (?, ?, ?, ?, ?)",
            (_token_hash(token), account.name, now.isoformat(), expires.isoformat(), address),
        )
        self._conn.execute("DELETE FROM sessions WHERE expires < ?", (now.isoformat(),))
        return Session(token, account, expires)

    def session(self, token: str) -> Session | None:
        """The live session of ``token``: not expired, its account enabled; else None."""
        row = self._conn.execute(
            "SELECT name, expires FROM sessions WHERE token_hash = ?", (_token_hash(token),)
        ).fetchone()
        if row is None:
            return None
        expires = datetime.fromisoformat(row[1])
        account = self.get(row[0])
        if expires <= datetime.now(UTC) or account is None or account.disabled:
            return None
        return Session(token, account, expires)

    def close_session(self, token: str) -> None:
        self._conn.execute("DELETE FROM sessions WHERE token_hash = ?", (_token_hash(token),))


def _account(row: tuple) -> Account:
    name, display_name, languages, created, role, disabled = row
    return Account(
        name,
        display_name,
        [lang for lang in languages.split(",") if lang],
        datetime.fromisoformat(created),
        AccountRole(role),
        bool(disabled),
    )


def ensure_first_admin(data_dir: Path | str) -> str | None:
    """On a first start with no account, an ``admin`` with a random password, which is
    returned (to print once) and written to a file only the owner can read, as Jenkins
    does; None when accounts exist already."""
    data_dir = Path(data_dir)
    with AccountStore.in_data_dir(data_dir) as store:
        if store.count():
            return None
        password = secrets.token_urlsafe(12)
        store.add("admin", password, [], display_name="Administrator", role=AccountRole.ADMIN)
    path = data_dir / FIRST_ADMIN_FILENAME
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(password + "\n")
    return password
