"""The simulator refuses what Meta refuses, in Meta's words, and takes what Meta takes:
contact cards as an array, media deleted for good, group sends to a number, interactive
and location bodies, a JSON text not sent as JSON."""
from __future__ import annotations

import base64
import copy

import httpx
import pytest

CUSTOMER = "393331234567"


@pytest.fixture
def graph(sim, simulator_url, sim_settings):
    """An httpx client on the simulator's Graph API, with the token, after the customer wrote."""
    sim.post("/_sim/inbound", json={"from": CUSTOMER, "name": "Mario", "text": "hello"}).raise_for_status()
    with httpx.Client(base_url=f"{simulator_url}/{sim_settings['graph_version']}", timeout=30,
                      headers={"Authorization": f"Bearer {sim_settings['access_token']}"}) as client:
        client.messages = f"/{sim_settings['phone_number_id']}/messages"
        yield client


def send(graph, **body):
    return graph.post(graph.messages, json={"messaging_product": "whatsapp", "to": CUSTOMER, **body})


def refused(answer, code=100, details=None, status=400):
    assert answer.status_code == status, answer.text
    error = answer.json()["error"]
    assert error["code"] == code and error["type"] == "OAuthException" and error["fbtrace_id"]
    if details is not None:
        assert error["error_data"] == {"messaging_product": "whatsapp", "details": details}
    return error


def sent_wamids(sim):
    return [m["wamid"] for m in sim.get("/_sim/sent").json()]


CARD = {"name": {"formatted_name": "John Smith", "first_name": "John"},
        "phones": [{"phone": "+1 (650) 555-1234", "type": "WORK", "wa_id": "16505551234"}]}


class TestContacts:
    def test_an_array_of_cards_is_sent(self, sim, graph):
        answer = send(graph, type="contacts", contacts=[CARD, {"name": {"formatted_name": "Ada"}}])
        assert answer.status_code == 200, answer.text
        (recorded,) = sim.get("/_sim/sent").json()
        assert recorded["type"] == "contacts" and recorded["text"] == "[contacts] John Smith; Ada"
        assert recorded["request"]["contacts"][0]["phones"][0]["wa_id"] == "16505551234"

    def test_one_card_as_an_object_is_refused_as_meta_does(self, sim, graph):
        error = refused(send(graph, type="contacts", contacts=CARD), details="Param contacts must be an array.")
        assert error["message"] == "(#100) Invalid parameter"
        assert sent_wamids(sim) == []

    @pytest.mark.parametrize("cards, details", [
        (None, "The parameter contacts is required."),
        ([], "Param contacts must contain at least 1 element."),
        (["John"], "Param contacts[0] must be an object."),
        ([CARD, {"phones": []}], "The parameter contacts[1]['name'] is required."),
        ([{"name": {"first_name": "John"}}], "The parameter contacts[0]['name']['formatted_name'] is required."),
    ])
    def test_cards_meta_cannot_show_are_refused(self, graph, cards, details):
        refused(send(graph, type="contacts", contacts=cards), details=details)


class TestDeleteMedia:
    def upload(self, graph, sim_settings):
        answer = graph.post(f"/{sim_settings['phone_number_id']}/media",
                            data={"messaging_product": "whatsapp", "type": "image/png"},
                            files={"file": ("dot.png", b"\x89PNG-dot", "image/png")})
        assert answer.status_code == 200, answer.text
        return answer.json()["id"]

    def test_deleted_media_is_gone_everywhere(self, sim, graph, sim_settings, simulator_url):
        media_id = self.upload(graph, sim_settings)
        info = graph.get(f"/{media_id}")
        assert info.status_code == 200
        url = info.json()["url"]
        deleted = graph.delete(f"/{media_id}", params={"phone_number_id": sim_settings["phone_number_id"]})
        assert deleted.status_code == 200 and deleted.json() == {"success": True}
        error = refused(graph.get(f"/{media_id}"), details=f"Object with ID '{media_id}' does not exist.")
        assert error["error_subcode"] == 33
        assert error["message"].startswith(f"Unsupported get request. Object with ID '{media_id}' does not exist")
        download = httpx.get(url, headers={"Authorization": f"Bearer {sim_settings['access_token']}"})
        assert download.status_code == 404
        # A send naming it is Meta's media error, and deleting it again finds nothing.
        refused(send(graph, type="image", image={"id": media_id}), code=131053)
        again = refused(graph.delete(f"/{media_id}"))
        assert again["error_subcode"] == 33 and again["message"].startswith("Unsupported delete request.")

    def test_another_numbers_media_is_not_deleted(self, graph, sim_settings):
        media_id = self.upload(graph, sim_settings)
        refused(graph.delete(f"/{media_id}", params={"phone_number_id": "999999999999999"}))
        assert graph.get(f"/{media_id}").status_code == 200

    def test_a_customers_media_can_be_deleted_too(self, sim, graph):
        stored = sim.post("/_sim/media", files={"file": ("a.txt", b"hi", "text/plain")}).json()
        assert graph.delete(f"/{stored['id']}").json() == {"success": True}
        refused(graph.get(f"/{stored['id']}"))


class TestRecipientType:
    def test_individual_is_meta_default_and_accepted(self, graph):
        assert send(graph, recipient_type="individual", type="text", text={"body": "hi"}).status_code == 200
        assert send(graph, type="text", text={"body": "hi"}).status_code == 200

    def test_a_group_send_to_a_number_is_group_unknown(self, sim, graph):
        error = refused(send(graph, recipient_type="group", type="text", text={"body": "hi"}), code=131041,
                        details="The group was not found, either because it doesn't exist or you are not a member.")
        assert error["message"] == "(#131041) Group unknown"
        assert sent_wamids(sim) == []

    def test_another_recipient_type_is_an_invalid_parameter(self, graph):
        error = refused(send(graph, recipient_type="broadcast", type="text", text={"body": "hi"}))
        assert error["error_data"]["details"] == 'Param recipient_type must be one of {INDIVIDUAL, GROUP} - got "broadcast".'


BUTTONS = {"type": "button", "body": {"text": "Pick one"},
           "action": {"buttons": [{"type": "reply", "reply": {"id": "yes", "title": "Yes"}},
                                  {"type": "reply", "reply": {"id": "no", "title": "No"}}]}}
LIST = {"type": "list", "body": {"text": "Our shops"},
        "action": {"button": "Shops", "sections": [
            {"title": "North", "rows": [{"id": "mi", "title": "Milano", "description": "Via Roma 1"}]},
            {"title": "South", "rows": [{"id": "na", "title": "Napoli"}]}]}}


def _without(tree, *path):
    tree = copy.deepcopy(tree)
    node = tree
    for key in path[:-1]:
        node = node[key]
    del node[path[-1]]
    return tree


def _with(tree, value, *path):
    tree = copy.deepcopy(tree)
    node = tree
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return tree


class TestInteractive:
    @pytest.mark.parametrize("interactive", [BUTTONS, LIST, {
        "type": "cta_url", "body": {"text": "See the offer"},
        "action": {"name": "cta_url", "parameters": {"display_text": "Open", "url": "https://example.com"}}}])
    def test_well_formed_interactive_messages_are_sent(self, sim, graph, interactive):
        answer = send(graph, type="interactive", interactive=interactive)
        assert answer.status_code == 200, answer.text
        (recorded,) = sim.get("/_sim/sent").json()
        assert recorded["type"] == "interactive" and recorded["text"] == interactive["body"]["text"]

    @pytest.mark.parametrize("interactive, details", [
        (None, "The parameter interactive is required."),
        (_without(BUTTONS, "type"), "The parameter interactive['type'] is required."),
        (_with(BUTTONS, "carousel", "type"), 'Param interactive[\'type\'] must be one of {BUTTON, LIST, CTA_URL, '
                                             'FLOW, PRODUCT, PRODUCT_LIST, CATALOG_MESSAGE, LOCATION_REQUEST_MESSAGE, '
                                             'CALL_PERMISSION_REQUEST} - got "carousel".'),
        (_without(BUTTONS, "body"), "The parameter interactive['body'] is required."),
        (_with(BUTTONS, {"text": ""}, "body"), "The parameter interactive['body']['text'] is required."),
        (_without(BUTTONS, "action"), "The parameter interactive['action'] is required."),
        (_without(BUTTONS, "action", "buttons"), "The parameter interactive['action']['buttons'] is required."),
        (_with(BUTTONS, [], "action", "buttons"),
         "Param interactive['action']['buttons'] must contain at least 1 and at most 3 elements."),
        (_with(BUTTONS, BUTTONS["action"]["buttons"] * 2, "action", "buttons"),
         "Param interactive['action']['buttons'] must contain at least 1 and at most 3 elements."),
        (_without(BUTTONS, "action", "buttons", 1, "reply", "title"),
         "The parameter interactive['action']['buttons'][1]['reply']['title'] is required."),
        (_with(BUTTONS, "A title far too long for a button", "action", "buttons", 0, "reply", "title"),
         "Param interactive['action']['buttons'][0]['reply']['title'] must be at most 20 characters long."),
        (_with(BUTTONS, "yes", "action", "buttons", 1, "reply", "id"),
         "Param interactive['action']['buttons'][1]['reply']['id'] must be unique."),
        (_without(LIST, "action", "button"), "The parameter interactive['action']['button'] is required."),
        (_without(LIST, "action", "sections"), "The parameter interactive['action']['sections'] is required."),
        (_without(LIST, "action", "sections", 1, "title"),
         "The parameter interactive['action']['sections'][1]['title'] is required."),
        (_with(LIST, [], "action", "sections", 0, "rows"),
         "The parameter interactive['action']['sections'][0]['rows'] is required."),
        (_without(LIST, "action", "sections", 0, "rows", 0, "id"),
         "The parameter interactive['action']['sections'][0]['rows'][0]['id'] is required."),
        (_with(LIST, [{"id": f"r{n}", "title": f"Row {n}"} for n in range(10)], "action", "sections", 1, "rows"),
         "Param interactive['action']['sections'] must contain at most 10 rows in all."),
        ({"type": "cta_url", "body": {"text": "x"}, "action": {"name": "cta_url", "parameters": {"display_text": "Open"}}},
         "The parameter interactive['action']['parameters']['url'] is required."),
    ])
    def test_a_malformed_interactive_message_is_refused_with_metas_sentence(self, sim, graph, interactive, details):
        error = refused(send(graph, type="interactive", interactive=interactive), details=details)
        assert error["message"] == "(#100) Invalid parameter"
        assert sent_wamids(sim) == []


class TestLocation:
    def test_a_location_is_sent(self, sim, graph):
        answer = send(graph, type="location", location={"latitude": 45.4642, "longitude": "9.19",
                                                        "name": "Duomo", "address": "Piazza del Duomo"})
        assert answer.status_code == 200, answer.text
        (recorded,) = sim.get("/_sim/sent").json()
        assert recorded["type"] == "location" and recorded["text"] == "[location] Duomo"

    @pytest.mark.parametrize("location, details", [
        (None, "The parameter location is required."),
        ({"longitude": 9.19}, "The parameter location['latitude'] is required."),
        ({"latitude": 45.46}, "The parameter location['longitude'] is required."),
        ({"latitude": "north", "longitude": 9.19}, "Param location['latitude'] must be a number."),
        ({"latitude": 95, "longitude": 9.19}, "Param location['latitude'] must be between -90 and 90."),
        ({"latitude": 45.46, "longitude": 9.19, "name": 7}, "Param location['name'] must be a string."),
    ])
    def test_a_location_without_its_coordinates_is_refused(self, sim, graph, location, details):
        refused(send(graph, type="location", location=location), details=details)
        assert sent_wamids(sim) == []


class TestContentType:
    BODY = b'{"messaging_product": "whatsapp", "to": "' + CUSTOMER.encode() + b'", "type": "text", "text": {"body": "hi"}}'

    @pytest.mark.parametrize("content_type", ["text/plain", "text/plain; charset=utf-8", None])
    def test_json_sent_as_text_is_not_read(self, sim, graph, content_type):
        headers = {"Content-Type": content_type} if content_type else {}
        answer = graph.post(graph.messages, content=self.BODY, headers=headers)
        refused(answer, details="The parameter messaging_product is required.")
        assert sent_wamids(sim) == []

    def test_the_same_json_as_application_json_is_sent(self, sim, graph):
        answer = graph.post(graph.messages, content=self.BODY, headers={"Content-Type": "application/json"})
        assert answer.status_code == 200, answer.text
        assert len(sent_wamids(sim)) == 1

    def test_form_fields_are_read_as_graph_reads_them(self, sim, graph):
        answer = graph.post(graph.messages, data={"messaging_product": "whatsapp", "to": CUSTOMER,
                                                  "type": "text", "text": '{"body": "from a form"}'})
        assert answer.status_code == 200, answer.text
        assert sim.get("/_sim/sent").json()[0]["text"] == "from a form"


def test_an_inline_image_send_still_goes_out(sim, graph):
    """The stricter checks leave media sends as they were."""
    stored = graph.post(graph.messages.replace("/messages", "/media"),
                        data={"messaging_product": "whatsapp", "type": "image/png"},
                        files={"file": ("x.png", base64.b64decode("iVBORw0KGgo="), "image/png")})
    answer = send(graph, type="image", image={"id": stored.json()["id"]})
    assert answer.status_code == 200, answer.text
