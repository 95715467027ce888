"""The analytics dashboard's figures against hand-computed ones, on the fixed week of
tests/reports/analytics_data.py (its table says who wrote and answered when)."""
from __future__ import annotations

import csv
import io

import pytest

from tests.reports.analytics_data import (
    ADA, BRUNO, WEEK_FROM, WEEK_TO, agents, build_week, rome, run_analytics, text_message,
)
from tests.support.wired import module_wired

UTILITY, MARKETING = 0.03, 0.0691  # the default prices (Meta's rates for Italy)


@pytest.fixture(scope="module")
def week(tmp_path_factory):
    with pytest.MonkeyPatch.context() as monkeypatch, \
            module_wired(tmp_path_factory, "analytics", timezone="Europe/Rome") as wired:
        data = build_week(wired, monkeypatch)
        run_analytics(wired)
        yield wired, data


def figures(wired, **params) -> dict:
    answer = wired.api("GET", "/api/v1/analytics", params={"from": WEEK_FROM, "to": WEEK_TO, **params})
    assert answer.status_code == 200, answer.text
    return answer.json()


def by_day(report: dict) -> dict:
    return {d["day"]: (d["conversations_opened"], d["messages_in"], d["messages_out"], d["templates"],
                       d["template_cost"], d["windows_expired"]) for d in report["days"]}


def test_the_weeks_figures_per_local_day(week):
    wired, _ = week
    report = figures(wired)
    assert (report["timezone"], report["currency"]) == ("Europe/Rome", "USD")
    # Dario's 00:30 on Wednesday is Tuesday in UTC: counted on Wednesday, the local day.
    assert by_day(report) == {
        "2025-07-06": (0, 0, 0, {}, {}, 0),
        "2025-07-07": (2, 2, 1, {"utility": 1}, {"utility": UTILITY}, 0),
        "2025-07-08": (1, 1, 1, {"marketing": 1}, {"marketing": MARKETING}, 0),
        "2025-07-09": (1, 1, 2, {"marketing": 1, "utility": 1}, {"marketing": MARKETING, "utility": UTILITY}, 1),
        "2025-07-10": (0, 0, 0, {}, {}, 0),
    }
    totals = report["totals"]
    assert (totals["conversations_opened"], totals["messages_in"], totals["messages_out"],
            totals["windows_expired"]) == (4, 4, 4, 1)
    assert totals["templates"] == {"marketing": 2, "utility": 2}
    assert totals["template_cost"] == {"marketing": pytest.approx(2 * MARKETING), "utility": pytest.approx(2 * UTILITY)}


def test_response_times_in_business_hours_overall_and_per_agent(week):
    wired, _ = week
    report = figures(wired)
    # First responses: Anna 08:00→09:30 (opens 09:00) 30 min; Bice Mon 17:30→Tue 09:15 30+15 min;
    # Dario 00:30→10:00 60 min. Resolutions: Anna 08:00→17:00 8 h; Bice Mon 17:30→Tue 10:00 1 h 30.
    assert report["first_response_seconds"] == {"count": 3, "median": 2700, "p90": 3600}
    assert report["resolution_seconds"] == {"count": 2, "median": 17100, "p90": 28800}
    agents_ = {a["agent"]: a for a in report["agents"]}
    assert set(agents_) == {ADA[0], BRUNO[0]}
    assert agents_["ada"]["first_response_seconds"] == {"count": 2, "median": 2700, "p90": 3600}
    assert agents_["ada"]["resolution_seconds"] == {"count": 1, "median": 28800, "p90": 28800}
    assert agents_["bruno"]["first_response_seconds"] == {"count": 1, "median": 2700, "p90": 2700}
    assert agents_["bruno"]["resolution_seconds"] == {"count": 1, "median": 5400, "p90": 5400}
    # Conversations are the agent's (assignee, else who answered first); messages out are the author's.
    assert (agents_["ada"]["conversations_opened"], agents_["ada"]["messages_in"], agents_["ada"]["messages_out"]) \
        == (2, 2, 3)
    assert (agents_["bruno"]["conversations_opened"], agents_["bruno"]["messages_in"],
            agents_["bruno"]["messages_out"]) == (1, 1, 1)
    # Carlo's window expired unanswered in nobody's conversation: it counts only overall.
    assert agents_["ada"]["windows_expired"] == agents_["bruno"]["windows_expired"] == 0


def test_one_agents_figures(week):
    wired, _ = week
    report = figures(wired, agent="ada")
    assert report["agent"] == "ada"
    assert by_day(report) == {
        "2025-07-06": (0, 0, 0, {}, {}, 0),
        "2025-07-07": (1, 1, 1, {"utility": 1}, {"utility": UTILITY}, 0),
        "2025-07-08": (0, 0, 0, {}, {}, 0),
        "2025-07-09": (1, 1, 2, {"marketing": 1, "utility": 1}, {"marketing": MARKETING, "utility": UTILITY}, 0),
        "2025-07-10": (0, 0, 0, {}, {}, 0),
    }
    assert report["first_response_seconds"] == {"count": 2, "median": 2700, "p90": 3600}
    assert [a["agent"] for a in report["agents"]] == ["ada"]


def test_the_csv_export_has_the_same_figures(week):
    wired, _ = week
    with agents(wired.url) as (ada, _bruno):
        answer = ada.get("/ui/analytics.csv", params={"from": WEEK_FROM, "to": WEEK_TO})
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/csv")
    assert "wasb-analytics-2025-07-06-2025-07-10.csv" in answer.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    assert [r["day"] for r in rows] == ["2025-07-06", "2025-07-07", "2025-07-08", "2025-07-09", "2025-07-10", "total"]
    wednesday, total = rows[3], rows[-1]
    assert (wednesday["conversations_opened"], wednesday["messages_in"], wednesday["messages_out"],
            wednesday["windows_expired"]) == ("1", "1", "2", "1")
    assert (wednesday["templates_marketing"], wednesday["templates_utility"]) == ("1", "1")
    assert float(wednesday["cost_marketing_USD"]) == pytest.approx(MARKETING)
    assert (total["messages_in"], total["templates_utility"]) == ("4", "2")
    assert float(total["cost_utility_USD"]) == pytest.approx(2 * UTILITY)


def test_a_bad_range_is_refused_with_its_reason(week):
    wired, _ = week
    refused = wired.api("GET", "/api/v1/analytics", params={"from": "2025-07-10", "to": "2025-07-01"})
    assert refused.status_code == 422 and "after" in refused.text
    assert wired.api("GET", "/api/v1/analytics", token="wrong").status_code == 401


def test_a_new_run_adds_only_what_is_new(week):
    """Incremental: a run reads the messages above its mark; running again changes nothing."""
    wired, _ = week
    before = figures(wired)
    run_analytics(wired)
    assert figures(wired) == {**before, "updated_at": figures(wired)["updated_at"]}
    answer = wired.post_webhook(text_message("393400000005", "Ci siete?", "wamid.E1", name="Elena", at=rome(10, 9)))
    assert answer.status_code == 200
    wired.wait_idle()
    job = run_analytics(wired)
    assert job["last_result"]["messages"] == 1
    after = figures(wired, to="2025-07-11")
    days = by_day(after)
    assert days["2025-07-10"] == (1, 1, 0, {}, {}, 0)
    # Nobody answered Elena: her window closed on Friday at 09:00.
    assert days["2025-07-11"] == (0, 0, 0, {}, {}, 1)
    assert {k: v for k, v in days.items() if k < "2025-07-10"} == \
        {k: v for k, v in by_day(before).items() if k < "2025-07-10"}
