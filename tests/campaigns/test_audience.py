"""A campaign's audience, piece by piece: reading a CSV file (its header, its separator, a file
without a header), checking where each parameter comes from, and sorting the candidates into
recipients and people left out (invalid, repeated, opted out) with the reason."""
from __future__ import annotations

import pytest

from wasb.campaigns.audience import AudienceError, Candidate, check_sources, classify, csv_candidates
from wasb.campaigns.tables import EXCLUDED, PENDING
from wasb.contacts.tables import WaContact
from wasb.crm.mapping import MappingError
from wasb.crm.port import Person
from wasb.store.engine import open_database


# --- csv_candidates ----------------------------------------------------------------------

@pytest.mark.parametrize("header", ["phone", "Mobile", " TELEFONO ", "numero"])
def test_a_header_naming_the_number_is_found_in_any_column(header):
    text = f"name,city,{header},code\nAda,Roma,+393331110001,A1\nBruno,Milano,3331110002,B2\n"
    candidates, columns = csv_candidates(text)
    assert columns == ["name", "city", "code"]  # the number's column is not a parameter source
    assert [(c.row, c.phone) for c in candidates] == [(2, "+393331110001"), (3, "3331110002")]
    assert candidates[0].columns == {"name": "Ada", "city": "Roma", "code": "A1"}
    assert candidates[1].columns == {"name": "Bruno", "city": "Milano", "code": "B2"}
    assert all(c.person is None for c in candidates)


def test_semicolons_separate_as_commas_do():
    text = "nome;telefono;sconto\nAda;+39 333 111 0001;20%\nBruno;+39 333 111 0002;10%\n"
    candidates, columns = csv_candidates(text)
    assert columns == ["nome", "sconto"]
    assert [c.phone for c in candidates] == ["+39 333 111 0001", "+39 333 111 0002"]
    assert [c.columns for c in candidates] == [{"nome": "Ada", "sconto": "20%"}, {"nome": "Bruno", "sconto": "10%"}]


def test_without_a_header_the_number_is_the_first_column_and_the_others_are_numbered():
    text = "+393331110001,Ada,Roma\n+393331110002,Bruno,Milano\n"
    candidates, columns = csv_candidates(text)
    assert columns == ["2", "3"]
    assert [(c.row, c.phone) for c in candidates] == [(1, "+393331110001"), (2, "+393331110002")]
    assert candidates[1].columns == {"2": "Bruno", "3": "Milano"}


def test_a_single_column_of_numbers_has_no_other_column():
    candidates, columns = csv_candidates("+393331110001\n+393331110002\n")
    assert columns == []
    assert [c.phone for c in candidates] == ["+393331110001", "+393331110002"]
    assert all(c.columns == {} for c in candidates)


def test_blank_lines_are_skipped_and_the_rows_keep_the_files_line_numbers():
    text = "phone,name\n+393331110001,Ada\n\n , \n+393331110002,Bruno\n"
    candidates, _ = csv_candidates(text)
    assert [(c.row, c.phone, c.columns["name"]) for c in candidates] == [
        (2, "+393331110001", "Ada"), (5, "+393331110002", "Bruno")]


def test_a_byte_order_mark_does_not_hide_the_header():
    candidates, columns = csv_candidates("\ufeffphone,name\n+393331110001,Ada\n")
    assert columns == ["name"]
    assert [(c.row, c.phone) for c in candidates] == [(2, "+393331110001")]


def test_a_short_line_has_an_empty_number_and_misses_its_last_columns():
    candidates, _ = csv_candidates("name,city,phone\nAda,Roma,+393331110001\nBruno\n")
    assert candidates[1].phone == "" and candidates[1].columns == {"name": "Bruno"}


@pytest.mark.parametrize("header", ["name", "Nome", "cliente"])
def test_a_name_column_names_the_customer_and_stays_a_parameter_source(header):
    candidates, columns = csv_candidates(f"telefono;{header}\n+393331110001;Ada Rossi\n+393331110002;\n")
    assert columns == [header]
    assert [c.name for c in candidates] == ["Ada Rossi", None]
    assert candidates[0].columns == {header: "Ada Rossi"}


def test_without_a_header_no_column_is_taken_for_the_name():
    candidates, _ = csv_candidates("+393331110001,Ada\n")
    assert candidates[0].name is None


@pytest.mark.parametrize("text", ["", "   \n\n", "\ufeff", "\ufeff\n \n"])
def test_an_empty_file_is_refused(text):
    with pytest.raises(AudienceError, match="empty"):
        csv_candidates(text)


# --- check_sources -----------------------------------------------------------------------

def test_csv_sources_need_a_csv_audience():
    with pytest.raises(MappingError, match="need a CSV audience"):
        check_sources({"1": "person.first_name", "2": "csv.city"}, csv_columns=None)


def test_a_crm_segment_takes_crm_fields():
    check_sources({"1": "person.first_name", "2": "person.company"}, csv_columns=None)  # no error
    with pytest.raises(MappingError, match="person.surname"):
        check_sources({"1": "person.surname"}, csv_columns=None)


def test_a_csv_audience_refuses_person_fields_and_names_them():
    with pytest.raises(MappingError) as refused:
        check_sources({"1": "csv.name", "2": "person.first_name", "3": "person.company"}, csv_columns=["name"])
    assert "person.company, person.first_name" in str(refused.value)


def test_an_unknown_csv_column_is_named_with_the_files_columns():
    check_sources({"1": "csv.name", "2": "csv.city"}, csv_columns=["name", "city"])  # no error
    with pytest.raises(MappingError) as refused:
        check_sources({"1": "csv.name", "2": "csv.town"}, csv_columns=["name", "city"])
    message = str(refused.value)
    assert "mapping 2" in message and "'town'" in message and "name, city" in message


def test_a_file_of_numbers_only_says_so():
    with pytest.raises(MappingError, match="only the number"):
        check_sources({"1": "csv.name"}, csv_columns=[])


@pytest.mark.parametrize("csv_columns", [None, ["name"]])
def test_ticket_fields_are_refused(csv_columns):
    with pytest.raises(MappingError, match="ticket"):
        check_sources({"1": "ticket.number"}, csv_columns=csv_columns)


# --- classify ------------------------------------------------------------------------------

@pytest.fixture
def db(database_url):
    database = open_database(database_url)
    yield database
    database.dispose()


def _opted_out(db, *wa_ids: str) -> None:
    with db.sessions() as session, session.begin():
        for wa_id in wa_ids:
            session.add(WaContact(wa_id=wa_id, phone_e164="+" + wa_id, marketing_opted_out=True,
                                  opt_source="keyword"))
        # a contact who opted in again is not left out
        session.add(WaContact(wa_id="393331119999", phone_e164="+393331119999", marketing_opted_out=False))


def _classify(db, candidates, mapping=None):
    with db.sessions() as session:
        return classify(session, candidates, mapping or {}, "IT")


def _csv(*lines: tuple[str, str]) -> list[Candidate]:
    return [Candidate(row=i + 2, phone=phone, columns={"name": name}) for i, (phone, name) in enumerate(lines)]


def test_recipients_get_their_number_country_and_parameters(db):
    audience = _classify(db, _csv(("+39 333 111 0001", "Ada"), ("0049 151 23456789", "Berta")), {"1": "csv.name"})
    assert (audience.recipients, audience.invalid, audience.duplicates, audience.opted_out) == (2, 0, 0, 0)
    first, second = audience.rows
    assert (first["state"], first["wa_id"], first["country"], first["param_values"]) == (
        PENDING, "393331110001", "IT", {"1": "Ada"})
    assert first["phone"] == "+39 333 111 0001"  # as the file wrote it
    assert (second["wa_id"], second["country"]) == ("4915123456789", "DE")


def test_a_csv_lines_name_is_the_recipients_name(db):
    candidates = [Candidate(row=2, phone="+393331110001", columns={"name": "Ada"}, name="Ada Rossi"),
                  Candidate(row=3, phone="abc", columns={"name": "Bruno"}, name="Bruno Bianchi"),
                  Candidate(row=4, phone="+393331110003", columns={})]
    audience = _classify(db, candidates)
    assert [(r["name"], r["state"]) for r in audience.rows] == [
        ("Ada Rossi", PENDING), ("Bruno Bianchi", EXCLUDED), (None, PENDING)]


def test_a_national_number_is_read_in_the_default_country(db):
    (row,) = _classify(db, _csv(("333 111 0001", "Ada"))).rows
    assert (row["state"], row["wa_id"]) == (PENDING, "393331110001")


def test_duplicates_are_counted_whatever_their_writing(db):
    audience = _classify(db, _csv(("+393331110001", "Ada"), ("0039 333 111 0001", "Ada again"),
                                  ("333-111-0001", "Ada thrice"), ("+393331110002", "Bruno")))
    assert (audience.recipients, audience.duplicates) == (2, 2)
    assert [r["state"] for r in audience.rows] == [PENDING, EXCLUDED, EXCLUDED, PENDING]
    assert all(r["reason"].startswith("duplicate") for r in audience.rows[1:3])


def test_invalid_numbers_are_counted_with_the_reason(db):
    audience = _classify(db, _csv(("abc", "A"), ("", "B"), ("12", "C"), ("+393331110001", "D")))
    assert (audience.recipients, audience.invalid) == (1, 3)
    left_out = [r for r in audience.rows if r["state"] == EXCLUDED]
    assert [r["row"] for r in left_out] == [2, 3, 4]
    assert all(r["reason"].startswith("invalid") and r["wa_id"] is None for r in left_out)
    assert "no mobile number" in left_out[1]["reason"]


def test_opted_out_customers_are_left_out(db):
    _opted_out(db, "393331110002", "393331110003")
    audience = _classify(db, _csv(("+393331110001", "Ada"), ("+393331110002", "Bruno"),
                                  ("0039 333 111 0003", "Carla"), ("+393331119999", "Dario")))
    assert (audience.recipients, audience.opted_out, audience.invalid) == (2, 2, 0)
    assert [r["state"] for r in audience.rows] == [PENDING, EXCLUDED, EXCLUDED, PENDING]
    assert all(r["reason"].startswith("opted_out") for r in audience.rows[1:3])


def test_a_repeated_opted_out_number_counts_once_as_opted_out(db):
    _opted_out(db, "393331110002")
    audience = _classify(db, _csv(("+393331110002", "Bruno"), ("+393331110002", "Bruno")))
    assert (audience.recipients, audience.opted_out, audience.duplicates) == (0, 1, 1)


def test_an_empty_mapped_column_leaves_the_line_out_naming_the_column(db):
    candidates = [Candidate(row=2, phone="+393331110001", columns={"name": "Ada", "city": ""}),
                  Candidate(row=3, phone="+393331110002", columns={"name": "Bruno", "city": "Roma"}),
                  Candidate(row=4, phone="+393331110003", columns={"name": "Carla"})]
    audience = _classify(db, candidates, {"1": "csv.name", "2": "csv.city"})
    assert (audience.recipients, audience.invalid) == (1, 2)
    empty, kept, short = audience.rows
    assert empty["state"] == EXCLUDED and empty["reason"].startswith("invalid")
    assert "city" in empty["reason"] and "line 2" in empty["reason"]
    assert "line 4" in short["reason"]
    assert kept["state"] == PENDING and kept["param_values"] == {"1": "Bruno", "2": "Roma"}


def test_crm_people_fill_parameters_from_their_record(db):
    ada = Person(id="7", kind="lead", name="Ada Lovelace", mobile="+393331110001")
    acme = Person(id="8", kind="account", name="ACME Srl", mobile="+393331110002")
    nameless = Person(id="9", kind="contact", name="Bruno", mobile="+393331110003", company=None)
    nobody = Person(id="10", kind="contact", name="Carla", mobile=None)
    candidates = [Candidate(row=i + 1, phone=p.mobile or "", person=p) for i, p in enumerate([ada, acme, nobody])]
    audience = _classify(db, candidates, {"1": "person.first_name"})
    assert (audience.recipients, audience.invalid) == (2, 1)
    rows = audience.rows
    assert [r["param_values"] for r in rows[:2]] == [{"1": "Ada"}, {"1": "ACME Srl"}]
    assert (rows[0]["person_id"], rows[0]["person_kind"], rows[0]["name"]) == ("7", "lead", "Ada Lovelace")
    assert rows[2]["state"] == EXCLUDED and rows[2]["reason"] == "invalid: no mobile number"

    (row,) = _classify(db, [Candidate(row=1, phone=nameless.mobile, person=nameless)], {"1": "person.company"}).rows
    assert row["state"] == EXCLUDED and row["reason"].startswith("invalid") and "person.company" in row["reason"]


def test_digits_that_are_in_no_numbering_plan_are_left_out(db):
    """`+4999` is a possible German number by length alone; no plan has it: not sent to."""
    candidates, _ = csv_candidates("phone\nnot-a-number-4999\n+393331110001\n")
    audience = _classify(db, candidates)
    assert (audience.recipients, audience.invalid) == (1, 1)
    assert audience.rows[0]["state"] == "excluded" and "numbering plan" in audience.rows[0]["reason"]
