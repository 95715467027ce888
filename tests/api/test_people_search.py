"""People search through the API: LIKE's wildcards typed into the search are literal."""
import pytest


@pytest.fixture
def people(server):
    names = ["Anna Rossi", "100% Pasta srl", "Marco_Bianchi", "Back\\Slash Ltd", "Luca Verdi"]
    for name in names:
        created = server.api("POST", "/api/v1/people", json={"kind": "lead", "name": name})
        assert created.status_code == 201, created.text
    return names


@pytest.mark.parametrize("q, expected", [
    ("%", ["100% Pasta srl"]),
    ("_", ["Marco_Bianchi"]),
    ("\\", ["Back\\Slash Ltd"]),
    ("0%", ["100% Pasta srl"]),
    ("o_B", ["Marco_Bianchi"]),
    ("rossi", ["Anna Rossi"]),
])
def test_wildcards_in_the_search_are_taken_literally(server, people, q, expected):
    found = server.get("/api/v1/people", params={"q": q})
    assert sorted(p["name"] for p in found) == expected
