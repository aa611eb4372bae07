"""Accounts: hashed passwords, roles, session tokens, the throttle on guessing, the first
admin, the CLI that manages them, and the server's sign-in."""

from __future__ import annotations

import sqlite3
import stat
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from hotline.accounts import (
    FIRST_ADMIN_FILENAME,
    AccountError,
    AccountStore,
    SignInThrottle,
    accounts_path,
    ensure_first_admin,
    hash_password,
    verify_password,
)
from hotline.clients.client import OperatorClient
from tests.conftest import TEST_PASSWORD, add_account, url

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


def test_store_keeps_no_plaintext_and_only_its_owner_can_read_it(tmp_path):
    with AccountStore.in_data_dir(tmp_path) as store:
        account = store.add("ana", "s3cret-pass", ["es", "EN"], display_name="Ana Pérez")
        assert account.languages == ["es", "en"] and account.display_name == "Ana Pérez"
        assert account.role == "operator" and account.takes_calls
        with pytest.raises(AccountError):
            store.add("ana", "another-pass", ["es"])
        with pytest.raises(AccountError):
            store.add("bo", "short", ["es"])
        with pytest.raises(AccountError):
            store.add("bo", "long-enough", ["es"], role="janitor")
        assert store.verify("ana", "s3cret-pass").name == "ana"
        assert store.verify("ana", "wrong-pass") is None
        assert store.verify("nobody", "s3cret-pass") is None
    path = accounts_path(tmp_path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert b"s3cret-pass" not in path.read_bytes()
    with sqlite3.connect(path) as conn:
        (stored,) = conn.execute("SELECT password_hash FROM operators").fetchone()
    assert verify_password("s3cret-pass", stored)


def test_roles_decide_who_takes_calls(tmp_path):
    with AccountStore.in_data_dir(tmp_path) as store:
        qa = store.add("quinn", "qa-pass-123", [], role="qa")
        supervisor = store.add("sam", "sup-pass-123", ["en"], role="supervisor")
    assert not qa.takes_calls
    assert supervisor.takes_calls


def test_a_session_token_is_stored_hashed_and_ends_with_the_password_or_the_account(tmp_path):
    with AccountStore.in_data_dir(tmp_path) as store:
        ana = store.add("ana", "s3cret-pass", ["es"])
        session = store.open_session(ana, timedelta(hours=1), "10.0.0.5")
        assert store.session(session.token).account.name == "ana"
        assert store.session(session.token + "x") is None
        with sqlite3.connect(store.path) as conn:
            (hashed,) = conn.execute("SELECT token_hash FROM sessions").fetchone()
        assert session.token not in hashed

        expired = store.open_session(ana, timedelta(seconds=-1))
        assert store.session(expired.token) is None

        store.set_password("ana", "n3w-password")
        assert store.session(session.token) is None, "a new password ends the old sessions"
        assert store.verify("ana", "s3cret-pass") is None
        again = store.open_session(store.verify("ana", "n3w-password"), timedelta(hours=1))

        store.set_disabled("ana")
        assert store.session(again.token) is None
        assert store.verify("ana", "n3w-password") is None, "a disabled account cannot sign in"
        store.set_disabled("ana", False)
        assert store.verify("ana", "n3w-password") is not None
        with pytest.raises(AccountError):
            store.set_disabled("nobody")


def test_a_first_start_makes_an_admin_whose_password_only_the_owner_can_read(tmp_path):
    password = ensure_first_admin(tmp_path)
    assert password and len(password) >= 12
    written = tmp_path / FIRST_ADMIN_FILENAME
    assert written.read_text().strip() == password
    assert stat.S_IMODE(written.stat().st_mode) == 0o600
    with AccountStore.in_data_dir(tmp_path) as store:
        admin = store.verify("admin", password)
    assert admin is not None and admin.role == "admin"
    assert ensure_first_admin(tmp_path) is None, "only the very first start makes one"


def test_throttle_refuses_guesses_past_the_limit_until_the_window_passes():
    throttle = SignInThrottle(per_account=3, per_address=5, window_s=60.0)
    for second in range(3):
        assert throttle.retry_after("ana", "10.0.0.1", second) == 0
        throttle.failed("ana", "10.0.0.1", second)
    assert throttle.retry_after("ana", "10.0.0.9", 3.0) == pytest.approx(57.0)
    assert throttle.retry_after("bo", "10.0.0.1", 3.0) == 0, "other names from there may try"
    assert throttle.retry_after("ana", "10.0.0.9", 60.5) == 0, "the oldest failure aged out"

    for name in ("bo", "cy"):
        throttle.failed(name, "10.0.0.1", 4.0)
    assert throttle.retry_after("dee", "10.0.0.1", 5.0) > 0, "five failures from one address"

    throttle.succeeded("ana")
    assert throttle.retry_after("ana", "10.0.0.2", 5.0) == 0


def _hotline(tmp_path: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "hotline.cli", *args[:1], "--data-dir", str(tmp_path), *args[1:]],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        timeout=60,
    )


def test_cli_manages_accounts_and_never_shows_a_password(tmp_path):
    added = _hotline(
        tmp_path, "accounts", "add", "sam", "--role", "supervisor", "--languages", "es,en",
        "--password-stdin", stdin="pa55-word!\n",
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    old_style = _hotline(
        tmp_path, "operators", "add", "ana", "--languages", "ko", "--password-stdin",
        stdin="ana-pass-1\n",
    )  # fmt: skip
    assert old_style.returncode == 0, old_style.stderr
    again = _hotline(
        tmp_path, "accounts", "add", "sam", "--role", "qa", "--password-stdin", stdin="pa55-word!\n"
    )
    assert again.returncode == 2 and "exists already" in again.stderr

    assert _hotline(tmp_path, "accounts", "disable", "ana").returncode == 0
    listed = _hotline(tmp_path, "accounts", "list")
    assert listed.returncode == 0
    rows = {line.split()[0]: line for line in listed.stdout.splitlines()}
    assert "supervisor" in rows["sam"] and "es,en" in rows["sam"]
    assert "operator" in rows["ana"] and rows["ana"].endswith("disabled")
    assert "pa55-word!" not in listed.stdout

    changed = _hotline(
        tmp_path, "accounts", "passwd", "sam", "--password-stdin", stdin="n3w-pa55\n"
    )
    assert changed.returncode == 0, changed.stderr
    with AccountStore.in_data_dir(tmp_path) as store:
        assert store.verify("sam", "n3w-pa55") is not None
        assert store.verify("sam", "pa55-word!") is None
        assert store.verify("ana", "ana-pass-1") is None


async def test_server_refuses_a_bad_password_and_resumes_with_a_token(start_server):
    server = await start_server()
    assert (server.data_dir / FIRST_ADMIN_FILENAME).exists(), "a first start makes an admin"
    add_account(server, "ana", ["es", "en"])

    intruder = OperatorClient(url(server, "/operator"))
    error = await intruder.sign_in("ana", [], password="guess-1234")
    assert error["type"] == "error" and error["code"] == "bad_credentials" and error["fatal"]
    await intruder.closed.wait()
    assert intruder._ws.close_code == 1008
    no_password = OperatorClient(url(server, "/operator"))
    error = await no_password.connect(name="ana", languages=["es"])
    assert error["code"] == "bad_credentials"
    await no_password.close()

    ana = OperatorClient(url(server, "/operator"))
    ready = await ana.sign_in("ana", [], password=TEST_PASSWORD)
    assert ready["type"] == "ready", ready
    assert ready["languages"] == ["es", "en"] and ready["role"] == "operator"
    assert ready["token"] and ready["expires"]
    await ana.close()

    resumed = OperatorClient(url(server, "/operator"))
    ready = await resumed.connect(token=ready["token"], languages=["en", "ko"])
    assert ready["type"] == "ready" and ready["languages"] == ["en"], ready
    await resumed.close()
    forged = OperatorClient(url(server, "/operator"))
    error = await forged.connect(token="not-a-session")
    assert error["code"] == "bad_credentials"
    await forged.close()


async def test_server_throttles_guessing_even_when_the_guess_is_right(start_server):
    def strict(config):
        config.security.sign_in_failures_per_account = 2

    server = await start_server(strict)
    add_account(server, "ana", ["es"])
    for guess in ("guess-0001", "guess-0002"):
        client = OperatorClient(url(server, "/operator"))
        error = await client.sign_in("ana", [], password=guess)
        assert error["code"] == "bad_credentials"
        await client.close()
    client = OperatorClient(url(server, "/operator"))
    error = await client.sign_in("ana", [], password=TEST_PASSWORD)
    assert error["code"] == "too_many_attempts" and error["fatal"], error
    await client.close()


async def test_only_accounts_that_take_calls_sit_at_the_console(start_server):
    server = await start_server()
    add_account(server, "quinn", [], role="qa")
    qa = OperatorClient(url(server, "/operator"))
    error = await qa.sign_in("quinn", [], password=TEST_PASSWORD)
    assert error["code"] == "not_allowed" and error["fatal"], error
    await qa.close()

    add_account(server, "ana", ["es"])
    with AccountStore.in_data_dir(server.data_dir) as store:
        store.set_disabled("ana")
    disabled = OperatorClient(url(server, "/operator"))
    error = await disabled.sign_in("ana", [], password=TEST_PASSWORD)
    assert error["code"] == "bad_credentials"
    await disabled.close()
