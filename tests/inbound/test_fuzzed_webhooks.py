"""Signed webhooks with a wrong type (or an odd value) in a field Meta sends as a string,
generated: each is answered 200 and ends processed or failed on its own, never left retrying."""
import copy
import hashlib
import itertools

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import load_fixture
from tests.support.polling import wait_until
from tests.support.queue_rows import engine_of, queued_jobs
from wasb.store.engine import open_database

BASES = {
    "text": load_fixture("inbound_text.json"),
    "reply": load_fixture("inbound_text_reply_context.json"),
    "image": load_fixture("inbound_image_caption.json"),
    "status": load_fixture("status_failed_131047.json"),
    "template": load_fixture("template_quality_update.json"),
}
# Where each base keeps the fields Meta sends as strings (paths below `value`).
FIELDS = {
    "text": [("messages", 0, "from"), ("messages", 0, "id"), ("messages", 0, "type"), ("messages", 0, "timestamp"),
             ("messages", 0, "text", "body"), ("contacts", 0, "wa_id"), ("contacts", 0, "profile", "name"),
             ("metadata", "phone_number_id"), ("messages", 0, "errors")],
    "reply": [("messages", 0, "context"), ("messages", 0, "context", "id"), ("messages", 0, "from_user_id"),
              ("contacts", 0, "user_id")],
    "image": [("messages", 0, "image", "id"), ("messages", 0, "image", "mime_type"),
              ("messages", 0, "image", "caption"), ("messages", 0, "image")],
    "status": [("statuses", 0, "id"), ("statuses", 0, "status"), ("statuses", 0, "recipient_id"),
               ("statuses", 0, "errors"), ("statuses", 0, "errors", 0, "code"), ("statuses", 0, "timestamp")],
    "template": [("new_quality_score",), ("message_template_id",), ("message_template_name",),
                 ("message_template_language",)],
}
ODD = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False),
    st.lists(st.text(max_size=8), max_size=3), st.dictionaries(st.text(max_size=5), st.text(max_size=5), max_size=2),
    st.text(max_size=20), st.just(""), st.just("a\u0000b"), st.just("9" * 400))


DELIVERIES = itertools.count()


@st.composite
def odd_bodies(draw):
    kind = draw(st.sampled_from(sorted(BASES)))
    body = copy.deepcopy(BASES[kind])
    value = body["entry"][0]["changes"][0]["value"]
    for path in draw(st.lists(st.sampled_from(FIELDS[kind] + FIELDS["text"] * (kind == "text")), min_size=1,
                              max_size=2, unique=True)):
        node = value
        try:
            for step in path[:-1]:
                node = node[step]
            node[path[-1]] = draw(ODD)
        except (KeyError, IndexError, TypeError):
            pass  # an earlier change replaced the container: the body is odd anyway
    return body


@settings(max_examples=30, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(body=odd_bodies())
def test_every_odd_signed_webhook_is_answered_200_and_ends_processed_or_failed(server, body):
    body["entry"][0]["delivery"] = next(DELIVERIES)  # new bytes each time, replays included
    raw = orjson.dumps(body)
    answer = server.post_webhook(raw)
    assert answer.status_code == 200, answer.text
    digest = hashlib.sha256(raw).hexdigest()  # the event is known by its body's hash
    event = wait_until(lambda: next((e for e in server.get("/api/v1/inbound-events?limit=1000")
                                     if e["sha256"] == digest and e["state"] != "pending"), None),
                       20, f"event {digest} settled")
    assert event["state"] in ("processed", "failed")
    if event["state"] == "failed":
        assert event["error"]
    db = open_database(server.database_url)
    try:
        with db.sessions() as session:
            left = queued_jobs(session, engine_of(server.database_url), ref=f"event:{event['id']}")
    finally:
        db.dispose()
    assert left == []  # nothing waits to be retried behind the customer's lock
