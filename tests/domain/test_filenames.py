import pytest

from wasb.domain.filenames import content_disposition, display_filename, safe_filename
from wasb.domain.media_types import shown_inline, whatsapp_type


@pytest.mark.parametrize("name, safe", [
    ("Offerta n. 12.pdf", "Offerta_n._12.pdf"),
    ("../../etc/passwd", "passwd"),
    ("..\\..\\boot.ini", "boot.ini"),
    ("résumé.docx", "resume.docx"),
    ("..", "file"),
    ("", "file"),
    ('a"b\r\nSet-Cookie: x=1.pdf', "a_b_Set-Cookie_x_1.pdf"),
])
def test_safe_filename_keeps_only_harmless_characters(name, safe):
    assert safe_filename(name) == safe


def test_a_long_name_keeps_its_extension():
    name = safe_filename("x" * 500 + ".pdf")
    assert len(name) <= 120 and name.endswith(".pdf")


def test_content_disposition_cannot_carry_a_second_header():
    header = content_disposition("attachment", 'evil"\r\nSet-Cookie: a=b.pdf')
    assert "\r" not in header and "\n" not in header
    assert header.startswith('attachment; filename="evil_Set-Cookie_a_b.pdf"')
    assert "filename*=UTF-8''evil%22Set-Cookie%3A%20a%3Db.pdf" in header


def test_display_filename_keeps_unicode_but_not_paths():
    assert display_filename("C:\\Users\\me\\Fattura è.pdf") == "Fattura è.pdf"
    assert display_filename("/../\x00") == "file"


def test_whatsapp_types_by_mime_or_extension():
    assert whatsapp_type("image/jpeg").kind == "image"
    assert whatsapp_type("application/octet-stream", "sheet.XLSX").kind == "document"
    assert whatsapp_type("text/html", "page.html") is None
    assert shown_inline("image/png") and not shown_inline("text/html") and not shown_inline("image/svg+xml")
