"""A campaign of a template with an image header, through the real server and the simulator:
the file is checked when the campaign is prepared (missing, not wanted, of a type or size the
header does not take: 422, nothing kept), every recipient's message carries it, and Meta gets
it uploaded once for everyone, not once per recipient."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from wasb.campaigns.dispatch import DISPATCH, waiting_room
from wasb.campaigns.header import HeaderFileError, check_header_file
from wasb.campaigns.service import NewCampaign, create_campaign, start
from wasb.campaigns.tables import QUEUED, Campaign, CampaignRecipient
from wasb.conversations.tables import Message
from wasb.outbound.files import uploaded_media_id
from wasb.outbound.service import Upload
from wasb.store.base import utcnow
from wasb.templates.tables import Template

from tests.campaigns.test_campaign_rules import act, answered, audience, campaign, numbers, sent_to
from tests.support.polling import wait_until
from tests.support.runtime import build, test_config
from tests.support.server import PHONE_NUMBER_ID
from tests.support.wired import module_wired
from tests.templates.flows import meta_has_template, sync, template_id

PHOTO = "promo_foto"  # an image header, then "Ciao {{1}}"
PLAIN = "promo_senza_foto"
PNG = b"\x89PNG\r\n\x1a\n" + b"saldi invernali" * 500


@pytest.fixture(scope="module")
def wired(tmp_path_factory):
    with module_wired(tmp_path_factory, "campaign-header") as wired:
        meta_has_template(wired.sim, PHOTO, category="MARKETING", header_format="IMAGE", body_text="Ciao {{1}}")
        meta_has_template(wired.sim, PLAIN, category="MARKETING", body_text="Ciao {{1}}")
        sync(wired)
        yield wired


def document(wired, name: str, content: bytes, mime: str) -> str:
    created = wired.api("POST", "/api/v1/documents", files={"file": (name, content, mime)})
    assert created.status_code == 201, created.text
    return created.json()["id"]


def prepare(wired, template: str, wa_ids: list[str], **body):
    return wired.api("POST", "/api/v1/campaigns", json={
        "name": f"Saldi {template} {wa_ids[0]}", "template_id": template_id(wired, template),
        "audience": {"csv": audience(wa_ids), "csv_name": "clienti.csv"}, "mapping": {"1": "csv.name"}, **body})


def test_every_recipient_gets_the_header_image_uploaded_to_meta_once(wired):
    wa_ids = numbers(500, 12)
    made = prepare(wired, PHOTO, wa_ids, header_document_id=document(wired, "saldi.png", PNG, "image/png"))
    assert made.status_code == 201, made.text
    draft = made.json()
    assert draft["header_file"] == {"filename": "saldi.png", "mime_type": "image/png", "size": len(PNG)}
    assert draft["recipients"] == 12 and draft["preview"][0]["text"].startswith("Ciao Cliente")
    assert act(wired, draft["id"], "start").status_code == 200

    wait_until(lambda: answered(campaign(wired, draft["id"])), timeout=60, what="the campaign sent")
    sent = sent_to(wired, wa_ids)
    assert sorted(m["to"] for m in sent) == sorted(wa_ids)  # once each
    headers = [m["template"]["header_media"] for m in sent]
    assert {h["type"] for h in headers} == {"image"}
    (media_id,) = {h["id"] for h in headers}  # one upload for all twelve
    assert wired.sim.get(f"/_sim/media/{media_id}").content == PNG

    # The conversation shows the image that was sent, served from the media store.
    (conversation,) = wired.get(f"/api/v1/conversations?phone=%2B{wa_ids[0]}")
    (message,) = [m for m in wired.get(f"/api/v1/conversations/{conversation['id']}")["messages"]
                  if m["type"] == "template"]
    assert message["media"]["filename"] == "saldi.png"
    assert wired.api("GET", message["media"]["url"]).content == PNG


@pytest.mark.parametrize(("template", "file", "says"), [
    (PHOTO, None, "has a image header: give its file"),
    (PHOTO, ("listino.pdf", b"%PDF-1.4 listino", "application/pdf"), "takes image/jpeg or image/png, not application/pdf"),
    (PLAIN, ("saldi.png", PNG, "image/png"), "has no image, video or document header"),
])
def test_a_header_file_the_template_cannot_take_is_refused_before_anything_is_kept(wired, template, file, says):
    before = len(wired.get("/api/v1/campaigns"))
    extra = {"header_document_id": document(wired, *file)} if file else {}
    refused = prepare(wired, template, numbers(600, 2), **extra)
    assert refused.status_code == 422, refused.text
    assert says in refused.json()["detail"]
    assert len(wired.get("/api/v1/campaigns")) == before


def test_a_header_document_that_does_not_exist_is_named(wired):
    refused = prepare(wired, PHOTO, numbers(700, 1), header_document_id="999999")
    assert refused.status_code == 422 and "no document 999999" in refused.json()["detail"]


@pytest.mark.parametrize(("kind", "mime", "megabytes", "says"), [
    ("image", "image/png", 5, "at most 5 MB"), ("video", "video/mp4", 16, "at most 16 MB"),
    ("video", "video/quicktime", 1, "takes video/3gpp or video/mp4, not video/quicktime"),
])
def test_a_file_too_large_or_of_another_type_for_its_header_is_refused_before_it_is_stored(kind, mime, megabytes,
                                                                                              says):
    """A form's upload (the documents API already refuses an image over 5 MB): checked before
    the runtime or the database is touched."""
    upload = Upload("file", mime, b"x" * (megabytes * 1024 * 1024 + 1))
    with pytest.raises(HeaderFileError, match=says):
        check_header_file(None, None, PHOTO, kind, upload, None)


def test_the_first_message_goes_alone_until_meta_has_the_header_file(database_url, tmp_path):
    """The dispatch, run by hand on the product built in-process: while the header's file is
    not uploaded, one message at a time goes to the sender (were forty handed at once, the
    senders would upload the same file forty times); once Meta's media id is known, the
    waiting room fills."""
    app = build(test_config(database_url, tmp_path))  # not started: nothing runs but the dispatch below
    with app.db.sessions() as s, s.begin():
        template = Template(name=PHOTO, language="it", category="MARKETING", status="APPROVED", components=[
            {"type": "HEADER", "format": "IMAGE"}, {"type": "BODY", "text": "Ciao {{1}}"}])
        s.add(template)
        s.flush()
        new = NewCampaign(name="Saldi", template_id=template.id, csv_text=audience(numbers(800, 60)),
                          mapping={"1": "csv.name"}, header=Upload("saldi.png", "image/png", PNG))
        campaign_id = create_campaign(app, s, new, "admin").id
        start(app, s, campaign_id, "admin")

    def dispatch_once() -> list[CampaignRecipient]:
        with app.db.sessions() as s, s.begin():
            DISPATCH.run(app, s, {"campaign_id": campaign_id})
        with app.db.read_sessions() as s:
            return list(s.scalars(select(CampaignRecipient).where(CampaignRecipient.campaign_id == campaign_id,
                                                                  CampaignRecipient.state == QUEUED)))

    def uploaded(ago: timedelta) -> None:  # as the sender keeps an upload it made
        with app.db.sessions() as s, s.begin():
            s.execute(update(Message).where(Message.id == first.message_id)
                      .values(media_id="meta-media-1", media_uploaded_at=utcnow() - ago))

    (first,) = dispatch_once()
    assert len(dispatch_once()) == 1  # still alone: its file is not at Meta yet
    uploaded(timedelta(days=26))  # longer ago than an upload is trusted (Meta keeps it 30 days)
    assert len(dispatch_once()) == 1
    uploaded(timedelta(seconds=1))
    queued = dispatch_once()
    assert len(queued) == 1 + waiting_room(80) - 1  # the room, less the one still waiting
    with app.db.read_sessions() as s:  # the others go with Meta's id: no upload, not even a lookup, in the sender
        ids = set(s.scalars(select(Message.media_id).where(Message.id.in_([r.message_id for r in queued]))))
        assert ids == {"meta-media-1"}

    # A reuse is not an upload: were the upload itself 26 days old, nothing would count as uploaded,
    # however recent the messages that reused its id.
    uploaded(timedelta(days=26))
    with app.db.read_sessions() as s:
        assert uploaded_media_id(s, first_header_sha(app, campaign_id), PHONE_NUMBER_ID) is None


def first_header_sha(app, campaign_id: int) -> str:
    with app.db.read_sessions() as s:
        return s.get(Campaign, campaign_id).header_sha256
