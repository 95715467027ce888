"""The simulator's in-memory world: customers, messages both ways, templates, media, knobs."""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z0-9_]+)\s*\}\}")


@dataclass
class Customer:
    """A WhatsApp user on the other side: a phone (wa_id), a BSUID (user_id), or both."""
    name: str
    wa_id: str | None = None
    user_id: str | None = None
    parent_user_id: str | None = None     # a BSUID shared across linked portfolios ("US.ENT.…")
    last_inbound_at: float | None = None  # simulator clock; opens the 24-hour window
    on_whatsapp: bool = True              # False: messages fail with 131026

    @property
    def key(self) -> str:
        return self.wa_id or self.user_id or ""

    def public(self) -> dict[str, Any]:
        return {"key": self.key, "name": self.name, "wa_id": self.wa_id, "user_id": self.user_id,
                "parent_user_id": self.parent_user_id, "last_inbound_at": self.last_inbound_at, "on_whatsapp": self.on_whatsapp}


@dataclass
class Message:
    """One message of a thread, either way: `in` (customer → business) or `out`."""
    wamid: str
    direction: str            # "in" | "out"
    customer: str             # Customer.key
    type: str
    timestamp: float
    text: str | None = None
    template: dict[str, Any] | None = None   # {"name", "language", "parameters", "rendered", "buttons"}
    media_id: str | None = None
    link: str | None = None
    caption: str | None = None
    filename: str | None = None
    mime_type: str | None = None
    context: str | None = None               # the wamid this one replies/reacts to
    emoji: str | None = None
    voice: bool | None = False               # in, audio: a recorded voice note (Meta's `voice`); None: key left out
    animated: bool = False                   # in, sticker: Meta's `animated`
    part: Any = None                         # in: the typed part of a shaped kind (inbound_shapes), as Meta sends it
    referral: dict[str, Any] | None = None   # in: the click-to-WhatsApp ad the message came from
    status: str = "accepted"                 # out: accepted → sent → delivered → read | failed
    message_status: str = "accepted"         # out: the send answer's (template pacing)
    errors: list[dict[str, Any]] = field(default_factory=list)
    reactions: dict[str, str] = field(default_factory=dict)  # "customer"/"business" -> emoji
    request: dict[str, Any] | None = None     # what the service sent, verbatim
    callback_data: str | None = None          # `biz_opaque_callback_data`, echoed in statuses

    def public(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class ReadMark:
    """The business marked a customer's message read (blue ticks on their side), perhaps
    with a typing indicator (shown until the business answers, or 25 s)."""
    wamid: str
    customer: str             # Customer.key
    typing: bool
    at: float                 # simulator clock

    def public(self) -> dict[str, Any]:
        return asdict(self)


MEDIA_HEADER_FORMATS = ("IMAGE", "VIDEO", "DOCUMENT", "LOCATION")
# What the template list answers when no `fields` are asked for: Meta leaves out the quality
# score and the rejection reason unless asked.
DEFAULT_TEMPLATE_FIELDS = frozenset({"name", "parameter_format", "components", "language", "status", "category"})
ALL_TEMPLATE_FIELDS = DEFAULT_TEMPLATE_FIELDS | {"id", "quality_score", "rejected_reason"}


@dataclass
class Template:
    name: str
    language: str
    category: str = "UTILITY"
    status: str = "APPROVED"
    body_text: str = ""
    quality: str = "UNKNOWN"          # Meta's quality_score: GREEN | YELLOW | RED | UNKNOWN
    header_text: str | None = None
    # TEXT (with header_text) | IMAGE | VIDEO | DOCUMENT | LOCATION: a media or location header
    # is filled by each send (Meta's sample handle is listed as the example).
    header_format: str = "TEXT"
    footer_text: str | None = None
    # QUICK_REPLY {text} | URL {text, url: "https://…/{{1}}" dynamic or static, example: [url]}
    # | COPY_CODE {example} | PHONE_NUMBER {text, phone_number}
    buttons: list[dict[str, Any]] = field(default_factory=list)
    rejected_reason: str = "NONE"     # Meta's reason of the last rejection (INVALID_FORMAT, …)
    id: str = ""

    @property
    def body_placeholders(self) -> list[str]:
        return _distinct(PLACEHOLDER.findall(self.body_text))

    @property
    def header_placeholders(self) -> list[str]:
        return _distinct(PLACEHOLDER.findall(self.header_text or ""))

    @property
    def parameter_format(self) -> str:
        names = self.body_placeholders + self.header_placeholders
        return "NAMED" if any(not n.isdigit() for n in names) else "POSITIONAL"

    @property
    def header_media(self) -> str | None:
        """image | video | document | location when the header is filled by each send."""
        return self.header_format.lower() if self.header_format in MEDIA_HEADER_FORMATS else None

    def dynamic_buttons(self) -> dict[int, str]:
        """Button index -> the parameter each send must give it: url (a dynamic URL's suffix)
        or copy_code (the code)."""
        found = {}
        for index, button in enumerate(self.buttons):
            kind = str(button.get("type", "QUICK_REPLY")).upper()
            if kind == "URL" and PLACEHOLDER.search(str(button.get("url") or "")):
                found[index] = "url"
            elif kind == "COPY_CODE":
                found[index] = "copy_code"
        return found

    def graph(self, fields: set[str] | None = None) -> dict[str, Any]:
        """As `GET /{waba-id}/message_templates` lists it: Meta's default fields, or exactly
        the `fields` asked for (and the id, which Graph always adds)."""
        components: list[dict[str, Any]] = []
        if self.header_media == "location":
            components.append({"type": "HEADER", "format": "LOCATION"})
        elif self.header_media:
            components.append({"type": "HEADER", "format": self.header_format,
                               "example": {"header_handle": [f"4::{self.header_media}-sample-{self.id}"]}})
        elif self.header_text is not None:
            components.append({"type": "HEADER", "format": "TEXT", "text": self.header_text})
        components.append({"type": "BODY", "text": self.body_text})
        if self.footer_text:
            components.append({"type": "FOOTER", "text": self.footer_text})
        if self.buttons:
            components.append({"type": "BUTTONS", "buttons": [dict(b) for b in self.buttons]})
        every = {"name": self.name, "parameter_format": self.parameter_format, "components": components,
                 "language": self.language, "status": self.status, "category": self.category,
                 "quality_score": {"score": self.quality}, "rejected_reason": self.rejected_reason,
                 "id": self.id}
        wanted = fields if fields else DEFAULT_TEMPLATE_FIELDS
        return {k: v for k, v in every.items() if k in wanted or k == "id"}


@dataclass
class Media:
    id: str
    content: bytes
    mime_type: str
    filename: str | None
    sha256_hex: str
    sha256_b64: str
    created_at: float
    origin: str  # "business" (uploaded by the service), "customer", "link"


@dataclass
class Injection:
    """What the next `remaining` sends (to `to`, or to anyone) get instead of Meta's usual answer:
    the error `code` (answered, or — `via` "webhook" — accepted then failed by a status
    webhook), or an accepted answer whose `message_status` is not "accepted"."""
    remaining: int
    code: int | None = None
    message_status: str | None = None   # held_for_quality_assessment | paused (template sends)
    to: str | None = None               # a customer's key (wa_id or BSUID); None: any recipient
    details: str | None = None          # instead of the code's usual details
    via: str = "response"               # response | webhook
    hold_seconds: float = 1.0           # held: how long Meta sits on it before `sent`
    applies_to: str = "send"            # send | read (a mark-as-read, `status: read`)
    also: list[int] = field(default_factory=list)  # via webhook: more errors after `code`, in order

    def public(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Limits:
    messages_per_second: float = 1000.0   # per business number → 130429 above it
    pair_burst: int = 45                  # messages to one recipient within pair_window_seconds
    pair_window_seconds: float = 6.0      # → 131056 above it

    def update(self, values: dict[str, Any]) -> None:
        for name in ("messages_per_second", "pair_window_seconds"):
            if name in values:
                setattr(self, name, float(values[name]))
        if "pair_burst" in values:
            self.pair_burst = int(values["pair_burst"])


@dataclass
class Behaviour:
    """How the simulator posts status webhooks and reports errors."""
    sent_delay: float = 0.05
    delivered_delay: float = 0.3
    read_delay: float = 1.0
    auto_read: bool = True            # False: "read" only when asked (/_sim/read or the phone page)
    out_of_order: bool = False        # post the statuses of a message in a shuffled order
    duplicate: bool = False           # post every status webhook twice
    async_errors: bool = False        # 131047/131053/131026 as a failed status webhook (Meta's
                                      # usual way) instead of a synchronous error answer
    batch_window: float = 0.0        # > 0: collect status webhooks for this long, post them as one
    batch_max: int = 1000             # … of at most this many statuses (Meta's batch limit)
    retry_delays: tuple[float, ...] = (0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0)
    media_ttl_seconds: float = 30 * 24 * 3600   # media ids expire (Meta: 30 days uploaded)
    url_ttl_seconds: float = 300                # download URLs expire after 5 minutes
    response_delay: float = 0.0       # answer a send this long after accepting it (its statuses
                                      # may overtake the answer; a client may die waiting)
    # The version status webhooks are shaped for ("v23.0": `conversation` + `pricing` on each);
    # empty: the served Graph version. Meta posts webhooks in the app's webhook version, which
    # the dashboard sets apart from the version the calls use.
    webhook_version: str = ""

    def update(self, values: dict[str, Any]) -> None:
        if "batch_max" in values:
            self.batch_max = max(1, int(values["batch_max"]))
        for name in ("sent_delay", "delivered_delay", "read_delay", "media_ttl_seconds", "url_ttl_seconds",
                     "batch_window", "response_delay"):
            if name in values:
                setattr(self, name, float(values[name]))
        for name in ("auto_read", "out_of_order", "duplicate", "async_errors"):
            if name in values:
                setattr(self, name, bool(values[name]))
        if "webhook_version" in values:
            version = str(values["webhook_version"] or "")
            if version and not re.fullmatch(r"v\d+\.\d+", version):
                raise ValueError("webhook_version is a Graph version like v23.0 (or empty)")
            self.webhook_version = version
        if "retry_delays" in values:
            self.retry_delays = tuple(float(d) for d in values["retry_delays"])


def _distinct(names: list[str]) -> list[str]:
    return list(dict.fromkeys(names))
