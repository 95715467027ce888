"""Password guessing: counted atomically, throttled per client address, and alike for
every name (an unknown name costs the same argon2 check as a wrong password)."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import httpx
import pytest
from argon2 import PasswordHasher
from sqlalchemy import update

from tests.support.ui_http import add_user, try_login
from wasb.auth import login
from wasb.auth.service import set_active
from wasb.auth.tables import User
from wasb.store.base import utcnow
from wasb.store.engine import open_database

AGENT = ("bruno", "agent-password-1")


@pytest.fixture
def db(database_url):
    add_user(database_url, *AGENT)
    database = open_database(database_url)
    yield database
    database.dispose()


@pytest.fixture
def verified(monkeypatch):
    """Every argon2 verification the login runs: the hash it checked against."""
    calls: list[str] = []
    real = PasswordHasher.verify

    def spy(self, hash, password):  # noqa: A002 - argon2's own parameter name
        calls.append(hash if isinstance(hash, str) else hash.decode())
        return real(self, hash, password)

    monkeypatch.setattr(PasswordHasher, "verify", spy)
    return calls


def attempt(db, client: str, username: str, password: str) -> tuple[bool, login.Attempt]:
    """What the login route does: reserve (commit), check outside a transaction, finish (commit)."""
    with db.sessions() as session, session.begin():
        reserved = login.reserve_attempt(session, client, username)
    if reserved.throttled_until:
        return False, reserved
    correct = login.check_attempt(reserved, password)
    with db.sessions() as session, session.begin():
        return login.finish_attempt(session, reserved, correct) is not None, reserved


def real_hash(db) -> str:
    with db.read_sessions() as session:
        return session.query(User).filter_by(username=AGENT[0]).one().password_hash


def test_parallel_wrong_passwords_lock_the_account_after_the_designed_count(db, verified):
    guesses = 2 * login.ACCOUNT_MAX_FAILURES
    # Each guess from its own address: the per-client throttle stays out of the way, only
    # the account's count can stop them.
    with ThreadPoolExecutor(max_workers=guesses) as pool:
        results = list(pool.map(lambda n: attempt(db, f"10.0.{n // 250}.{n % 250}", AGENT[0], f"guess-{n}")[0],
                                range(guesses)))
    assert not any(results)
    checked_for_real = verified.count(real_hash(db))
    assert checked_for_real == login.ACCOUNT_MAX_FAILURES
    assert len(verified) == guesses  # the rest ran against the dummy hash: same cost, no answer
    with db.read_sessions() as session:
        assert session.query(User).filter_by(username=AGENT[0]).one().locked_until > utcnow()
    assert attempt(db, "192.0.2.1", *AGENT)[0] is False  # locked: even the right password


def test_parallel_guesses_from_one_address_are_checked_only_up_to_the_client_limit(db, verified):
    guesses = 3 * login.CLIENT_MAX_FAILURES
    with ThreadPoolExecutor(max_workers=guesses) as pool:
        outcomes = list(pool.map(lambda n: attempt(db, "198.51.100.77", AGENT[0], f"guess-{n}"), range(guesses)))
    throttled = [reserved for _, reserved in outcomes if reserved.throttled_until]
    assert len(throttled) == guesses - login.CLIENT_MAX_FAILURES
    assert len(verified) == login.CLIENT_MAX_FAILURES  # the throttled ones were not checked at all
    with db.read_sessions() as session:
        assert session.query(User).filter_by(username=AGENT[0]).one().locked_until is None  # nobody locked out


def test_the_right_password_after_a_few_failures_clears_the_count(db):
    for n in range(3):
        assert attempt(db, "192.0.2.7", AGENT[0], f"typo-{n}")[0] is False
    assert attempt(db, "192.0.2.7", *AGENT)[0] is True
    with db.read_sessions() as session:
        assert session.query(User).filter_by(username=AGENT[0]).one().failed_logins == 0


def test_an_expired_lock_lets_the_user_in_again(db):
    with db.sessions() as session, session.begin():
        session.execute(update(User).values(locked_until=utcnow() - timedelta(seconds=1), failed_logins=0))
    assert attempt(db, "192.0.2.8", *AGENT)[0] is True


@pytest.mark.parametrize("case", ["unknown name", "wrong password", "locked account", "deactivated account"])
def test_every_refusal_runs_the_argon2_check(db, verified, case):
    username, password = AGENT[0], "not-the-password"
    if case == "unknown name":
        username = "nobody-here"
    elif case == "locked account":
        password = AGENT[1]
        with db.sessions() as session, session.begin():
            session.execute(update(User).values(locked_until=utcnow() + timedelta(minutes=5)))
    elif case == "deactivated account":
        password = AGENT[1]
        with db.sessions() as session, session.begin():
            set_active(session, session.query(User).filter_by(username=AGENT[0]).one().id, False)
    ok, reserved = attempt(db, "198.51.100.9", username, password)
    assert ok is False
    assert len(verified) == 1  # the same argon2 work as a wrong password: timing tells nothing
    expected = real_hash(db) if case == "wrong password" else login.dummy_hash()
    assert verified == [expected]


def test_one_address_is_throttled_with_retry_after_and_the_user_still_logs_in_from_elsewhere(server):
    add_user(server.database_url, *AGENT)
    with httpx.Client(base_url=server.url, timeout=30) as client:
        for _ in range(login.CLIENT_MAX_FAILURES):
            assert try_login(client, AGENT[0], "wrong-password").status_code == 401
        for who in (AGENT[0], "nobody-here"):  # any name, even the right password: the address waits
            throttled = try_login(client, who, AGENT[1])
            assert throttled.status_code == 429
            assert 0 < int(throttled.headers["retry-after"]) <= login.CLIENT_WINDOW.total_seconds()
            assert "Too many failed attempts from your address" in throttled.text
        # The real user, at another address (a proxy on 127.0.0.1 is trusted for X-Forwarded-For):
        # the stranger's guesses did not lock the account.
        elsewhere = try_login(client, *AGENT, headers={"X-Forwarded-For": "203.0.113.5"})
        assert elsewhere.status_code == 303


def test_parallel_guesses_over_http_leave_the_account_locked(server):
    add_user(server.database_url, *AGENT)
    guesses = 40

    def guess(n: int) -> int:
        with httpx.Client(base_url=server.url, timeout=60) as client:
            return try_login(client, AGENT[0], f"guess-{n}", headers={"X-Forwarded-For": f"10.1.0.{n}"}).status_code

    with ThreadPoolExecutor(max_workers=guesses) as pool:
        assert set(pool.map(guess, range(guesses))) == {401}
    with httpx.Client(base_url=server.url, timeout=30) as client:
        assert try_login(client, *AGENT, headers={"X-Forwarded-For": "10.2.0.1"}).status_code == 401
