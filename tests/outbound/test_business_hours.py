"""Business hours through the real service and the simulator: a customer who writes while the
business is closed gets the away message once per closed period, through the outbound queue,
shown as written by the system; while open, nothing. The hours are set with the settings API
relative to the service's own clock (no time is patched). One service for the module."""
from __future__ import annotations

import re
from datetime import timedelta, timezone

import pytest

from tests.outbound.conftest import sim_overrides
from tests.outbound.flows import customer_writes, sent_to
from tests.support.inprocess import module_service
from tests.support.ui_http import add_user, logged_in, page_csrf
from wasb.domain.business_hours import WEEKDAYS
from wasb.domain.clock import follow_offset_file, window_now, write_offset

AWAY = "Siamo chiusi: le rispondiamo appena riapriamo."
ALWAYS_OPEN = {day: ["00:00-24:00"] for day in WEEKDAYS}


@pytest.fixture(scope="module")
def service(tmp_path_factory, simulator_url, sim_settings):
    with module_service(tmp_path_factory, "hours", **sim_overrides(simulator_url, sim_settings)) as srv:
        add_user(srv.database_url, "ada", "admin-password-1", is_admin=True)
        yield srv


@pytest.fixture(scope="module")
def ui(service):
    """An admin logged in to the UI over plain HTTP."""
    client = logged_in(service.url, "ada", "admin-password-1")
    yield client
    client.close()


@pytest.fixture
def wired(service, sim):
    """The simulator (reset for the test) posting to the module's service."""
    sim.post("/_sim/config", json={"webhook_url": service.url + "/webhooks/whatsapp"}).raise_for_status()
    return sim


def closed_now() -> dict[str, list[str]]:
    """Open only on the day after tomorrow (the service's zone is UTC): closed now, whatever the hour."""
    later = (window_now() + timedelta(days=2)).astimezone(timezone.utc)
    return {WEEKDAYS[later.weekday()]: ["00:00-01:00"]}


def set_hours(service, **changes):
    answer = service.api("PUT", "/api/v1/settings", json=changes)
    assert answer.status_code == 200, answer.text
    return answer.json()


def texts_to(sim, wa_id):
    return [s for s in sent_to(sim, wa_id) if s["type"] == "text"]


def test_two_messages_while_closed_get_one_away_message_shown_as_the_system_s(service, wired, ui):
    set_hours(service, business_hours=closed_now(), holidays=[], away_message=AWAY)
    wa_id = "393351000001"
    conversation = customer_writes(wired, service, "Buonasera, è aperto?", wa_id=wa_id)
    service.wait_until(lambda: texts_to(wired, wa_id), what="the away message to reach the simulator")
    customer_writes(wired, service, "C'è qualcuno?", wa_id=wa_id)
    service.wait_idle()
    (away,) = texts_to(wired, wa_id)
    assert away["text"] == AWAY
    messages = service.get(f"/api/v1/conversations/{conversation['id']}")["messages"]
    # (listed by time: Meta's second-precision stamps may put the away message after the second one)
    assert sorted(m["direction"] for m in messages) == ["in", "in", "out"]
    (out,) = [m for m in messages if m["direction"] == "out"]
    assert out["origin"] == "away_message" and out["author"] is None and out["body"] == AWAY
    assert out["status"] in ("sent", "delivered", "read")
    # The conversation and the inbox say so, in the agent's page.
    page = ui.get(f"/ui/conversations/{conversation['id']}").text
    assert "System: away message" in page and "Outside business hours" in page
    assert 'id="outside-hours"' in ui.get("/ui/inbox/list").text


def test_while_open_nothing_is_sent_and_the_inbox_has_no_banner(service, wired, ui):
    set_hours(service, business_hours=ALWAYS_OPEN, holidays=[], away_message=AWAY)
    wa_id = "393351000002"
    conversation = customer_writes(wired, service, "Buongiorno", wa_id=wa_id)
    service.wait_idle()
    assert texts_to(wired, wa_id) == []
    assert [m["direction"] for m in service.get(f"/api/v1/conversations/{conversation['id']}")["messages"]] == ["in"]
    assert "Outside business hours" not in ui.get("/ui/inbox").text


def test_a_holiday_today_closes_even_an_always_open_week(service, wired):
    today = window_now().astimezone(timezone.utc).date().isoformat()
    set_hours(service, business_hours=ALWAYS_OPEN, holidays=[today], away_message=AWAY)
    wa_id = "393351000003"
    customer_writes(wired, service, "Auguri!", wa_id=wa_id)
    service.wait_until(lambda: texts_to(wired, wa_id), what="the away message on a holiday")
    assert [t["text"] for t in texts_to(wired, wa_id)] == [AWAY]


def test_the_next_closed_period_sends_it_again_to_the_same_conversation(service, wired, tmp_path):
    """One hour open every day, twelve hours from now: closed now and a day later, with an
    opening between. A day passes on the product's clock (the demo's offset file) and the
    simulator's, as the phone page's "+24 h" does."""
    opens = (window_now() + timedelta(hours=12)).astimezone(timezone.utc)
    daily = [f"{opens.hour:02d}:00-{(opens.hour + 1) % 24:02d}:00"]
    set_hours(service, business_hours={day: daily for day in WEEKDAYS}, holidays=[], away_message=AWAY)
    wa_id = "393351000004"
    conversation = customer_writes(wired, service, "Ciao", wa_id=wa_id)
    service.wait_until(lambda: texts_to(wired, wa_id), what="the first away message")
    customer_writes(wired, service, "Ci siete?", wa_id=wa_id)
    service.wait_idle()
    assert len(texts_to(wired, wa_id)) == 1  # the same closed period
    clock_file = tmp_path / "clock_offset"
    follow_offset_file(clock_file)
    try:
        write_offset(clock_file, 24 * 3600)
        wired.post("/_sim/clock", json={"advance_seconds": 24 * 3600}).raise_for_status()
        customer_writes(wired, service, "Buongiorno, di nuovo", wa_id=wa_id)
        service.wait_until(lambda: len(texts_to(wired, wa_id)) == 2, what="the next period's away message")
        service.wait_idle()
        assert [t["text"] for t in texts_to(wired, wa_id)] == [AWAY, AWAY]
        messages = service.get(f"/api/v1/conversations/{conversation['id']}")["messages"]
        assert sum(m["origin"] == "away_message" for m in messages) == 2
    finally:
        follow_offset_file(None)


def test_settings_refuse_bad_hours_per_field_and_default_to_always_open(service, ui):
    settings = service.get("/api/v1/settings")
    assert "business_hours" in settings and "holidays" in settings and "away_message" in settings
    refused = service.api("PUT", "/api/v1/settings", json={"business_hours": {"mon": ["09:00-13:00", "12:00-18:00"]}})
    assert refused.status_code == 422 and "overlap" in refused.text
    assert service.api("PUT", "/api/v1/settings", json={"holidays": ["25/12/2026"]}).status_code == 422
    csrf = page_csrf(ui, "/ui/settings")
    form = {"csrf": csrf, "business_hours.mon": "09:00-13:00", "business_hours.tue": "9-18",
            "holidays": "2026-12-25\nChristmas", "away_message": AWAY}
    page = ui.post("/ui/settings", data=form)
    assert page.status_code == 422
    # each reason beside its field; what was typed is shown again; nothing saved
    assert re.search(r'id="s-business_hours-tue-error">[^<]*HH:MM', page.text)
    assert 'id="s-business_hours-mon-error"' not in page.text
    assert re.search(r'id="s-holidays-error">[^<]*not a date', page.text)
    assert 'value="9-18"' in page.text
    form.update({"business_hours.tue": "14:00-18:00, 09:00-12:00", "holidays": "2026-12-25 2026-01-01"})
    assert ui.post("/ui/settings", data=form).status_code == 303
    saved = service.get("/api/v1/settings")
    assert saved["business_hours"] == {"mon": ["09:00-13:00"], "tue": ["09:00-12:00", "14:00-18:00"]}
    assert saved["holidays"] == ["2026-01-01", "2026-12-25"]
