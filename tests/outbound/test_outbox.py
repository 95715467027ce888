"""`flush_outbox(app)`: every queued message goes now, and the report says what still waits."""
import httpx

from tests.outbound.conftest import server_env
from tests.outbound.flows import customer_writes, sent_to
from tests.support.inprocess import InProcessServer
from tests.support.runtime import build, worker_of
from wasb.config import Config
from wasb.outbound import flush_outbox


def test_flush_sends_every_queued_message_and_reports_what_waits_and_why(database_url, tmp_path, sim,
                                                                         simulator_url, sim_settings):
    env = server_env(simulator_url, sim_settings)
    config = Config(database_url=database_url, media_dir=tmp_path / "media", worker=False, _env_file=None,
                    **{k.removeprefix("WASB_").lower(): v for k, v in env.items()})
    server = InProcessServer(build(config)).start()
    app = server.app
    try:
        from tests.support.server import make_tokens
        admin_token, _ = make_tokens(database_url)
        sim.post("/_sim/config", json={"webhook_url": server.url + "/webhooks/whatsapp"}).raise_for_status()

        class Api:  # enough of WasbServer for the shared steps
            def get(self, path):
                return httpx.get(server.url + path, headers={"Authorization": f"Bearer {admin_token}"}).json()

            def wait_idle(self):
                worker_of(app).drain()

            def post(self, path, **kw):
                return httpx.request("POST" if "json" in kw else "PUT", server.url + path,
                                     headers={"Authorization": f"Bearer {admin_token}"}, **kw)

        api = Api()
        conversation = customer_writes(sim, api)
        ids = [api.post(f"/api/v1/conversations/{conversation['id']}/messages",
                        json={"type": "text", "body": f"n{n}"}).json()["id"] for n in range(3)]
        assert sent_to(sim) == []  # no worker in this process: they wait
        report = flush_outbox(app)
        assert report.sent == ids and report.failed == [] and report.waiting == []
        assert [s["text"] for s in sent_to(sim)] == ["n0", "n1", "n2"]

        httpx.put(server.url + "/api/v1/settings", json={"access_token": "a-token-meta-refuses"},
                  headers={"Authorization": f"Bearer {admin_token}"}).raise_for_status()
        late = api.post(f"/api/v1/conversations/{conversation['id']}/messages",
                        json={"type": "text", "body": "n3"}).json()["id"]
        report = flush_outbox(app)
        assert report.sent == [] and [w["id"] for w in report.waiting] == [late]
        assert "access token" in report.waiting[0]["reason"] and report.waiting[0]["status"] == "queued"
        assert len(sent_to(sim)) == 3
    finally:
        server.stop()
