"""A protocol-faithful fake of the vtenext / vtiger `webservice.php`, as a real HTTP server.

It behaves as shared/vtenext-webservice.md describes real installations (vtenext CE
20.04, vtiger 8.2), in two flavours:

- vtenext: prefixes Leads 2, Accounts 3, Contacts 4, HelpDesk 9, Users 19,
  ModComments 36; 1000 rows without LIMIT, no cap on an explicit LIMIT; a ticket's
  parent_id may be a Lead; comments have `visibility_comm` (empty = private);
  parallel logins tolerated.
- vtiger: prefixes Leads 10, Accounts 11, Contacts 12, HelpDesk 17, Users 19,
  ModComments 30; every query capped at 100 rows; parent_id takes Accounts only, a
  contact goes in `contact_id`, a Lead is REFERENCE_INVALID; a new challenge token
  kills the user's earlier ones; comments bump the ticket's modifiedtime.

Both: reads by GET, writes by POST (else ACCESS_DENIED); md5 challenge login, 5
failures lock the user (LOGIN_LOCKED); sessions can be expired on demand; HTTP 500
with an empty body for unknown operations (and `sync`, `logout`, `convertlead`);
ACCESS_DENIED for missing or deleted ids; INVALID_ID_ATTRIBUTE for references without
a prefix; times in the CRM's zone; characters outside the BMP stored as `????`
(switchable), in every module including Users; a user may revise their own Users record
(an admin any); the role's rights per module in `describe` (`permissions`), enforced as
ACCESS_DENIED on create, revise and retrieve; "down" (500s, or the server stopped: connection refused) and "slow".

Test helpers (`insert`, `add_agent_comment`, `set_time`...) act as a person in the CRM's
own UI would; they bypass the webservice on purpose.
"""
from __future__ import annotations

import asyncio
import hashlib
import json
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.fakes import vtql_engine
from tests.support.harness import ThreadServer

READS = {"getchallenge", "query", "retrieve", "describe", "listtypes", "sync"}
WRITES = {"login", "create", "update", "revise", "delete", "logout", "convertlead"}
BROKEN = {"sync", "logout", "convertlead"}  # 500 with an empty body under PHP 8

PREFIXES = {
    "vtenext": {"Leads": "2", "Accounts": "3", "Contacts": "4", "HelpDesk": "9", "Users": "19",
                "ModComments": "36", "Documents": "7"},
    "vtiger": {"Leads": "10", "Accounts": "11", "Contacts": "12", "HelpDesk": "17", "Users": "19",
               "ModComments": "30", "Documents": "15"},
}
STATUSES = {
    "vtenext": ["Open", "In Progress", "Wait For Response", "Answered by customer", "Closed"],
    "vtiger": ["Open", "In Progress", "Wait For Response", "Closed"],
}
PRIORITIES = ["Low", "Normal", "High", "Urgent"]
TIME_FIELDS = {"createdtime", "modifiedtime"}
ACCESS_KEY = "K3yOfSixteenChr5"


def _field(name, type_="string", mandatory=False, refers_to=None, picklist=None):
    ftype = {"name": type_}
    if refers_to is not None:
        ftype["refersTo"] = refers_to
    if picklist is not None:
        ftype["picklistValues"] = [{"label": v, "value": v} for v in picklist]
        ftype["defaultValue"] = picklist[0]
    return {"name": name, "label": name, "mandatory": mandatory, "type": ftype, "nullable": not mandatory,
            "editable": True, "default": ""}


def module_fields(flavour: str) -> dict[str, list[dict]]:
    owner = _field("assigned_user_id", "owner", True, ["Users"])
    times = [_field("createdtime", "datetime"), _field("modifiedtime", "datetime")]
    vtiger = flavour == "vtiger"
    helpdesk = [
        _field("ticket_no", "string"),
        _field("ticket_title", "string", True),
        _field("ticketstatus", "picklist", True, picklist=STATUSES[flavour]),
        _field("ticketpriorities", "picklist", vtiger, picklist=PRIORITIES),
        _field("parent_id", "reference", False, ["Accounts"] if vtiger else ["Leads", "Accounts", "Contacts"]),
        _field("description", "text"),
        owner, *times,
    ]
    if vtiger:
        helpdesk.append(_field("contact_id", "reference", False, ["Contacts"]))
    comments = [
        _field("commentcontent", "text", True),
        _field("related_to", "reference", True, ["Leads", "Contacts", "Accounts", "HelpDesk"]),
        _field("creator", "reference", False, ["Users"]),
        _field("parent_comments", "reference", False, ["ModComments"]),
        owner, *times,
    ]
    comments.append(_field("source", "string") if vtiger else _field("visibility_comm", "string"))
    return {
        "Leads": [_field("lead_no"), _field("firstname"), _field("lastname", "string", True),
                  _field("company", "string", not vtiger), _field("mobile", "phone"), _field("phone", "phone"),
                  _field("email", "email"), _field("emailoptout", "boolean"), _field("description", "text"),
                  _field("leadsource", "picklist"),
                  owner, *times],
        "Contacts": [_field("contact_no"), _field("firstname"), _field("lastname", "string", True),
                     _field("mobile", "phone"), _field("phone", "phone"), _field("homephone", "phone"),
                     _field("otherphone", "phone"), _field("assistantphone", "phone"), _field("email", "email"),
                     _field("emailoptout", "boolean"), _field("account_id", "reference", False, ["Accounts"]),
                     _field("description", "text"), _field("leadsource", "picklist"), owner, *times],
        "Accounts": [_field("account_no"), _field("accountname", "string", True), _field("phone", "phone"),
                     _field("otherphone", "phone"), _field("email1", "email"), owner, *times],
        "HelpDesk": helpdesk,
        "ModComments": comments,
        # Free-text fields both CRMs' Users have (a user may edit them on their own record).
        "Users": [_field("user_name", "string", True), _field("first_name"), _field("last_name", "string", True),
                  _field("status", "string"), _field("description", "text"), _field("address_street", "text"),
                  _field("signature", "text")] + ([] if vtiger else [_field("receive_public_talks", "boolean")]),
        "Documents": [_field("notes_title", "string", True), _field("filename", "file"), _field("filetype"),
                      _field("filesize", "integer"), _field("filelocationtype"), owner, *times],
    }


class WSFault(Exception):
    def __init__(self, code: str, message: str = ""):
        super().__init__(code)
        self.code, self.message = code, message or code


@dataclass
class User:
    id: str
    user_name: str
    access_key: str
    first_name: str = ""
    last_name: str = ""


@dataclass
class FakeCRM:
    """The CRM's state and rules; `app` serves them over HTTP."""

    flavour: str = "vtenext"
    zone: str = "Europe/Rome"
    emoji_loss: bool = True
    down: str | None = None  # None, or "500": every request answers 500 with no body
    slow: float = 0.0  # seconds added to every answer
    # While set, every request waits (counted in `held_requests`) until it is cleared.
    hold: threading.Event = field(default_factory=threading.Event)
    held_requests: int = 0
    users: dict[str, User] = field(default_factory=dict)
    records: dict[str, dict[int, dict]] = field(default_factory=dict)
    deleted: set[int] = field(default_factory=set)
    tokens: list[tuple[str, str, float]] = field(default_factory=list)  # (user, token, expires)
    sessions: dict[str, str] = field(default_factory=dict)  # session -> user id
    failed_logins: dict[str, int] = field(default_factory=dict)
    login_attempts: int = 0
    requests: list[tuple[str, str, dict]] = field(default_factory=list)  # (method, operation, params)
    queries: list[str] = field(default_factory=list)
    ignored_fields: list[str] = field(default_factory=list)
    # Every text value ever stored, as the CRM's change history keeps it: (id, field, value).
    history: list[tuple[str, str, str]] = field(default_factory=list)
    frozen_time: datetime | None = None
    # What the login user's role may do per module, as `describe` tells it and the CRM
    # enforces it (e.g. {"HelpDesk": {"createable": False}}); everything by default.
    permissions: dict[str, dict[str, bool]] = field(default_factory=dict)
    _next_crmid: int = 100
    _ticket_no: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self):
        self.prefixes = PREFIXES[self.flavour]
        self.fields = module_fields(self.flavour)
        self.module_by_prefix = {p: m for m, p in self.prefixes.items()}
        for module in self.fields:
            self.records.setdefault(module, {})
        if not self.users:
            self.add_user(1, "admin", ACCESS_KEY, "Admin", "Administrator")
            self.add_user(5, "mario", "MarioKeyMarioKey", "Mario", "Rossi")

    # --- test helpers: what a person does in the CRM's own UI ---------------------

    def add_user(self, crmid: int, user_name: str, access_key: str, first="", last="") -> str:
        uid = f"{self.prefixes['Users']}x{crmid}"
        self.users[user_name] = User(uid, user_name, access_key, first, last)
        self.records["Users"][crmid] = {"id": uid, "user_name": user_name, "first_name": first,
                                        "last_name": last, "status": "Active", "description": "",
                                        "address_street": "", "signature": ""}
        if self.flavour == "vtenext":
            self.records["Users"][crmid]["receive_public_talks"] = "1"
        return uid

    def now(self) -> str:
        if self.frozen_time is not None:
            return self.frozen_time.strftime("%Y-%m-%d %H:%M:%S")
        return datetime.now(ZoneInfo(self.zone)).strftime("%Y-%m-%d %H:%M:%S")

    def set_time(self, value: str | None) -> None:
        """Freeze the CRM clock (CRM zone, `YYYY-MM-DD HH:MM:SS`), or None to unfreeze."""
        self.frozen_time = datetime.strptime(value, "%Y-%m-%d %H:%M:%S") if value else None

    def tick(self, seconds: int = 1) -> None:
        assert self.frozen_time is not None, "freeze the clock with set_time first"
        self.frozen_time += timedelta(seconds=seconds)

    def expire_sessions(self) -> None:
        with self.lock:
            self.sessions.clear()

    def insert(self, module: str, **values) -> str:
        """A record typed in the CRM's UI: no webservice rules (the same database, so
        emoji are lost all the same)."""
        with self.lock:
            values.setdefault("assigned_user_id", self.users["admin"].id)
            creator = values.pop("creator", None) or self.users["admin"].id
            return self._store(module, values, creator=creator)

    def add_agent_comment(self, ticket_id: str, text: str, user: str = "mario", visibility: str = "All") -> str:
        uid = self.users[user].id
        values = {"commentcontent": text, "related_to": ticket_id, "assigned_user_id": uid, "creator": uid}
        if self.flavour == "vtenext":
            values["visibility_comm"] = visibility
        with self.lock:
            return self._store("ModComments", values, creator=uid)

    def touch(self, record_id: str) -> None:
        """Someone edits the record in the UI: its modifiedtime moves."""
        with self.lock:
            self._row(record_id)["modifiedtime"] = self.now()

    def set_fields(self, record_id: str, **values) -> None:
        """Fields written behind the webservice's back (e.g. a record's times in the past)."""
        with self.lock:
            self._row(record_id).update(values)

    def row(self, record_id: str) -> dict:
        with self.lock:
            return dict(self._row(record_id))

    def rows(self, module: str) -> list[dict]:
        with self.lock:
            return [dict(r) for k, r in sorted(self.records[module].items()) if k not in self.deleted]

    def operations(self, name: str) -> list[tuple[str, str, dict]]:
        return [r for r in self.requests if r[1] == name]

    # --- the webservice ---------------------------------------------------------------

    def handle(self, method: str, params: dict) -> dict:
        operation = params.get("operation", "")
        safe = {k: v for k, v in params.items() if k not in ("accessKey", "sessionName")}
        self.requests.append((method, operation, safe))
        if operation in BROKEN or operation not in READS | WRITES:
            raise _Empty500()
        if (operation in READS) != (method == "GET"):
            raise WSFault("ACCESS_DENIED", "Permission to perform the operation is denied")
        with self.lock:
            if operation == "getchallenge":
                return self._getchallenge(params)
            if operation == "login":
                return self._login(params)
            user_id = self.sessions.get(params.get("sessionName", ""))
            if user_id is None:
                raise WSFault("INVALID_SESSIONID", "Session Identifier provided is Invalid")
            return getattr(self, f"_op_{operation}")(params, user_id)

    def _getchallenge(self, params):
        user = params.get("username", "")
        token = secrets.token_hex(8)
        if self.flavour == "vtiger":
            # vtiger deletes the user's earlier tokens: parallel logins break each other
            self.tokens = [t for t in self.tokens if t[0] != user]
        expires = time.time() + 300
        self.tokens.append((user, token, expires))
        return {"token": token, "serverTime": int(time.time()), "expireTime": int(expires)}

    def _login(self, params):
        self.login_attempts += 1
        name = params.get("username", "")
        if self.failed_logins.get(name, 0) >= 5:
            raise WSFault("LOGIN_LOCKED", "Too many failed logins: the user is locked")
        user = self.users.get(name)
        live = [t for t in self.tokens if t[0] == name and t[2] > time.time()]
        if user is not None and not live:
            raise WSFault("INVALID_AUTH_TOKEN", "Specified token is invalid or expired")
        if user is None or not any(
            hashlib.md5((t[1] + user.access_key).encode()).hexdigest() == params.get("accessKey") for t in live
        ):
            self.failed_logins[name] = self.failed_logins.get(name, 0) + 1
            raise WSFault("INVALID_USER_CREDENTIALS", "Invalid username or password")
        self.failed_logins[name] = 0
        session = secrets.token_hex(12)
        self.sessions[session] = user.id
        return {"sessionName": session, "userId": user.id, "version": "0.22", "vtigerVersion": "8.2.0"}

    def _op_listtypes(self, params, user_id):
        return {"types": list(self.fields), "information": {m: {"isEntity": True, "label": m} for m in self.fields}}

    def _op_describe(self, params, user_id):
        module = params.get("elementType", "")
        if module not in self.fields:
            raise WSFault("ACCESS_DENIED", f"Permission to perform the operation is denied for name {module}")
        return {"label": module, "name": module, **self._rights(module), "idPrefix": self.prefixes[module],
                "isEntity": True, "fields": self.fields[module]}

    def _rights(self, module: str) -> dict[str, bool]:
        rights = {"createable": True, "updateable": True, "deleteable": True, "retrieveable": True}
        return {**rights, **self.permissions.get(module, {})}

    def _allowed(self, module: str, right: str) -> None:
        if not self._rights(module)[right]:
            raise WSFault("ACCESS_DENIED", "Permission to write is denied" if right != "retrieveable"
                          else "Permission to read is denied")

    def _op_retrieve(self, params, user_id):
        row = self._row(params.get("id", ""))
        self._allowed(self.module_by_prefix[row["id"].split("x")[0]], "retrieveable")
        return dict(row)

    def _op_query(self, params, user_id):
        text = params.get("query", "")
        self.queries.append(text)
        try:
            q = vtql_engine.parse(text)
        except vtql_engine.VTQLSyntaxError as exc:
            raise WSFault("QUERY_SYNTAX_ERROR", str(exc)) from exc
        if q.module not in self.fields:
            raise WSFault("ACCESS_DENIED", f"Permission to perform the operation is denied for name {q.module}")
        known = {f["name"] for f in self.fields[q.module]} | {"id"}
        for column in [c.column for group in q.where for c in group] + (q.columns or []) + [q.order_by or "id"]:
            if column not in known:
                raise WSFault("QUERY_SYNTAX_ERROR", f"Unknown column {column}")
        refs = {f["name"] for f in self.fields[q.module] if f["type"]["name"] in ("reference", "owner")} | {"id"}
        for c in (c for group in q.where for c in group):
            if c.column in refs and any(not re.fullmatch(r"\d+x\d+", v) for v in c.values if v):
                raise WSFault("INVALID_ID_ATTRIBUTE", "Id specified is incorrect")
        rows = [r for k, r in sorted(self.records[q.module].items()) if k not in self.deleted]
        if q.module == "ModComments":
            rows = [r for r in rows if not r.get("parent_comments")]  # replies only come by retrieve
            if self.flavour == "vtenext":
                rows = [r for r in rows if r.get("visibility_comm") or r.get("creator") == user_id]
        rows = vtql_engine.run(q, rows, TIME_FIELDS)
        if q.count:
            return [{"count": str(len(rows))}]
        limit = q.limit
        if self.flavour == "vtiger":
            limit = min(limit or 100, 100)  # vtiger caps every query, even an explicit LIMIT
        elif limit is None:
            limit = 1000
        rows = rows[q.offset : q.offset + limit]
        if q.columns is not None:
            rows = [{"id": r["id"], **{c: r.get(c, "") for c in q.columns}} for r in rows]
        return [dict(r) for r in rows]

    def _op_create(self, params, user_id):
        module = params.get("elementType", "")
        if module not in self.fields or module == "Users":
            raise WSFault("ACCESS_DENIED", f"Permission to perform the operation is denied for name {module}")
        self._allowed(module, "createable")
        element = self._element(params)
        values = self._validated(module, element)
        missing = [f["name"] for f in self.fields[module]
                   if f["mandatory"] and not values.get(f["name"]) and f["name"] != "ticket_no"]
        if missing:
            raise WSFault("MANDATORY_FIELDS_MISSING", f"{missing[0]} does not have a value")
        creator = user_id
        if module == "ModComments" and self.flavour == "vtenext" and values.get("creator"):
            creator = values["creator"]  # vtenext lets the API set the creator
        record_id = self._store(module, values, creator=creator)
        return dict(self._row(record_id))

    def _op_revise(self, params, user_id):
        element = self._element(params)
        row = self._row(str(element.get("id", "")))
        module = self.module_by_prefix[row["id"].split("x")[0]]
        self._allowed(module, "updateable")
        if module == "Users" and user_id not in (row["id"], self.users["admin"].id):
            # A user may edit their own record; only an admin edits the others'.
            raise WSFault("ACCESS_DENIED", "Permission to write is denied")
        values = self._validated(module, {k: v for k, v in element.items() if k != "id"})
        for name, value in values.items():
            row[name] = self._lossy(value)
            self.history.append((row["id"], name, row[name]))
        row["modifiedtime"] = self.now()
        return dict(row)

    def _op_update(self, params, user_id):
        element = self._element(params)
        row = self._row(str(element.get("id", "")))
        module = self.module_by_prefix[row["id"].split("x")[0]]
        missing = [f["name"] for f in self.fields[module] if f["mandatory"] and not element.get(f["name"])]
        if missing:
            raise WSFault("MANDATORY_FIELDS_MISSING", f"{missing[0]} does not have a value")
        return self._op_revise(params, user_id)

    def _op_delete(self, params, user_id):
        row = self._row(params.get("id", ""))
        self.deleted.add(int(row["id"].split("x")[1]))
        return {"status": "successful"}

    # --- internals --------------------------------------------------------------------

    def _element(self, params) -> dict:
        try:
            element = json.loads(params.get("element", ""))
        except ValueError as exc:
            raise WSFault("INVALID_PARAMETER", "element is not JSON") from exc
        if not isinstance(element, dict):
            raise WSFault("INVALID_PARAMETER", "element is not an object")
        return element

    def _validated(self, module: str, element: dict) -> dict:
        fields = {f["name"]: f for f in self.fields[module]}
        values = {}
        for name, value in element.items():
            spec = fields.get(name)
            if spec is None or name in TIME_FIELDS or name in ("ticket_no", "source"):
                self.ignored_fields.append(f"{module}.{name}")  # the CRM drops unknown fields silently
                continue
            value = "" if value is None else str(value)
            if spec["type"]["name"] in ("reference", "owner") and value:
                if not re.fullmatch(r"\d+x\d+", value):
                    raise WSFault("INVALID_ID_ATTRIBUTE", "Id specified is incorrect")
                target = self.module_by_prefix.get(value.split("x")[0])
                if target not in spec["type"]["refersTo"]:
                    raise WSFault("REFERENCE_INVALID", f"{name} cannot refer to {target}")
                crmid = int(value.split("x")[1])
                if crmid in self.deleted or crmid not in self.records[target]:
                    raise WSFault("REFERENCE_INVALID", f"{name}: the record {value} does not exist")
            values[name] = value
        return values

    def _store(self, module: str, values: dict, creator: str) -> str:
        self._next_crmid += 1
        crmid = self._next_crmid
        record_id = f"{self.prefixes[module]}x{crmid}"
        now = self.now()
        row = {f["name"]: "" for f in self.fields[module]}
        row.update({k: self._lossy(v) if isinstance(v, str) else v for k, v in values.items()})
        row.update({"id": record_id, "createdtime": now, "modifiedtime": now})
        self.history += [(record_id, k, v) for k, v in row.items() if k in values and isinstance(v, str)]
        if module == "HelpDesk":
            self._ticket_no += 1
            row["ticket_no"] = f"TT{self._ticket_no}"
        if module == "ModComments":
            row["creator"] = creator
            if self.flavour == "vtiger":
                row["source"] = "WEBSERVICE"
                ticket = self._find(row.get("related_to", ""))
                if ticket is not None:
                    ticket["modifiedtime"] = now  # vtiger: a comment touches its record
        self.records[module][crmid] = row
        return record_id

    def _lossy(self, value: str) -> str:
        # Both CRMs talk to MySQL as 3-byte utf8: a 4-byte character is stored as '????'.
        if not self.emoji_loss:
            return value
        return "".join("????" if ord(ch) > 0xFFFF else ch for ch in value)

    def _find(self, record_id: str) -> dict | None:
        if not re.fullmatch(r"\d+x\d+", record_id or ""):
            return None
        prefix, crmid = record_id.split("x")
        module = self.module_by_prefix.get(prefix)
        if module is None or int(crmid) in self.deleted:
            return None
        return self.records[module].get(int(crmid))

    def _row(self, record_id: str) -> dict:
        if not re.fullmatch(r"\d+x\d+", record_id or ""):
            raise WSFault("INVALID_ID_ATTRIBUTE", "Id specified is incorrect")
        row = self._find(record_id)
        if row is None:
            # a missing or deleted id answers ACCESS_DENIED, not RECORD_NOT_FOUND
            raise WSFault("ACCESS_DENIED", "Permission to perform the operation is denied")
        return row


class _Empty500(Exception):
    pass


def make_app(crm: FakeCRM) -> Starlette:
    async def endpoint(request: Request) -> Response:
        if crm.slow:
            await asyncio.sleep(crm.slow)
        if crm.hold.is_set():
            crm.held_requests += 1
            while crm.hold.is_set():
                await asyncio.sleep(0.01)
        if crm.down == "500":
            return Response(b"", status_code=500)
        if request.method == "GET":
            params = dict(request.query_params)
        else:
            params = dict(await request.form())
            params.update({k: v for k, v in request.query_params.items() if k not in params})
        try:
            result = crm.handle(request.method, params)
        except _Empty500:
            return Response(b"", status_code=500)
        except WSFault as fault:
            return JSONResponse({"success": False, "error": {"code": fault.code, "message": fault.message}})
        return JSONResponse({"success": True, "result": result})

    return Starlette(routes=[Route("/webservice.php", endpoint, methods=["GET", "POST"])])


class FakeServer:
    """The fake CRM served on 127.0.0.1; stop() makes it refuse connections (a CRM that is
    down), start() brings it back on the same port."""

    def __init__(self, crm: FakeCRM):
        self.crm = crm
        self.served = ThreadServer(make_app(crm), lifespan="off")
        self.port = self.served.port

    @property
    def url(self) -> str:
        return self.served.url

    def start(self) -> None:
        self.served.start()

    def stop(self) -> None:
        self.served.stop()


# --- pytest fixtures (re-exported by the conftest files that want them) ----------------


@pytest.fixture(params=["vtenext", "vtiger"])
def vtenext_server(request):
    """The fake CRM in one flavour (the test runs once per flavour), served over HTTP."""
    server = FakeServer(FakeCRM(flavour=request.param))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def vtenext_fake(vtenext_server) -> FakeCRM:
    return vtenext_server.crm
