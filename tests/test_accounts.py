"""Operator accounts: hashed passwords, the CLI that creates them, and the server's sign-in."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from hotline.accounts import (
    AccountError,
    AccountStore,
    accounts_path,
    check_sign_in,
    hash_password,
    verify_password,
)
from hotline.clients.client import OperatorClient
from tests.conftest import url

REPO_ROOT = Path(__file__).resolve().parents[1]


def test_password_hash_is_salted_scrypt_and_verifies_only_the_right_password():
    first = hash_password("correct horse")
    second = hash_password("correct horse")
    assert first.startswith("scrypt$") and "correct horse" not in first
    assert first != second, "each hash has its own random salt"
    assert first.split("$")[4] != second.split("$")[4]
    assert verify_password("correct horse", first) and verify_password("correct horse", second)
    assert not verify_password("correct horsE", first)
    assert not verify_password("correct horse", "plain-text")


def test_store_keeps_no_plaintext_and_checks_credentials(tmp_path):
    with AccountStore.in_data_dir(tmp_path) as store:
        account = store.add("ana", "s3cret-pass", ["es", "EN"], display_name="Ana Pérez")
        assert account.languages == ["es", "en"] and account.display_name == "Ana Pérez"
        with pytest.raises(AccountError):
            store.add("ana", "another-pass", ["es"])
        with pytest.raises(AccountError):
            store.add("bo", "short", ["es"])
        assert store.verify("ana", "s3cret-pass").name == "ana"
        assert store.verify("ana", "wrong-pass") is None
        assert store.verify("nobody", "s3cret-pass") is None
    raw = accounts_path(tmp_path).read_bytes()
    assert b"s3cret-pass" not in raw
    with sqlite3.connect(accounts_path(tmp_path)) as conn:
        (stored,) = conn.execute("SELECT password_hash FROM operators").fetchone()
    assert verify_password("s3cret-pass", stored)


def test_sign_in_is_open_until_the_first_account_exists(tmp_path):
    assert check_sign_in(tmp_path, "anyone", None) is None
    with AccountStore.in_data_dir(tmp_path) as store:
        store.add("ana", "s3cret-pass", ["es"])
    assert check_sign_in(tmp_path, "ana", "s3cret-pass").languages == ["es"]
    with pytest.raises(AccountError):
        check_sign_in(tmp_path, "anyone", None)


def test_cli_adds_an_operator_with_the_password_from_stdin(tmp_path):
    def hotline(*args: str, stdin: str = "") -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "hotline.cli", "operators", "--data-dir", str(tmp_path), *args],
            input=stdin,
            capture_output=True,
            text=True,
            cwd=REPO_ROOT,
            timeout=60,
        )

    added = hotline("add", "ana", "--languages", "es,en", "--password-stdin", stdin="pa55-word!\n")
    assert added.returncode == 0, added.stderr
    again = hotline("add", "ana", "--languages", "es", "--password-stdin", stdin="pa55-word!\n")
    assert again.returncode == 2 and "exists already" in again.stderr
    listed = hotline("list")
    assert listed.returncode == 0 and "ana" in listed.stdout and "es,en" in listed.stdout
    assert "pa55-word!" not in listed.stdout
    with AccountStore.in_data_dir(tmp_path) as store:
        assert store.verify("ana", "pa55-word!") is not None
        assert store.verify("ana", "pa55-word!\n") is None


async def test_server_refuses_a_bad_password_with_bad_credentials(start_server):  # noqa: F811
    server = await start_server()
    with AccountStore.in_data_dir(server.data_dir) as store:
        store.add("ana", "s3cret-pass", ["es", "en"], display_name="Ana")

    intruder = OperatorClient(url(server, "/operator"))
    error = await intruder.connect(name="ana", password="guess-1234")
    assert error["type"] == "error" and error["code"] == "bad_credentials" and error["fatal"]
    await intruder.closed.wait()
    assert intruder._ws.close_code == 1008
    no_password = OperatorClient(url(server, "/operator"))
    error = await no_password.connect(name="ana", languages=["es"])
    assert error["code"] == "bad_credentials"
    await no_password.close()

    ana = OperatorClient(url(server, "/operator"))
    ready = await ana.connect(name="ana", password="s3cret-pass")
    assert ready["type"] == "ready", ready
    assert ready["languages"] == ["es", "en"] and ready["display_name"] == "Ana"
    await ana.close()
    narrowed = OperatorClient(url(server, "/operator"))
    ready = await narrowed.connect(name="ana", password="s3cret-pass", languages=["en", "ko"])
    assert ready["languages"] == ["en"]
    await narrowed.close()
