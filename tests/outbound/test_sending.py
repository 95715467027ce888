"""An agent's message leaves through the Graph API and its ticks come back."""
from tests.outbound.flows import customer_writes, message, send, sent_to, wait_status


def test_a_reply_inside_the_window_is_sent_then_delivered_then_read(wasb, sim):
    conversation = customer_writes(sim, wasb)
    answer = send(wasb, conversation["id"], type="text", body="Certo, la contattiamo alle 12.00",
                  token=wasb.agent_token)
    assert answer.status_code == 201, answer.text
    row = answer.json()
    assert row["status"] == "queued" and row["direction"] == "out" and row["author"] == "token:agent-tool"
    read = wait_status(wasb, conversation["id"], row["id"], "read")
    (sent,) = sent_to(sim)
    assert sent["type"] == "text" and sent["text"] == "Certo, la contattiamo alle 12.00"
    assert read["wamid"] == sent["wamid"]
    assert sent["request"]["biz_opaque_callback_data"] == f"wasb:{row['id']}"
    assert read["pricing"]["category"] == "service"
    assert wasb.get(f"/api/v1/conversations/{conversation['id']}")["last_message_status"] == "read"
