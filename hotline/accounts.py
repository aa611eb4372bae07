"""Operator accounts: who may sign in to the console, with which languages.

Accounts live in their own SQLite file, ``operators.sqlite3`` in the data folder, beside the
records file but apart from it: the records file has its own schema versions and migrations,
and keeping credentials out of it means an exported or copied records file never carries
password hashes. The table is created with ``CREATE TABLE IF NOT EXISTS``, so opening an old
or a new file is always safe.

Passwords are stored only as scrypt hashes with a random salt per account
(``scrypt$N$r$p$salt$hash``, base64) and checked in constant time.

While the file holds no account, the server keeps the open sign-in of earlier versions (any
name, the languages the client declares); once one account exists, every operator must sign
in with a name and password (see docs/protocol.md).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

__all__ = [
    "ACCOUNTS_FILENAME",
    "AccountError",
    "AccountStore",
    "OperatorAccount",
    "accounts_path",
    "hash_password",
    "verify_password",
    "check_sign_in",
]

ACCOUNTS_FILENAME = "operators.sqlite3"
SCRYPT_N = 1 << 14
SCRYPT_R = 8
SCRYPT_P = 1
SALT_BYTES = 16
HASH_BYTES = 32
NAME_MAX = 64
PASSWORD_MIN = 8

_SCHEMA = """
CREATE TABLE IF NOT EXISTS operators (
    name          TEXT PRIMARY KEY NOT NULL,
    display_name  TEXT NOT NULL,
    languages     TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created       TEXT NOT NULL
)
"""


class AccountError(ValueError):
    """A bad account name, password or language list, or an account that exists already."""


@dataclass(slots=True, frozen=True)
class OperatorAccount:
    name: str
    display_name: str
    languages: list[str]
    created: datetime


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


_DUMMY_HASH = hash_password("no such operator")


def _check_name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > NAME_MAX or any(c.isspace() for c in name):
        raise AccountError(f"an operator name is 1 to {NAME_MAX} characters without spaces")
    return name


def _check_languages(languages: list[str]) -> list[str]:
    cleaned = [lang.strip().lower() for lang in languages if lang.strip()]
    if not cleaned or any(not lang.isalpha() or len(lang) > 16 for lang in cleaned):
        raise AccountError("languages must be codes such as 'es' or 'en', at least one")
    return list(dict.fromkeys(cleaned))


class AccountStore:
    """The operators table; a short-lived connection per use is fine (sign-ins are rare)."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(self.path, isolation_level=None, timeout=10.0)
        self._conn.execute(_SCHEMA)

    @classmethod
    def in_data_dir(cls, data_dir: Path | str) -> AccountStore:
        return cls(accounts_path(data_dir))

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> AccountStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def add(
        self,
        name: str,
        password: str,
        languages: list[str],
        display_name: str | None = None,
    ) -> OperatorAccount:
        name = _check_name(name)
        languages = _check_languages(languages)
        if len(password) < PASSWORD_MIN:
            raise AccountError(f"a password needs at least {PASSWORD_MIN} characters")
        created = datetime.now(UTC)
        try:
            self._conn.execute(
                "INSERT INTO operators (name, display_name, languages, password_hash, created) "
                "VALUES (?, ?, ?, ?, ?)",
                (
                    name,
                    (display_name or name).strip(),
                    ",".join(languages),
                    hash_password(password),
                    created.isoformat(),
                ),
            )
        except sqlite3.IntegrityError:
            raise AccountError(f"operator {name!r} exists already") from None
        return OperatorAccount(name, (display_name or name).strip(), languages, created)

    def set_password(self, name: str, password: str) -> None:
        if len(password) < PASSWORD_MIN:
            raise AccountError(f"a password needs at least {PASSWORD_MIN} characters")
        cursor = self._conn.execute(
            "UPDATE operators SET password_hash = ? WHERE name = ?", (hash_password(password), name)
        )
        if cursor.rowcount == 0:
            raise AccountError(f"no operator {name!r}")

    def get(self, name: str) -> OperatorAccount | None:
        row = self._conn.execute(
            "SELECT name, display_name, languages, created FROM operators WHERE name = ?", (name,)
        ).fetchone()
        return None if row is None else _account(row)

    def list(self) -> list[OperatorAccount]:
        rows = self._conn.execute(
            "SELECT name, display_name, languages, created FROM operators ORDER BY name"
        ).fetchall()
        return [_account(row) for row in rows]

    def count(self) -> int:
        return self._conn.execute("SELECT count(*) FROM operators").fetchone()[0]

    def verify(self, name: str, password: str) -> OperatorAccount | None:
        """The account when name and password match, else None; an unknown name costs the
        same hashing time as a wrong password, so timing does not tell names apart."""
        row = self._conn.execute(
            "SELECT name, display_name, languages, created, password_hash FROM operators "
            "WHERE name = ?",
            (name,),
        ).fetchone()
        if row is None:
            verify_password(password, _DUMMY_HASH)
            return None
        if not verify_password(password, row[4]):
            return None
        return _account(row[:4])


def _account(row: tuple) -> OperatorAccount:
    name, display_name, languages, created = row
    return OperatorAccount(
        name,
        display_name,
        [lang for lang in languages.split(",") if lang],
        datetime.fromisoformat(created),
    )


def check_sign_in(data_dir: Path, name: str, password: str | None) -> OperatorAccount | None:
    """Blocking (scrypt): None while no account exists (open sign-in); the account when the
    credentials match; :class:`AccountError` otherwise."""
    path = accounts_path(data_dir)
    if not path.exists():
        return None
    with AccountStore(path) as store:
        if store.count() == 0:
            return None
        account = store.verify(name, password or "")
    if account is None:
        raise AccountError("wrong operator name or password")
    return account
