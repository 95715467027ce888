"""`wasb` typed in a checkout works on the database of the service it goes with (the demo's,
or the one its configuration names) and says which database that is."""
from __future__ import annotations

import os
import subprocess

import httpx
from sqlalchemy.engine import make_url

from tests.demo.test_demo import Demo
from tests.support.server import WASB, WasbServer


def wasb_in(directory, *args: str, **extra_env: str) -> subprocess.CompletedProcess:
    """`wasb …` as a person types it in `directory`: no WASB_* in their shell but `extra_env`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WASB_")} | extra_env
    return subprocess.run([WASB, *args], env=env, cwd=directory, capture_output=True, text=True, timeout=60)


def test_a_token_made_in_the_checkout_works_on_the_running_demo(tmp_path):
    checkout = tmp_path  # the demo keeps everything in <checkout>/var/demo, as `make run` does
    demo = Demo(checkout / "var" / "demo")
    try:
        demo.wait_ready()
        assert f"typed in {checkout}" in demo.output  # the banner says how to reach its database
        made = wasb_in(checkout, "token", "create", "my-script")
        assert made.returncode == 0, made.stderr
        database = checkout / "var" / "demo" / "wasb.db"
        assert f"wasb: database sqlite:///{database} (from WASB_DATABASE_URL in {database.parent / 'demo.env'})" \
            in made.stderr
        token = made.stdout.strip()
        answer = httpx.get(f"http://127.0.0.1:{demo.port}/api/v1/conversations",
                           headers={"Authorization": f"Bearer {token}"}, timeout=30)
        assert answer.status_code == 200, answer.text
        assert not (checkout / "wasb.db").exists()  # no second database next to the demo's
    finally:
        demo.kill()


def test_a_token_made_with_the_services_configuration_is_accepted_and_the_password_never_shown(
        database_url, tmp_path):
    url = make_url(database_url)
    if url.get_backend_name() == "postgresql":
        url = url.set(password="pw-never-printed")  # trust authentication: accepted, unused
    server = WasbServer(url.render_as_string(hide_password=False), tmp_path).start()
    try:
        env_file = tmp_path / "service.env"
        env_file.write_text("".join(f"{k}={v}\n" for k, v in server.env.items() if k.startswith("WASB_")))
        elsewhere = tmp_path / "elsewhere"
        elsewhere.mkdir()
        made = wasb_in(elsewhere, "token", "create", "crm-workflow", WASB_ENV_FILE=str(env_file))
        assert made.returncode == 0, made.stderr
        shown = url.render_as_string(hide_password=True)
        assert f"wasb: database {shown} (from WASB_DATABASE_URL in {env_file})" in made.stderr
        assert "pw-never-printed" not in made.stderr + made.stdout
        assert server.api("GET", "/api/v1/conversations", token=made.stdout.strip()).status_code == 200
        assert not (elsewhere / "wasb.db").exists()

        missing = wasb_in(elsewhere, "token", "create", "x", WASB_ENV_FILE=str(tmp_path / "nope.env"))
        assert missing.returncode != 0 and "nope.env: no such file" in missing.stderr
    finally:
        server.stop()
