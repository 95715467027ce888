"""What an installation offers, read from `describe`: modules, fields, id prefixes.

Id prefixes differ between installations (vtenext Leads are `2x..`, vtiger's `10x..`),
and so do the fields (vtiger tickets have `contact_id`; vtenext comments have
`visibility_comm`). Nothing here is hard-coded: each module is described once, on
first use, and kept for the life of the process.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Callable

from wasb.crm.port import CRMError
from wasb.crm.vtenext.webservice import Webservice, WebserviceError


@dataclass(frozen=True)
class FieldInfo:
    name: str
    type: str
    mandatory: bool = False
    refers_to: tuple[str, ...] = ()
    picklist: tuple[str, ...] = ()
    default: str = ""


@dataclass(frozen=True)
class ModuleInfo:
    name: str
    id_prefix: str
    fields: dict[str, FieldInfo] = field(default_factory=dict)
    # What the logged-in user's role may do with the module (describe's answer).
    createable: bool = True
    updateable: bool = True
    retrieveable: bool = True

    def has(self, name: str) -> bool:
        return name in self.fields

    def refers_to(self, name: str) -> tuple[str, ...]:
        info = self.fields.get(name)
        return info.refers_to if info else ()

    def picklist(self, name: str) -> tuple[str, ...]:
        info = self.fields.get(name)
        return info.picklist if info else ()


def parse_describe(result: dict) -> ModuleInfo:
    fields = {}
    for raw in result.get("fields") or []:
        ftype = raw.get("type") or {}
        picklist = tuple(
            str(v.get("value")) for v in ftype.get("picklistValues") or [] if isinstance(v, dict)
        )
        fields[raw["name"]] = FieldInfo(
            name=raw["name"],
            type=str(ftype.get("name", "")),
            mandatory=bool(raw.get("mandatory")),
            refers_to=tuple(ftype.get("refersTo") or ()),
            picklist=picklist,
            default=str(raw.get("default") or ftype.get("defaultValue") or ""),
        )
    return ModuleInfo(name=result["name"], id_prefix=str(result["idPrefix"]), fields=fields,
                      createable=_flag(result.get("createable")), updateable=_flag(result.get("updateable")),
                      retrieveable=_flag(result.get("retrieveable")))


def _flag(value: object) -> bool:
    """describe's rights: JSON booleans, or strings from some PHP versions; absent = allowed."""
    if isinstance(value, str):
        return value.strip().lower() not in ("false", "0", "")
    return True if value is None else bool(value)


class Schema:
    """The described modules of one CRM, cached; safe to share between threads."""

    def __init__(self, webservice: Webservice):
        self._ws = webservice
        self._modules: dict[str, ModuleInfo] = {}
        self._lock = threading.Lock()
        # Told each module described (the link keeps what the admin is shown for the other processes).
        self.on_described: Callable[[ModuleInfo], None] | None = None

    def module(self, name: str, *, fresh: bool = False) -> ModuleInfo:
        """The module as described (once); `fresh` describes it again (an admin may
        have changed the user's rights or a picklist since)."""
        with self._lock:
            cached = None if fresh else self._modules.get(name)
        if cached is not None:
            return cached
        try:
            info = parse_describe(self._ws.describe(name))
        except WebserviceError as exc:
            raise CRMError(f"the CRM has no usable module {name} ({exc.code}: {exc.message})") from exc
        with self._lock:
            self._modules[name] = info
        if self.on_described is not None:
            self.on_described(info)
        return info

    def cached(self, name: str) -> ModuleInfo | None:
        """The module if it was described already (no call to the CRM)."""
        with self._lock:
            return self._modules.get(name)

    def module_of(self, record_id: str, candidates: tuple[str, ...]) -> str | None:
        """Which of `candidates` an id belongs to, by its prefix."""
        prefix = record_id.split("x", 1)[0]
        for name in candidates:
            if self.module(name).id_prefix == prefix:
                return name
        return None

    def flavour(self) -> str:
        """`vtenext` or `vtiger`, told apart by what they describe (not by a version
        string): vtenext comments carry `visibility_comm`, vtiger tickets `contact_id`."""
        if self.module("ModComments").has("visibility_comm"):
            return "vtenext"
        if self.module("HelpDesk").has("contact_id"):
            return "vtiger"
        return "vtenext"
