import pytest

from wasb.domain.phones import InvalidPhone, same_number, to_e164, wa_id_to_e164, with_prefix


@pytest.mark.parametrize("writing", ["+39 335 103 2246", "0039 335 1032246", "335 1032246", "+393351032246",
                                     "393351032246", "00393351032246", "\u00a0335-103-2246 "])
def test_every_common_writing_reads_as_the_same_e164(writing):
    assert to_e164(writing, "IT") == "+393351032246"


def test_national_numbers_use_the_default_country():
    assert to_e164("(650) 555-1234", "US") == "+16505551234"
    assert to_e164("650 555 1234", "IT") != "+16505551234"


@pytest.mark.parametrize("garbage", ["", "abc", "+", "12"])
def test_unreadable_numbers_are_refused(garbage):
    with pytest.raises(InvalidPhone):
        to_e164(garbage, "IT")


def test_the_configured_prefix_is_used_in_crm_fields():
    assert with_prefix("+393351032246", "+") == "+393351032246"
    assert with_prefix("+393351032246", "00") == "00393351032246"


def test_wa_id_is_the_number_without_plus():
    assert wa_id_to_e164("16505551234") == "+16505551234"
    assert same_number("0039 335 103 2246", "+393351032246")
    assert not same_number("0039 335 103 2247", "+393351032246")
