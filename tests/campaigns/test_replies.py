"""Which message counts as a reply to a campaign, on the product built in-process: Meta stamps
a customer's message in whole seconds, so a reply in the very second the campaign's message
was queued is stamped before it and must still count; one stamped earlier than that, or
after the reply window, does not."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from wasb.campaigns.dispatch import DISPATCH
from wasb.campaigns.service import REPLY_WINDOW, NewCampaign, create_campaign, note_reply, start
from wasb.campaigns.tables import QUEUED, CampaignRecipient
from wasb.conversations.tables import Message
from wasb.templates.tables import Template

from tests.support.runtime import build, test_config


@pytest.mark.parametrize(("after_queued", "counts"), [
    ("same second, stamped before", True), ("2 s before", False), ("inside the window", True),
    ("after the window", False)])
def test_a_reply_counts_from_the_second_the_message_was_queued_until_the_window_ends(database_url, tmp_path,
                                                                                       after_queued, counts):
    app = build(test_config(database_url, tmp_path))  # not started: the dispatch runs by hand
    with app.db.sessions() as s, s.begin():
        template = Template(name="promo", language="it", category="MARKETING", status="APPROVED",
                            components=[{"type": "BODY", "text": "Ciao {{1}}"}])
        s.add(template)
        s.flush()
        new = NewCampaign(name="Promo", template_id=template.id, csv_text="phone,name\n+393480009001,Gina\n",
                          mapping={"1": "csv.name"})
        campaign_id = create_campaign(app, s, new, "admin").id
        start(app, s, campaign_id, "admin")
    with app.db.sessions() as s, s.begin():
        DISPATCH.run(app, s, {"campaign_id": campaign_id})
    with app.db.sessions() as s, s.begin():
        recipient = s.scalar(select(CampaignRecipient).where(CampaignRecipient.campaign_id == campaign_id))
        assert recipient.state == QUEUED
        conversation_id = s.get(Message, recipient.message_id).conversation_id
        queued = recipient.queued_at
        at = {"same second, stamped before": queued.replace(microsecond=0) if queued.microsecond else queued,
              "2 s before": queued - timedelta(seconds=2),
              "inside the window": queued + REPLY_WINDOW - timedelta(minutes=1),
              "after the window": queued + REPLY_WINDOW + timedelta(minutes=1)}[after_queued]
        note_reply(s, recipient.wa_contact_id, conversation_id, at)
    with app.db.read_sessions() as s:
        replied = s.scalar(select(CampaignRecipient.replied_at).where(CampaignRecipient.id == recipient.id))
    assert (replied is not None) == counts
