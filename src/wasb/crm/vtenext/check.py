"""`wasb crm check`: log in, describe what WASB needs, say what is there and what is not."""
from __future__ import annotations

from dataclasses import dataclass, field

from wasb.crm.port import CRMError
from wasb.crm.vtenext.adapter import DEFAULT_PHONE_FIELDS, KIND_MODULE
from wasb.crm.vtenext.describe import ModuleInfo, Schema
from wasb.crm.vtenext.webservice import Webservice

REQUIRED_MODULES = ("Leads", "Contacts", "Accounts", "HelpDesk", "ModComments", "Users")
OPTIONAL_MODULES = ("Documents",)
REQUIRED_FIELDS = {
    "Leads": ("lastname", "assigned_user_id", "modifiedtime"),
    "Contacts": ("lastname", "assigned_user_id", "modifiedtime"),
    "Accounts": ("accountname", "assigned_user_id", "modifiedtime"),
    "HelpDesk": ("ticket_title", "ticketstatus", "ticketpriorities", "parent_id", "description", "ticket_no"),
    "ModComments": ("commentcontent", "related_to", "assigned_user_id", "creator", "modifiedtime"),
}
# What WASB does with each module, as describe's rights for the logged-in user: people
# are created and renamed, tickets opened and their status set, comments added; every
# module it needs is read. A role without one of them makes every such write fail with
# ACCESS_DENIED ("Permission to write is denied").
RIGHTS = {
    "Leads": ("createable", "updateable", "retrieveable"),
    "Contacts": ("createable", "updateable", "retrieveable"),
    "Accounts": ("createable", "updateable", "retrieveable"),
    "HelpDesk": ("createable", "updateable", "retrieveable"),
    "ModComments": ("createable", "retrieveable"),
    "Users": ("retrieveable",),
}
RIGHT_VERB = {"createable": "create", "updateable": "update", "retrieveable": "read"}


@dataclass
class CheckReport:
    url: str
    user: str
    user_id: str | None = None
    flavour: str | None = None
    id_prefixes: dict[str, str] = field(default_factory=dict)
    phone_fields: dict[str, list[str]] = field(default_factory=dict)
    ticket_statuses: list[str] = field(default_factory=list)
    ticket_priorities: list[str] = field(default_factory=list)
    ticket_parents: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.missing

    def lines(self) -> list[str]:
        out = [f"CRM {self.url} as {self.user}" + (f" ({self.user_id})" if self.user_id else "")]
        if self.flavour:
            out.append(f"flavour: {self.flavour}")
        for module, prefix in self.id_prefixes.items():
            out.append(f"module {module}: id prefix {prefix}")
        for module, fields in self.phone_fields.items():
            out.append(f"phone fields matched in {module}: {', '.join(fields) or '(none)'}")
        if self.ticket_statuses:
            out.append(f"ticket statuses: {', '.join(self.ticket_statuses)}")
        if self.ticket_priorities:
            out.append(f"ticket priorities: {', '.join(self.ticket_priorities)}")
        if self.ticket_parents:
            out.append(f"tickets can point at: {', '.join(self.ticket_parents)}")
        out += [f"note: {n}" for n in self.notes]
        out += [f"MISSING: {m}" for m in self.missing]
        out.append("OK" if self.ok else "NOT READY")
        return out


def check(
    webservice: Webservice,
    phone_fields: dict[str, list[str] | tuple[str, ...]] | None = None,
    statuses: tuple[str, ...] = ("Open", "Wait For Response", "Closed"),
) -> CheckReport:
    """What this CRM offers WASB. Never raises for a CRM fault: it is reported."""
    report = CheckReport(url=webservice.endpoint, user=webservice.username)
    try:
        report.user_id = webservice.user_id
    except CRMError as exc:
        report.missing.append(f"login: {exc}")
        return report
    schema = Schema(webservice)
    modules: dict[str, ModuleInfo] = {}
    for name in REQUIRED_MODULES + OPTIONAL_MODULES:
        try:
            modules[name] = schema.module(name)
            report.id_prefixes[name] = modules[name].id_prefix
        except CRMError as exc:
            (report.missing if name in REQUIRED_MODULES else report.notes).append(f"module {name}: {exc}")
    for name, fields in REQUIRED_FIELDS.items():
        if name in modules:
            report.missing += [f"field {name}.{f}" for f in fields if not modules[name].has(f)]
    for name, rights in RIGHTS.items():
        if name in modules:
            report.missing += [
                f"permission: user {webservice.username} may not {RIGHT_VERB[r]} {name} (describe: {r} false)"
                for r in rights if not getattr(modules[name], r)]

    configured = {**DEFAULT_PHONE_FIELDS, **(phone_fields or {})}
    for kind, wanted in configured.items():
        name = KIND_MODULE.get(kind)
        if name not in modules:
            continue
        report.phone_fields[name] = [f for f in wanted if modules[name].has(f)]
        report.missing += [f"phone field {name}.{f}" for f in wanted if not modules[name].has(f)]

    helpdesk, comments = modules.get("HelpDesk"), modules.get("ModComments")
    if helpdesk:
        report.ticket_statuses = list(helpdesk.picklist("ticketstatus"))
        report.ticket_priorities = list(helpdesk.picklist("ticketpriorities"))
        report.ticket_parents = list(helpdesk.refers_to("parent_id"))
        if helpdesk.has("contact_id"):
            report.ticket_parents.append("Contacts (contact_id)")
        if report.ticket_statuses:
            report.missing += [
                f"ticket status value {s!r}" for s in statuses if s not in report.ticket_statuses
            ]
        if "Leads" not in helpdesk.refers_to("parent_id"):
            report.notes.append("tickets cannot point at Leads: new WhatsApp numbers become Contacts")
    if helpdesk and comments:
        report.flavour = schema.flavour()
        if report.flavour == "vtiger":
            report.notes.append(
                "vtiger runs its 'comment added' e-mail workflows for API comments: the customer may "
                "get an e-mail per WhatsApp message unless those workflows are turned off"
            )
    users = modules.get("Users")
    if users and users.has("receive_public_talks"):
        _check_public_talks(webservice, report)
    if "Documents" in modules:
        report.notes.append("documents: the webservice gives no file contents; attachments come from WASB")
    return report


def _check_public_talks(webservice: Webservice, report: CheckReport) -> None:
    """vtenext: a user whose `receive_public_talks` is off sees no public comment
    written by another user. WASB's own user then misses the agents' comments (a
    blocker); an agent misses the customers' messages WASB writes (a warning)."""
    me = webservice.retrieve(report.user_id)
    if not _on(me.get("receive_public_talks")):
        report.missing.append(
            f"user {webservice.username}: 'receive public talks' is off (agents' comments are invisible to it)")
    try:
        rows = webservice.query("SELECT user_name, status, receive_public_talks FROM Users LIMIT 0,100;")
    except CRMError as exc:  # a role that may not list users: say so, do not fail the check
        report.notes.append(f"could not list the CRM users to check 'receive public talks': {exc}")
        return
    blind = sorted(str(r.get("user_name")) for r in rows
                   if r.get("id") != report.user_id and str(r.get("status", "Active")) == "Active"
                   and not _on(r.get("receive_public_talks")))
    if blind:
        report.notes.append(
            "WARNING: 'receive public talks' is off for " + ", ".join(blind)
            + ": they do not see the customers' WhatsApp messages WASB writes as comments (turn it on per user)")


def _on(value: object) -> bool:
    return str(value or "").strip().lower() in ("1", "on", "true", "yes")
