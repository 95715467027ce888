"""The `wasb` command as an operator uses it."""
import hashlib

from sqlalchemy import select

from tests.support.server import base_env, run_cli
from wasb.auth.passwords import check_password
from wasb.auth.tables import ApiToken, User
from wasb.store.engine import open_database


def rows(url, model):
    db = open_database(url)
    try:
        with db.read_sessions() as s:
            return s.scalars(select(model)).all()
    finally:
        db.dispose()


def test_user_create_reads_the_password_from_standard_input_and_stores_only_a_hash(database_url, tmp_path):
    env = base_env(database_url, tmp_path)
    (tmp_path / "media").mkdir()
    result = run_cli(env, "user", "create", "maria", "--admin", stdin="correct horse battery\n")
    assert result.returncode == 0, result.stderr
    assert "created admin maria" in result.stdout
    (user,) = rows(database_url, User)
    assert user.username == "maria" and user.is_admin
    assert "correct horse" not in user.password_hash and user.password_hash.startswith("$argon2")
    assert check_password(user.password_hash, "correct horse battery")


def test_user_create_generate_prints_a_password_that_works_once(database_url, tmp_path):
    env = base_env(database_url, tmp_path)
    (tmp_path / "media").mkdir()
    result = run_cli(env, "user", "create", "luca", "--generate")
    assert result.returncode == 0, result.stderr
    password = result.stdout.strip().splitlines()[-1].removeprefix("password: ")
    assert len(password) >= 16
    (user,) = rows(database_url, User)
    assert not user.is_admin and check_password(user.password_hash, password)


def test_user_create_refuses_a_short_password_and_a_duplicate_name(database_url, tmp_path):
    env = base_env(database_url, tmp_path)
    (tmp_path / "media").mkdir()
    short = run_cli(env, "user", "create", "x", stdin="short\n")
    assert short.returncode != 0 and "at least 8" in short.stderr
    assert run_cli(env, "user", "create", "anna", stdin="long enough pw\n").returncode == 0
    again = run_cli(env, "user", "create", "anna", stdin="long enough pw\n")
    assert again.returncode != 0 and "already exists" in again.stderr


def test_token_create_prints_the_token_once_and_keeps_its_hash(database_url, tmp_path):
    env = base_env(database_url, tmp_path)
    (tmp_path / "media").mkdir()
    result = run_cli(env, "token", "create", "zapier")
    token = result.stdout.strip()
    assert result.returncode == 0 and token.startswith("wasb_") and len(token) > 40
    (row,) = rows(database_url, ApiToken)
    assert row.name == "zapier" and row.is_admin
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in row.token_hash


def test_migrate_is_repeatable(database_url, tmp_path):
    env = base_env(database_url, tmp_path)
    (tmp_path / "media").mkdir()
    assert run_cli(env, "migrate").returncode == 0
    second = run_cli(env, "migrate")
    assert second.returncode == 0 and "up to date" in second.stdout


def test_serve_and_worker_that_cannot_reach_their_database_exit_1_naming_it_without_its_password(tmp_path):
    # Nothing listens on port 9 (discard): the connection is refused at once.
    env = base_env("postgresql://wasb:s3cret-pw@127.0.0.1:9/wasb", tmp_path)
    (tmp_path / "media").mkdir()
    for command in (("worker",), ("serve", "--no-worker", "--port", "9")):
        result = run_cli(env, *command)
        assert result.returncode == 1, (command, result.stderr)
        assert "cannot reach the database (database postgresql://wasb:***@127.0.0.1:9/wasb" in result.stderr
        assert "s3cret-pw" not in result.stderr and "Traceback" not in result.stderr
