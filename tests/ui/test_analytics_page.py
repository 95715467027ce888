"""The analytics dashboard in the browser, in English and Italian, on the fixed week of
tests/reports/analytics_data.py: the page's figures are the hand-computed ones, the charts are
drawn without any external file, the agent filter narrows them and the CSV link follows it."""
from __future__ import annotations

import pytest

from tests.reports.analytics_data import ADMIN_USER, WEEK_FROM, WEEK_TO, build_week, run_analytics
from tests.support.wired import module_wired
from tests.ui.conftest import create_users, log_in, shot

WORDS = {"en": {"title": "Analytics", "agent": "Agent", "show": "Show", "everyone": "Everyone",
                "utility": "utility", "frt": "45 min"},
         "it": {"title": "Analisi", "agent": "Operatore", "show": "Mostra", "everyone": "Tutti",
                "utility": "servizio", "frt": "45 min"}}


@pytest.fixture(scope="module")
def week(tmp_path_factory):
    with pytest.MonkeyPatch.context() as monkeypatch, \
            module_wired(tmp_path_factory, "ui-analytics", timezone="Europe/Rome") as wired:
        build_week(wired, monkeypatch)
        run_analytics(wired)
        create_users(wired, [dict(username="capa-it", password="password-della-capa", is_admin=True, language="it")])
        yield wired


@pytest.mark.parametrize("lang", ["en", "it"])
def test_the_dashboard_shows_the_weeks_figures_and_filters_by_agent(week, page, lang):
    words = WORDS[lang]
    who = ADMIN_USER if lang == "en" else ("capa-it", "password-della-capa")
    log_in(page, week.url, who, next_path="/ui/analytics")
    page.goto(f"{week.url}/ui/analytics?from={WEEK_FROM}&to={WEEK_TO}")
    assert page.locator("h1").inner_text() == words["title"]
    # the week: 4 conversations, 4 messages in and out, 1 window expired, first response median 45 min
    figures = {k: page.locator(f"#{k}").inner_text() for k in ("total-opened", "total-in", "total-out",
                                                                 "total-expired", "frt-median")}
    assert figures == {"total-opened": "4", "total-in": "4", "total-out": "4", "total-expired": "1",
                       "frt-median": words["frt"]}
    assert page.locator(".chart-card svg").count() >= 2  # drawn by the server, inline
    assert page.locator('#templates-table tr[data-category="utility"] td').first.inner_text() == words["utility"]
    assert sorted(page.locator("#agents-table tbody tr").evaluate_all("rows => rows.map(r => r.dataset.agent)")) \
        == ["ada", "bruno"]
    shot(page, f"analytics-{lang}")

    page.get_by_label(words["agent"]).select_option("ada")
    page.get_by_role("button", name=words["show"]).click()
    page.wait_for_url("**agent=ada*")
    assert page.locator("#agents-table tbody tr").evaluate_all("rows => rows.map(r => r.dataset.agent)") == ["ada"]
    assert page.locator("#total-opened").inner_text() == "2"
    assert "agent=ada" in page.locator("#csv").get_attribute("href")
