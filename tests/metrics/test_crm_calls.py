"""Every call through the CRM port is timed, by operation and outcome (wasb_crm_call_seconds):
a fault is a CRM unavailable or refusing our credentials; any other answer reached the CRM."""
from __future__ import annotations

import pytest
from prometheus_client import REGISTRY

from wasb.crm.guard import CrmHealth, GuardedCRM
from wasb.crm.port import CRMAuthError, CRMNotFound, CRMUnavailable


class ScriptedCRM:
    """Answers find_person with what it is told to, or raises it."""

    def __init__(self):
        self.outcome: object = []

    def find_person(self, phone: str):
        if isinstance(self.outcome, BaseException):
            raise self.outcome
        return self.outcome


def timed(operation: str, outcome: str) -> float:
    return REGISTRY.get_sample_value("wasb_crm_call_seconds_count", {"operation": operation, "outcome": outcome}) or 0


@pytest.mark.parametrize(("raised", "outcome"), [
    (None, "ok"), (CRMNotFound("no such record"), "ok"), (CRMUnavailable("connection refused"), "fault"),
    (CRMAuthError("INVALID_USER_CREDENTIALS"), "fault"),
])
def test_a_crm_call_is_timed_with_its_outcome(raised, outcome):
    scripted = ScriptedCRM()
    crm = GuardedCRM(scripted, health=CrmHealth())
    before = {o: timed("find_person", o) for o in ("ok", "fault")}
    if raised is None:
        assert crm.find_person("+393351032246") == []
    else:
        scripted.outcome = raised
        with pytest.raises(type(raised)):
            crm.find_person("+393351032246")
    after = {o: timed("find_person", o) for o in ("ok", "fault")}
    assert after[outcome] - before[outcome] == 1
    assert sum(after.values()) - sum(before.values()) == 1
