"""VTQL is built through one escaping function; hostile values stay inside their literal."""
from datetime import datetime

import pytest

from tests.fakes import vtql_engine
from wasb.crm.port import NewPerson
from wasb.crm.vtenext import vtql


def test_quote_doubles_single_quotes():
    assert vtql.quote("O'Brien") == "'O''Brien'"


@pytest.mark.parametrize("hostile", ["x' OR '1'='1", "'; DELETE FROM Leads;", "a\\' OR 1=1 --", "O\\'Brien"])
def test_quote_never_produces_a_backslash_quote(hostile):
    literal = vtql.quote(hostile)
    assert "\\'" not in literal
    assert literal.startswith("'") and literal.endswith("'")


def test_quote_strips_control_characters_and_refuses_the_empty_literal():
    assert vtql.quote("Ma\nrio\x00") == "'Mario'"
    with pytest.raises(vtql.VTQLValueError):
        vtql.quote("")
    with pytest.raises(vtql.VTQLValueError):
        vtql.quote("\n\t")
    with pytest.raises(vtql.VTQLValueError):
        vtql.quote("\\")


@pytest.mark.parametrize("hostile", ["x' OR '1'='1", "x'; SELECT * FROM Users;", "' OR lastname LIKE '%"])
def test_an_injection_attempt_parses_as_one_string_value(hostile):
    query = vtql.select("Leads", "*", vtql.condition("lastname", "=", vtql.quote(hostile)), limit=10)
    parsed = vtql_engine.parse(query)
    assert parsed.module == "Leads"
    assert len(parsed.where) == 1 and len(parsed.where[0]) == 1
    assert parsed.where[0][0].values == [hostile.replace("\\", "")]


def test_conditions_refuse_values_that_did_not_go_through_quote():
    with pytest.raises(vtql.VTQLValueError):
        vtql.condition("lastname", "=", "'x' OR '1'='1'")
    with pytest.raises(vtql.VTQLValueError):
        vtql.condition("lastname; DROP", "=", vtql.quote("x"))


@pytest.mark.parametrize("bad", ["garbage", "2025-02-31 10:00:00", "2025-02-27 22:21:44' OR '1'='1", "2025-02-27"])
def test_malformed_times_are_refused_since_the_crm_would_match_every_row(bad):
    with pytest.raises(vtql.VTQLValueError):
        vtql.quote_time(bad)


def test_times_and_ids_are_validated_before_quoting():
    assert vtql.quote_time(datetime(2025, 2, 27, 22, 21, 44)) == "'2025-02-27 22:21:44'"
    assert vtql.quote_id("9x123") == "'9x123'"
    for bad in ("123", "9x12 OR 1", "x9", ""):
        with pytest.raises(vtql.VTQLValueError):
            vtql.quote_id(bad)


def test_select_pages_with_offset_and_never_asks_more_than_100_rows():
    assert vtql.select("Leads", ["id", "mobile"], order_by="modifiedtime", limit=100, offset=200) == (
        "SELECT id, mobile FROM Leads ORDER BY modifiedtime ASC LIMIT 200,100;"
    )
    with pytest.raises(vtql.VTQLValueError):
        vtql.select("Leads", limit=101)


def test_a_name_with_a_quote_is_stored_and_found(vtenext_crm):
    vtenext_crm.create_person(NewPerson(kind="contact", name="O'Brien", mobile="+353 85 123 4567"))
    vtenext_crm.create_person(NewPerson(kind="contact", name="Smith", mobile="+353 85 765 4321"))
    found = vtenext_crm.search_people("O'Brien")
    assert [p.name for p in found] == ["O'Brien"]


def test_an_injection_in_a_search_matches_nothing_instead_of_everything(vtenext_crm, vtenext_fake):
    vtenext_crm.create_person(NewPerson(kind="contact", name="Smith", mobile="+353 85 765 4321"))
    assert vtenext_crm.search_people("x' OR '1'='1") == []
    assert vtenext_crm.search_people("'; SELECT * FROM Users;") == []
    assert any("'%x'' OR ''1''=''1%'" in q for q in vtenext_fake.queries)
