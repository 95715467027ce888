"""Auto-assignment: with the setting on, a customer's new conversation goes to an agent whose
page is listening to the live stream (online), the least loaded first and equal loads in turn,
never past the cap; an agent with no page open gets none; with nobody free it stays unassigned.
Real server, the simulator's signed webhooks, presence through real `/ui/events` streams."""
from __future__ import annotations

from contextlib import ExitStack, closing, contextmanager

import pytest
from sqlalchemy import select, update

from tests.support.ui_http import logged_in, page_csrf
from tests.support.wired import module_wired
from tests.ui.conftest import create_users
from wasb.auth.tables import User

AGENTS = {"anna": "anna-password-1", "bruno": "bruno-password-1", "carla": "carla-password-1"}


@pytest.fixture(scope="module")
def wired(tmp_path_factory):
    with module_wired(tmp_path_factory, "auto-assign") as w:
        create_users(w, [dict(username=name, password=password) for name, password in AGENTS.items()])
        yield w


@contextmanager
def online(wired, *names):
    """Each agent's page listening to the live stream, as an open inbox does."""
    with ExitStack() as stack:
        for name in names:
            client = stack.enter_context(closing(logged_in(wired.url, name, AGENTS[name])))
            stream = stack.enter_context(client.stream("GET", "/ui/events", timeout=30))
            assert next(stream.iter_lines()).startswith("retry:")  # the stream is open: presence noted
        yield


def _writes(wired, wa_id: str) -> str | None:
    return wired.customer_writes(wa_id, f"Cliente {wa_id[-2:]}", "Salve")["assigned_user"]


def _settings(wired, **values):
    assert wired.api("PUT", "/api/v1/settings", json=values).status_code == 200


def test_new_conversations_go_to_online_agents_in_turn_up_to_the_cap(wired):
    _settings(wired, auto_assign=True, auto_assign_cap=2)
    try:
        with online(wired, "anna", "bruno"):  # carla has no page open
            given = [_writes(wired, f"3933377700{n:02d}") for n in range(5)]
            assert given[:4] == ["anna", "bruno", "anna", "bruno"]  # equal loads take turns
            assert given[4] is None  # both at the cap: left in "Unassigned"

            # anna closes one of hers: the next new conversation is hers again
            first = wired.get("/api/v1/conversations?phone=%2B393337770000")[0]
            with closing(logged_in(wired.url, "anna", AGENTS["anna"])) as anna:
                path = f"/ui/conversations/{first['id']}"
                assert anna.post(f"{path}/close", data={"csrf": page_csrf(anna, path)}).status_code == 303
            assert _writes(wired, "393337770010") == "anna"
        assert "carla" not in given
    finally:
        _settings(wired, auto_assign=False)


def test_an_agent_not_seen_lately_is_offline_and_the_setting_off_assigns_nobody(wired):
    _settings(wired, auto_assign=True, auto_assign_cap=50)
    try:
        with online(wired, "carla"):
            assert _writes(wired, "393337770020") == "carla"
        # carla's page closed long ago: her presence is old
        with wired.app.db.sessions() as session, session.begin():
            seen = session.scalar(select(User.seen_at).where(User.username == "carla"))
            assert seen is not None
            session.execute(update(User).values(seen_at=None))
            session.execute(update(User).where(User.username == "carla").values(
                seen_at=seen.replace(year=seen.year - 1)))
        assert _writes(wired, "393337770021") is None
        _settings(wired, auto_assign=False)
        with online(wired, "carla"):
            assert _writes(wired, "393337770022") is None
    finally:
        _settings(wired, auto_assign=False)
