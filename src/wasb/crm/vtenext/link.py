"""This process's link to one vtenext / vtiger: one logged-in webservice session shared
by every thread, the adapter for the admin's current settings, and its health.

The webservice is shared because logins must not run in parallel (vtiger drops a
user's earlier challenge tokens) and because a refused login must stop every caller at
once (5 failures lock the CRM user). The adapter depends on settings an admin may
change at run time (reference user, phone fields, closed status, the CRM's time
zone), so one is kept per distinct set of them; each caches what `describe` said.
"""
from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from typing import Protocol

from wasb.config import Config
from wasb.crm.vtenext.adapter import VtenextCRM
from wasb.crm.vtenext.describe import ModuleInfo
from wasb.crm.vtenext.memory import DatabaseLedger, SharedHealth, Verdicts
from wasb.crm.vtenext.webservice import Webservice
from wasb.crm.port import PersonKind
from wasb.store.engine import Database


class AdminSettings(Protocol):
    """What the link reads of the admin's settings (`wasb.settings.service.AdminSettings`
    has these fields): the settings sit above the CRM adapters and validate against the
    CRM's records, so the adapters name only what they read."""

    reference_user: str
    crm_phone_fields: Mapping[PersonKind, Sequence[str]]
    crm_timezone: str
    status_open: str
    status_waiting: str
    status_answered: str
    status_closed: str


STORES_EMOJI = "stores_emoji"
# The rights WASB's writes need, per module (`wasb crm check` lists the same).
WRITES = {
    "Leads": (("createable", "create"), ("updateable", "update")),
    "Contacts": (("createable", "create"), ("updateable", "update")),
    "Accounts": (("updateable", "update"),),
    "HelpDesk": (("createable", "create"), ("updateable", "update")),
    "ModComments": (("createable", "create"),),
}


class VtenextLink:
    def __init__(self, config: Config, db: Database, webservice: Webservice | None = None):
        self.config = config
        self.ws = webservice or Webservice(
            config.crm_url, config.crm_user, config.crm_access_key.get_secret_value(),
            timeout=config.crm_timeout_seconds)
        # Shared with every process on this database: the login hold (and its count of
        # refused logins), and what was learnt about the CRM.
        self.ws.ledger = DatabaseLedger(db, self.ws.endpoint)
        self.verdicts = Verdicts(db, self.ws.endpoint)
        self.health = SharedHealth(db, self.ws.endpoint)
        self._adapters: dict[tuple, VtenextCRM] = {}
        self._lock = threading.Lock()

    def adapter(self, settings: AdminSettings) -> VtenextCRM:
        key = (
            settings.reference_user or None,
            tuple(sorted((kind, tuple(fields)) for kind, fields in settings.crm_phone_fields.items())),
            settings.status_closed,
            settings.crm_timezone,
        )
        with self._lock:
            adapter = self._adapters.get(key)
            if adapter is None:
                # Whether the CRM keeps emoji, as any process on this database found out:
                # known before the first write, so '????' is never stored to find out again.
                verdict = self.verdicts.get(STORES_EMOJI)
                adapter = VtenextCRM(
                    self.ws, reference_user_id=key[0], phone_fields=settings.crm_phone_fields,
                    closed_status=settings.status_closed, crm_timezone=settings.crm_timezone,
                    default_region=self.config.default_country,
                    stores_astral=verdict if isinstance(verdict, bool) else None,
                    remember=lambda value: self.verdicts.put(STORES_EMOJI, value))
                # What describe and the CRM's clock tell the worker process, the web shows:
                # kept with the verdicts, in the database.
                adapter.schema.on_described = self._described
                zone = _zone_fact(settings.crm_timezone)
                adapter.zone_mismatch = self.verdicts.get(zone)
                adapter.on_zone_mismatch = lambda mismatch: self.verdicts.put(zone, mismatch)
                self._adapters = {key: adapter}  # the old settings are gone for good
            return adapter

    def _described(self, module: ModuleInfo) -> None:
        self.verdicts.put(_module_fact(module.name), {
            "createable": module.createable, "updateable": module.updateable,
            "ticket_statuses": list(module.picklist("ticketstatus"))})

    def problems(self, settings: AdminSettings) -> list[str]:
        """What in the admin's settings this CRM cannot take, from what `describe` has
        told already, in whichever process (never a call to the CRM: the health page
        asks often)."""
        facts = self.verdicts.all()
        statuses = (settings.status_open, settings.status_waiting, settings.status_answered, settings.status_closed)
        helpdesk = facts.get(_module_fact("HelpDesk")) or {}
        # An installation that describes no values (a text field): nothing to check against.
        picklist = helpdesk.get("ticket_statuses") or ()
        problems = [f"ticket status {s!r} is not in the CRM's ticket status picklist"
                    for s in dict.fromkeys(statuses) if picklist and s not in picklist]
        for name, rights in WRITES.items():
            module = facts.get(_module_fact(name))
            problems += [f"the CRM user {self.ws.username} may not {verb} {name}"
                         for right, verb in rights if module is not None and not module.get(right, True)]
        return problems

    def warnings(self, settings: AdminSettings) -> list[str]:
        """What the admin should fix though nothing waits for it (no call to the CRM)."""
        mismatch = self.verdicts.get(_zone_fact(settings.crm_timezone))
        return [mismatch] if mismatch else []

    @property
    def auth_failure(self) -> str | None:
        return self.ws.auth_failure

    def reset_auth(self, *, forget_failures: bool = False) -> None:
        self.ws.reset_auth(forget_failures=forget_failures)

    def close(self) -> None:
        # What is still on its way to the database (a hold, a verdict) is written first.
        self.ws.ledger.flush()
        self.verdicts.flush()
        self.health.flush()
        self.ws.close()


def _module_fact(name: str) -> str:
    return f"module:{name}"


def _zone_fact(zone: str) -> str:
    return f"zone_mismatch:{zone}"
