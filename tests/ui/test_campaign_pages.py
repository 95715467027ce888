"""An admin prepares a campaign in the browser from a CSV file: the page shows who was left
out and why, what each customer will read and the cost; started, its progress follows the
sends live, and the customers' phones (the simulator) get their own message."""
from __future__ import annotations

import pytest

from tests.support.polling import wait_until
from tests.ui.conftest import AGENT, log_in, shot

CUSTOMERS = {"393480000001": "Anna", "393480000002": "Bruno", "393480000003": "Carla"}


@pytest.fixture
def wired(wired_ui):
    wired_ui.sim.post("/_sim/templates", json={
        "name": "novita", "language": "it", "category": "MARKETING",
        "body_text": "Ciao {{1}}, da {{2}} trovi la nuova collezione"}).raise_for_status()
    assert wired_ui.server.api("POST", "/api/v1/templates/sync").status_code == 200
    return wired_ui


def test_an_admin_prepares_starts_and_follows_a_campaign_from_a_csv(wired, page, tmp_path):
    srv = wired.server
    rows = ["telefono;nome;negozio"] + [f"+{n};{name};Milano" for n, name in CUSTOMERS.items()]
    rows += ["+39 12;Dario;Roma", f"+{next(iter(CUSTOMERS))};Anna di nuovo;Milano"]
    audience = tmp_path / "clienti.csv"
    audience.write_text("\n".join(rows) + "\n", encoding="utf-8")

    log_in(page, srv.url, next_path="/ui/campaigns")
    page.click("#new-campaign")
    page.select_option("#campaign-template-id", label="novita · it · marketing")
    page.click("#campaign-template button")
    page.fill("#campaign-name", "Nuova collezione")
    page.check("input[name=audience][value=csv]")
    page.set_input_files("#campaign-csv", str(audience))
    slot_1, slot_2 = page.locator("[data-slot='1']"), page.locator("[data-slot='2']")
    slot_1.locator("select").select_option("csv")
    slot_1.locator("input").fill("nome")
    slot_2.locator("select").select_option("csv")
    slot_2.locator("input").fill("negozio")
    shot(page, "campaign-new")
    page.click("#prepare-campaign")

    page.wait_for_selector("#campaign-page[data-status=draft]")
    counts = {k: page.locator(f"#campaign-counts [data-count={k}]").inner_text()
              for k in ("recipients", "invalid", "duplicates", "opted_out")}
    assert counts == {"recipients": "3", "invalid": "1", "duplicates": "1", "opted_out": "0"}
    assert page.locator("#campaign-cost").inner_text() == "0.21 USD"  # 3 x Italy's marketing rate, 0.0691
    previews = page.locator("#campaign-preview tbody tr").all_inner_texts()
    assert any("Anna" in p and "Ciao Anna, da Milano trovi la nuova collezione" in p for p in previews), previews
    assert previews[0].startswith("Anna")  # the name column names the customer
    left_out = page.locator("#campaign-excluded").inner_text()
    assert "+39 12" in left_out and "already in this campaign" in left_out
    shot(page, "campaign-draft")

    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#campaign-start")
    page.wait_for_selector("#campaign-page[data-status=running], #campaign-page[data-status=done]")

    def phones_got_it():
        got = {n: [m for m in wired.sent_to(n) if m["type"] == "template"] for n in CUSTOMERS}
        return got if all(got.values()) else None

    got = wait_until(phones_got_it, what="every customer's phone got the campaign")
    assert got["393480000002"][0]["template"]["rendered"] == "Ciao Bruno, da Milano trovi la nuova collezione"
    # The page follows the statuses without a reload once it is done.
    page.reload()
    wait_until(lambda: page.locator("#campaign-progress [data-count=delivered]").inner_text() == "3" or
               page.reload() and None, what="the page counting 3 delivered")
    shot(page, "campaign-done")
    assert page.locator("#campaign-status").inner_text() == "handed to the sender"

    # Bruno answers: his conversation says which campaign he answers, and its message says it came from it.
    wired.customer_writes("393480000002", "Mi interessa", name="Bruno")
    srv.wait_idle()
    (conversation,) = srv.get("/api/v1/conversations?phone=%2B393480000002&status=open")
    assert conversation["campaign_id"] is not None
    page.goto(f"{srv.url}/ui/conversations/{conversation['id']}")
    assert page.locator("#campaign-badge").inner_text() == "Campaign: Nuova collezione"
    assert "Campaign: Nuova collezione" in page.locator(".author-system").first.inner_text()
    shot(page, "campaign-reply")

    # The list shows it; an agent not named by an admin cannot open campaigns.
    page.goto(srv.url + "/ui/campaigns")
    assert "Nuova collezione" in page.locator("#campaigns-table").inner_text()
    page.context.clear_cookies()
    log_in(page, srv.url, AGENT, next_path="/ui/campaigns")
    assert page.locator("#new-campaign").count() == 0
    assert "campaign senders" in page.locator(".alert-error").inner_text()


def test_a_campaign_of_an_image_template_takes_its_picture_in_the_form(wired, page, tmp_path):
    srv = wired.server
    wired.sim.post("/_sim/templates", json={"name": "saldi_foto", "language": "it", "category": "MARKETING",
                                            "header_format": "IMAGE", "body_text": "Ciao {{1}}, i saldi iniziano"}
                   ).raise_for_status()
    assert srv.api("POST", "/api/v1/templates/sync").status_code == 200
    audience, picture, wrong = tmp_path / "clienti.csv", tmp_path / "saldi.png", tmp_path / "saldi.pdf"
    audience.write_text("telefono,nome\n+393480000011,Elena\n+393480000012,Fabio\n", encoding="utf-8")
    picture.write_bytes(b"\x89PNG\r\n\x1a\n" + b"saldi" * 200)
    wrong.write_bytes(b"%PDF-1.4 saldi")

    log_in(page, srv.url, next_path="/ui/campaigns/new")
    page.select_option("#campaign-template-id", label="saldi_foto · it · marketing")
    page.click("#campaign-template button")
    assert page.locator("#campaign-header-file").get_attribute("accept") == "image/jpeg,image/png"

    def prepare(header_file):
        page.fill("#campaign-name", "Saldi con foto")
        page.check("input[name=audience][value=csv]")
        page.set_input_files("#campaign-csv", str(audience))
        page.set_input_files("#campaign-header-file", str(header_file))
        slot = page.locator("[data-slot='1']")
        slot.locator("select").select_option("csv")
        slot.locator("input").fill("nome")
        page.click("#prepare-campaign")

    prepare(wrong)  # the browser's accept is a hint: the server checks the type
    assert "takes image/jpeg or image/png, not application/pdf" in page.locator("#form-error").inner_text()
    prepare(picture)
    page.wait_for_selector("#campaign-page[data-status=draft]")
    assert page.locator("#campaign-header-file").inner_text() == "Header file: saldi.png"
    shot(page, "campaign-image-header")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#campaign-start")

    def phones_got_it():
        got = [m for n in ("393480000011", "393480000012") for m in wired.sent_to(n) if m["type"] == "template"]
        return got if len(got) == 2 else None

    got = wait_until(phones_got_it, what="both phones got the campaign with its picture")
    assert {m["template"]["header_media"]["type"] for m in got} == {"image"}
    assert len({m["template"]["header_media"]["id"] for m in got}) == 1
