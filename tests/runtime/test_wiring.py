"""The runtime bootstrap builds: one wiring for every CRM, the CRM call policy chosen once."""
import pytest
from sqlalchemy import select

from tests.support.inprocess import test_config as config_for
from wasb.bootstrap import build_app
from wasb.crm.embedded.tables import CrmPerson
from wasb.crm.port import NewPerson
from wasb.inbound.process import PROCESS
from wasb.outbound.sender import CONFIRM, SEND
from wasb.outbound.service import MIRROR
from wasb.runtime import CommitThenCall, InTransaction

VTENEXT = dict(crm="vtenext", crm_url="http://127.0.0.1:9", crm_user="admin", crm_access_key="k" * 16)


@pytest.fixture
def built(database_url, tmp_path):
    apps = []

    def build(**overrides):
        app = build_app(config_for(database_url, tmp_path, **overrides))
        apps.append(app)
        return app

    yield build
    for app in apps:
        app.stop()


def test_the_embedded_crm_writes_in_the_jobs_transaction_and_its_jobs_share_batches(built):
    app = built()
    assert isinstance(app.crm_policy, InTransaction) and app.crm_link is None and app.graph is not None
    assert [app.crm_policy.may_batch(t) for t in (PROCESS, MIRROR, CONFIRM, SEND)] == [True, True, True, False]


def test_an_external_crm_has_the_same_wiring_and_its_jobs_run_one_per_transaction(built):
    app = built(**VTENEXT)
    # The Graph client is there whatever the CRM: vtenext installations send to WhatsApp too.
    assert isinstance(app.crm_policy, CommitThenCall) and app.crm_link is not None and app.graph is not None
    assert [app.crm_policy.may_batch(t) for t in (PROCESS, MIRROR, CONFIRM, SEND)] == [False, False, True, False]


@pytest.mark.parametrize("policy, seen_by_the_crm", [
    (CommitThenCall(), ["Anna"]),  # the job's work is committed before each call
    (InTransaction(), [None]),  # left uncommitted until the job ends: another connection does not see it
], ids=["commit-then-call", "in-transaction"])
def test_a_crm_call_sees_the_jobs_work_only_when_the_policy_commits_first(built, policy, seen_by_the_crm):
    app = built()
    seen = []

    class Remote:  # stands for a CRM across the network: it sees only what is committed
        def get_person(self, person_id):
            with app.db.read_sessions() as other:
                seen.append(other.scalar(select(CrmPerson.name).where(CrmPerson.id == person_id)))

    with app.db.sessions() as session, session.begin():
        person = app.crm(session).create_person(NewPerson(kind="lead", name="Anna", mobile="+393331234567"))
        policy.crm_for_job(session, Remote()).get_person(int(person.id))
    assert seen == seen_by_the_crm
