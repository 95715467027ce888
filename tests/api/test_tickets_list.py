"""The tickets list filters and sorts, in the API and on the tickets page: by number or title
words, status, assignee, how long a ticket has been untouched; sorted by a column."""
from __future__ import annotations

import re
import pytest

from tests.support.tickets import three_tickets
from tests.support.ui_http import add_user, logged_in


@pytest.fixture
def tickets(server):
    return three_tickets(server.database_url)


def numbers(server, **params) -> list[str]:
    return [t["number"] for t in server.get("/api/v1/tickets", params=params)]


def test_the_api_filters_the_tickets_and_combines_the_filters(server, tickets):
    assert numbers(server) == [tickets["refund"], tickets["late"], tickets["screen"]]  # newest first
    assert numbers(server, q="broken") == [tickets["refund"], tickets["screen"]]
    assert numbers(server, q=tickets["late"]) == [tickets["late"]]
    assert numbers(server, q=tickets["late"].removeprefix("TT")) == [tickets["late"]]
    assert numbers(server, status="Closed") == [tickets["late"]]
    assert numbers(server, assigned_user="ada") == [tickets["screen"]]
    assert numbers(server, untouched_days=1) == [tickets["refund"], tickets["late"]]
    assert numbers(server, untouched_days=7) == [tickets["late"]]
    assert numbers(server, q="broken", status="Closed") == []
    assert numbers(server, q="100%") == []  # a wildcard typed is a character looked for


def test_the_api_sorts_by_the_column_asked_for(server, tickets):
    assert numbers(server, sort="number", order="asc") == [tickets["screen"], tickets["late"], tickets["refund"]]
    assert numbers(server, sort="status", order="asc") == [tickets["refund"], tickets["late"], tickets["screen"]]
    assert numbers(server, sort="modified") == [tickets["screen"], tickets["refund"], tickets["late"]]
    refused = server.api("GET", "/api/v1/tickets", params={"sort": "title; drop table"})
    assert refused.status_code == 422
    assert server.api("GET", "/api/v1/tickets", params={"untouched_days": 0}).status_code == 422


def test_the_tickets_page_keeps_its_filters_in_the_sort_and_page_links(server, tickets):
    add_user(server.database_url, "ada", "admin-password-1", is_admin=True)
    client = logged_in(server.url, "ada", "admin-password-1")
    page = client.get("/ui/tickets", params={"q": "broken", "status": "Open", "sort": "number"}).text
    shown = re.findall(r'class="strong">(TT\d+)</a>', page)
    assert shown == [tickets["screen"]]
    sort_link = re.search(r'href="(/ui/tickets\?[^"]*sort=status[^"]*)"', page).group(1)
    assert "q=broken" in sort_link and "status=Open" in sort_link
    nothing = client.get("/ui/tickets", params={"q": "broken", "status": "Closed"}).text
    assert "No ticket matches these filters." in nothing
    assert client.get("/ui/tickets", params={"sort": "bogus"}).status_code == 422
