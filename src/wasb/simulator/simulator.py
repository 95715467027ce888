"""The simulator: one object holding Meta's side of the conversation and enforcing its rules.

The HTTP layers (`graph_routes`, `control_routes`, `phone_routes`) only translate requests
into calls on `Simulator`. Everything lives in memory; `reset()` starts over.

The clock is real time plus an offset that `/_sim/clock` moves forward, so a test can step
past the 24-hour window without waiting. Rate limits use the real monotonic clock.
"""
from __future__ import annotations

import asyncio
import base64
import collections
import copy
import hashlib
import hmac
import random
import re
import secrets
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx

from wasb.domain.clock import write_offset
from wasb.simulator import inbound_shapes, payloads, send_checks
from wasb.simulator.delivery import WebhookPoster
from wasb.simulator.meta_errors import CATALOGUE, MetaError, unknown_object
from wasb.simulator.state import (
    MEDIA_HEADER_FORMATS, PLACEHOLDER, Behaviour, Customer, Injection, Limits, Media, Message, ReadMark, Template,
)

WINDOW_SECONDS = 24 * 3600
MEDIA_TYPES = ("image", "document", "audio", "video", "sticker")
SENDABLE_TYPES = ("text", "template", "reaction", "interactive", "location", "contacts") + MEDIA_TYPES
INBOUND_TYPES = ("text", "button", "reaction", "image", "document", "audio", "video", "sticker",
                 *inbound_shapes.SHAPED_TYPES)
# What Meta's answer to a template send may say besides "accepted" (template pacing).
HELD_STATUSES = ("held_for_quality_assessment", "paused")
# A template's state as /_sim/template-state sets it: (status, quality score).
TEMPLATE_STATES = {"approved": ("APPROVED", "GREEN"), "flagged": ("FLAGGED", "RED"),
                   "paused": ("PAUSED", "RED"), "disabled": ("DISABLED", "RED")}
QUALITY_SCORES = ("GREEN", "YELLOW", "RED", "UNKNOWN")
TEMPLATE_CATEGORIES = ("MARKETING", "UTILITY", "AUTHENTICATION")
BUTTON_TYPES = ("QUICK_REPLY", "URL", "COPY_CODE", "PHONE_NUMBER")
BSUID = re.compile(r"^[A-Z]{2}(\.[A-Z]+)?\.[0-9A-Za-z]+$")

DEFAULT_PHONE_NUMBER_ID = "106540352242922"
DEFAULT_WABA_ID = "102290129340398"
DEFAULT_DISPLAY_NUMBER = "15550783881"
DEFAULT_WEBHOOK_URL = "http://127.0.0.1:8000/webhooks/whatsapp"


@dataclass
class SimSettings:
    access_token: str
    app_secret: str
    phone_number_id: str = DEFAULT_PHONE_NUMBER_ID
    waba_id: str = DEFAULT_WABA_ID
    graph_version: str = "v24.0"
    webhook_url: str = DEFAULT_WEBHOOK_URL
    display_phone_number: str = DEFAULT_DISPLAY_NUMBER
    # `make run`: where the clock's offset is written, so the service's window follows it.
    clock_file: str = ""

    @classmethod
    def from_config(cls, config: Any = None, webhook_url: str = DEFAULT_WEBHOOK_URL) -> SimSettings:
        """From `wasb.config.Config`, any object with the same attributes, or a dict."""
        if config is None:
            from wasb.config import Config
            config = Config()
        get = config.get if isinstance(config, dict) else lambda name, default=None: getattr(config, name, default)
        return cls(
            access_token=_plain(get("access_token", "")),
            app_secret=_plain(get("app_secret", "")),
            phone_number_id=_plain(get("phone_number_id", "")) or DEFAULT_PHONE_NUMBER_ID,
            waba_id=_plain(get("waba_id", "")) or DEFAULT_WABA_ID,
            graph_version=_plain(get("graph_version", "")) or "v24.0",
            webhook_url=webhook_url,
            display_phone_number=_plain(get("display_phone_number", "")) or DEFAULT_DISPLAY_NUMBER,
            clock_file=_plain(get("demo_clock_file", "")),
        )


TYPING_SECONDS = 25.0  # Meta drops the typing indicator after this long


class Simulator:
    def __init__(self, settings: SimSettings) -> None:
        self.settings = settings
        self.poster = WebhookPoster(settings.webhook_url, settings.app_secret,
                                    lambda: self.behaviour.retry_delays)
        self._url_secret = secrets.token_bytes(16)  # signs media download URLs
        self.reset()

    # -- state ---------------------------------------------------------------------------

    def reset(self) -> None:
        self.clock_offset = 0.0
        self._publish_clock()
        self.customers: dict[str, Customer] = {}
        self.messages: dict[str, Message] = {}
        self.templates: dict[tuple[str, str], Template] = {}
        self.media: dict[str, Media] = {}
        self.limits = Limits()
        self.behaviour = Behaviour()
        self.injections: list[Injection] = []
        self.read_marks: list[ReadMark] = []  # the business's mark-as-read requests, oldest first
        self.random = random.Random()
        self._sent_times: collections.deque[float] = collections.deque()
        self._pair_times: dict[str, collections.deque[float]] = {}
        self._pending: list[dict[str, Any]] = []  # status webhooks waiting to be batched
        self._flush_task: asyncio.Task[Any] | None = None
        self.version = 0  # bumped on every change the phone page should redraw for
        self.poster.reset()

    def now(self) -> float:
        return time.time() + self.clock_offset

    def advance(self, seconds: float) -> float:
        self.clock_offset += seconds
        self._publish_clock()
        self.changed()
        return self.now()

    def _publish_clock(self) -> None:
        """In `make run` the service measures the 24-hour window on this clock too."""
        if self.settings.clock_file:
            write_offset(self.settings.clock_file, self.clock_offset)

    def changed(self) -> None:
        self.version += 1

    # -- auth ----------------------------------------------------------------------------

    def check_token(self, authorization: str | None) -> None:
        """Graph's 190 for a missing or wrong bearer token (constant-time compare)."""
        expected = self.settings.access_token
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise MetaError(190, message="An access token is required to request this resource.")
        # An unconfigured simulator (no WASB_ACCESS_TOKEN) accepts any token, for quick demos.
        if expected and not hmac.compare_digest(token.strip().encode(), expected.encode()):
            raise MetaError(190, message="Invalid OAuth access token - Cannot parse access token")

    # -- customers -----------------------------------------------------------------------

    def find_customer(self, identifier: str | None) -> Customer | None:
        if not identifier:
            return None
        identifier = identifier.lstrip("+")
        if identifier in self.customers:
            return self.customers[identifier]
        for customer in self.customers.values():
            if identifier in (customer.wa_id, customer.user_id):
                return customer
        return None

    def ensure_customer(self, wa_id: str | None = None, user_id: str | None = None,
                        name: str | None = None) -> Customer:
        wa_id = wa_id.lstrip("+") if wa_id else None
        if wa_id and not wa_id.isdigit():
            raise ValueError(f"a wa_id is digits only, got {wa_id!r}")
        if not wa_id and not user_id:
            raise ValueError("a customer needs a phone (from/wa_id) or a BSUID (user_id)")
        customer = self.find_customer(wa_id) or self.find_customer(user_id)
        if customer is None:
            customer = Customer(name=name or wa_id or user_id or "", wa_id=wa_id, user_id=user_id)
            self.customers[customer.key] = customer
        else:
            # Learn what we did not know yet (a BSUID for a phone user, a newer profile name).
            customer.user_id = customer.user_id or user_id
            if name:
                customer.name = name
        self.changed()
        return customer

    def window_open(self, customer: Customer) -> bool:
        last = customer.last_inbound_at
        return last is not None and self.now() - last < WINDOW_SECONDS

    def new_wamid(self, address: str) -> str:
        # Shaped like Meta's: base64 of a small binary blob holding the address and a random id.
        addr = address.encode()[:200]
        raw = (b"\x1c\x18" + bytes([len(addr)]) + addr + b"\x15\x02\x00\x12\x18\x14"
               + secrets.token_hex(10).upper().encode() + b"\x00")
        return "wamid." + base64.b64encode(raw).decode()

    # -- sending (the service → customer) -------------------------------------------------

    async def send_message(self, phone_number_id: str, body: Any) -> tuple[Message, Customer]:
        """Apply Meta's rules to a `POST /{phone-number-id}/messages` body; raise MetaError or
        accept it (and start its status webhooks)."""
        if phone_number_id != self.settings.phone_number_id:
            raise unknown_object(phone_number_id, "post")
        if not isinstance(body, dict):
            raise MetaError(100, "The request body must be a JSON object.")
        if body.get("messaging_product") != "whatsapp":
            raise MetaError(100, "The parameter messaging_product is required.")
        recipient = body.get("to") or body.get("recipient")
        if not isinstance(recipient, str) or not recipient.strip():
            raise MetaError(100, "The parameter to is required.")
        kind = body.get("type", "text")
        if kind not in SENDABLE_TYPES:
            raise MetaError(100, f"Param type must be one of {{{', '.join(SENDABLE_TYPES)}}}"
                                 f" - got \"{kind}\".")
        to_group = send_checks.check_recipient_type(body)
        content = body.get(kind)
        interactive_text = ""
        if kind == "contacts":
            # Meta takes contact cards as an array (`"contacts": [{"name": {...}, "phones": [...]}]`).
            send_checks.check_contact_cards(content)
        elif kind == "interactive":
            interactive_text = send_checks.check_interactive(content)
        elif kind == "location":
            send_checks.check_location(content)
        elif not isinstance(content, dict):
            raise MetaError(100, f"The parameter {kind} is required.")
        if to_group:
            # The simulator's number is in no group: a group id it does not know, or a
            # person's number sent as a group, is Meta's "group unknown".
            raise send_checks.group_unknown()
        customer = self._recipient(recipient.strip())
        injected = self._take_injection(customer, kind)
        if injected is not None and injected.code is not None and injected.via == "response":
            raise MetaError(injected.code, injected.details)

        self._check_throughput()
        self._check_pair(customer.key)
        # Free-form outside the window: refuse before doing any work (like fetching a link).
        window_closed = kind != "template" and not self.window_open(customer)
        if window_closed and not self.behaviour.async_errors:
            raise MetaError(131047)

        message = Message(wamid=self.new_wamid(customer.key), direction="out", customer=customer.key,
                          type=kind, timestamp=self.now(), request=body)
        if isinstance(body.get("biz_opaque_callback_data"), str):
            message.callback_data = body["biz_opaque_callback_data"][:512]  # Meta's limit
        context = body.get("context")
        if isinstance(context, dict):
            message.context = context.get("message_id")

        deferred: MetaError | None = None
        template: Template | None = None
        if kind == "text":
            text = content.get("body")
            if not isinstance(text, str) or not text:
                raise MetaError(100, "The parameter text['body'] is required.")
            if len(text) > 4096:
                raise MetaError(100, "Param text['body'] must be at most 4096 characters long.")
            message.text = text
        elif kind == "template":
            template = self._check_template(content, message)
            header_media = message.template["header_media"] if message.template else None
            if header_media and header_media["type"] != "location":
                # Like a media message: Meta fetches the link (or finds the id) before delivering.
                deferred = await self._check_media(header_media["type"], header_media, message)
        elif kind in MEDIA_TYPES:
            deferred = await self._check_media(kind, content, message)
        elif kind == "reaction":
            if not content.get("message_id"):
                raise MetaError(100, "The parameter reaction['message_id'] is required.")
            message.context = content["message_id"]
            message.emoji = content.get("emoji") or ""
        elif kind == "contacts":
            message.text = "[contacts] " + "; ".join(card["name"]["formatted_name"] for card in content)
        elif kind == "interactive":
            message.text = interactive_text or "[interactive]"
        elif kind == "location":
            message.text = "[location] " + (content.get("name") or f"{content['latitude']}, {content['longitude']}")
        else:
            message.text = f"[{kind}]"

        if window_closed:
            deferred = MetaError(131047)
        if deferred is None and not customer.on_whatsapp:
            deferred = MetaError(131026)
        if deferred is not None and not self.behaviour.async_errors:
            raise deferred
        also: list[MetaError] = []
        if injected is not None and injected.code is not None:  # via "webhook": accepted, then failed
            deferred = MetaError(injected.code, injected.details)
            also = [MetaError(code) for code in injected.also]
        elif injected is not None and injected.message_status == "paused":
            deferred = MetaError(132015)  # paused by pacing: Meta drops it and says so by webhook
        message.message_status = injected.message_status if injected and injected.message_status else "accepted"

        self._count_send(customer.key)
        self.messages[message.wamid] = message
        if kind == "reaction" and message.context in self.messages:
            self.messages[message.context].reactions["business"] = message.emoji or ""
        self.changed()
        if deferred is not None:
            message.status = "failed"
            message.errors = [error.as_webhook_error() for error in (deferred, *also)]
            self.poster.spawn(self._post_failed(message, customer, message.errors))
        else:
            price = payloads.pricing(message, template.category if template else None,
                                     self.window_open(customer))
            hold = injected.hold_seconds if injected and injected.message_status else 0.0
            self.poster.spawn(self._post_statuses(message, customer, price, hold))
        return message, customer

    # -- injected answers (/_sim/inject) ---------------------------------------------------

    def inject(self, spec: dict[str, Any]) -> Injection:
        """The next `count` sends (to `to`, or to anyone) answer with `code` or `message_status`."""
        code, status = spec.get("code"), spec.get("message_status")
        if (code is None) == (status is None):
            raise ValueError("give exactly one of code (a Meta error code) or message_status")
        if code is not None:
            code = int(code)
            if code not in CATALOGUE:
                raise ValueError(f"unknown error code {code}; known: {', '.join(map(str, sorted(CATALOGUE)))}")
        if status is not None and status not in HELD_STATUSES:
            raise ValueError(f"message_status must be one of {', '.join(HELD_STATUSES)}")
        via = str(spec.get("via") or "response")
        if via not in ("response", "webhook"):
            raise ValueError("via must be response or webhook")
        count = int(spec.get("count", 1))
        if count < 1:
            raise ValueError("count must be at least 1")
        applies_to = str(spec.get("applies_to") or "send")
        if applies_to not in ("send", "read"):
            raise ValueError("applies_to must be send or read")
        if applies_to == "read" and (status is not None or via != "response"):
            raise ValueError("a mark-as-read is refused with a code, in the answer (via response)")
        also = [int(c) for c in spec.get("also") or []]
        if also and (code is None or via != "webhook"):
            raise ValueError("also (more errors) comes with a code sent via webhook: a failed status lists them all")
        for extra in also:
            if extra not in CATALOGUE:
                raise ValueError(f"unknown error code {extra} in also")
        to = spec.get("to")
        if to is not None:
            to = str(to).lstrip("+")
            known = self.find_customer(to)
            to = known.key if known else to
        injection = Injection(remaining=count, code=code, message_status=status, to=to,
                              details=spec.get("details") or None, via=via,
                              hold_seconds=float(spec.get("hold_seconds", 1.0)), applies_to=applies_to,
                              also=also)
        self.injections.append(injection)
        return injection

    def _take_injection(self, customer: Customer, kind: str) -> Injection | None:
        """The oldest injection for this send, used up by one. A message_status only comes
        with template sends (Meta's answer carries it for templates only)."""
        for injection in self.injections:
            if injection.to is not None and injection.to not in (customer.key, customer.wa_id, customer.user_id):
                continue
            if injection.message_status is not None and kind != "template":
                continue
            if injection.applies_to != ("read" if kind == "read" else "send"):
                continue
            injection.remaining -= 1
            if injection.remaining <= 0:
                self.injections.remove(injection)
            return injection
        return None

    def set_template_state(self, spec: dict[str, Any]) -> Template:
        """Paused, disabled or flagged by Meta's quality checks (or approved again), silently:
        the service learns it from a send's error or the template list, as when a webhook is lost."""
        template = self.templates.get((spec.get("name"), spec.get("language")))
        if template is None:
            raise ValueError("no such template (name, language)")
        state = str(spec.get("state") or "").lower()
        if state not in TEMPLATE_STATES:
            raise ValueError(f"state must be one of {', '.join(TEMPLATE_STATES)}")
        template.status, template.quality = TEMPLATE_STATES[state]
        if spec.get("quality"):
            template.quality = str(spec["quality"]).upper()
        self.changed()
        return template

    def _recipient(self, recipient: str) -> Customer:
        known = self.find_customer(recipient)
        if known:
            return known
        number = recipient.lstrip("+").replace(" ", "").replace("-", "")
        if number.isdigit() and 7 <= len(number) <= 15:
            return self.ensure_customer(wa_id=number)
        if BSUID.match(recipient):
            return self.ensure_customer(user_id=recipient)
        raise MetaError(100, f"Invalid parameter: to ({recipient!r}) is not a phone number or a user id.")

    def _check_throughput(self) -> None:
        now = time.monotonic()
        while self._sent_times and now - self._sent_times[0] >= 1.0:
            self._sent_times.popleft()
        if len(self._sent_times) >= self.limits.messages_per_second:
            raise MetaError(130429, subcode=2494055)

    def _check_pair(self, key: str) -> None:
        now = time.monotonic()
        times = self._pair_times.setdefault(key, collections.deque())
        while times and now - times[0] >= self.limits.pair_window_seconds:
            times.popleft()
        if len(times) >= self.limits.pair_burst:
            raise MetaError(131056)

    def _count_send(self, key: str) -> None:
        now = time.monotonic()
        self._sent_times.append(now)
        self._pair_times.setdefault(key, collections.deque()).append(now)

    def _check_template(self, content: dict[str, Any], message: Message) -> Template:
        name = content.get("name")
        language = content.get("language")
        code = language.get("code") if isinstance(language, dict) else language
        if not isinstance(name, str) or not name or not isinstance(code, str) or not code:
            raise MetaError(100, "The parameters template['name'] and template['language']['code'] are required.")
        template = self.templates.get((name, code))
        if template is not None and template.status == "PAUSED":
            raise MetaError(132015, f"Template {name} ({code}) is paused due to low quality.")
        if template is not None and template.status == "DISABLED":
            raise MetaError(132016, f"Template {name} ({code}) has been disabled due to low quality.")
        # A flagged template (low quality, not yet paused) can still be sent.
        if template is None or template.status not in ("APPROVED", "FLAGGED"):
            raise MetaError(132001, f"template name ({name}) does not exist in {code}")
        components = content.get("components") or []
        if not isinstance(components, list):
            raise MetaError(100, "Param template['components'] must be an array.")
        params: dict[str, list[dict[str, Any]]] = {"body": [], "header": []}
        payloads_by_index: dict[int, str] = {}
        button_params: dict[int, tuple[str, list[Any]]] = {}
        for component in components:
            if not isinstance(component, dict):
                raise MetaError(100, "Each template component must be an object.")
            ctype = str(component.get("type", "")).lower()
            parameters = component.get("parameters") or []
            if ctype in params:
                params[ctype] = list(parameters)
            elif ctype == "button" and component.get("sub_type") == "quick_reply":
                for p in parameters:
                    if isinstance(p, dict) and p.get("type") == "payload":
                        payloads_by_index[_index(component.get("index", 0))] = str(p.get("payload", ""))
            elif ctype == "button":
                button_params[_index(component.get("index", 0))] = (
                    str(component.get("sub_type") or "").lower(), list(parameters))
        header_media = send_checks.template_header_media(template, params["header"])
        actions = send_checks.template_actions(template, button_params)
        values: dict[str, str] = {}
        for part, expected in (("header", template.header_placeholders), ("body", template.body_placeholders)):
            given = params[part]
            if part == "header" and template.header_text is None:
                continue  # a media, location or no header: checked above
            if len(given) != len(expected):
                raise MetaError(132000, f"{part}: number of localizable_params ({len(given)}) does not "
                                        f"match the expected number of params ({len(expected)})")
            for position, (placeholder, parameter) in enumerate(zip(expected, given), start=1):
                if not isinstance(parameter, dict) or parameter.get("type") not in ("text", "currency", "date_time"):
                    raise MetaError(132012, f"{part}: parameter {position} must be of type text")
                if template.parameter_format == "NAMED" and parameter.get("parameter_name") not in expected:
                    raise MetaError(132000, f"{part}: parameter_name {parameter.get('parameter_name')!r} "
                                            f"is not one of {', '.join(expected)}")
                key = parameter.get("parameter_name") if template.parameter_format == "NAMED" else placeholder
                values[str(key)] = _parameter_text(parameter)
        rendered = _render(template.body_text, values)
        header = _render(template.header_text, values) if template.header_text else None
        buttons = [{"text": b.get("text", ""), "payload": payloads_by_index.get(i, b.get("text", ""))}
                   for i, b in enumerate(template.buttons) if b.get("type", "QUICK_REPLY") == "QUICK_REPLY"]
        message.text = rendered
        message.template = {"name": name, "language": code, "category": template.category,
                            "parameters": {"header": params["header"], "body": params["body"]},
                            "values": values, "header": header, "rendered": rendered,
                            "footer": template.footer_text, "buttons": buttons,
                            "header_media": header_media, "actions": actions}
        return template

    async def _check_media(self, kind: str, content: dict[str, Any], message: Message) -> MetaError | None:
        message.caption = content.get("caption")
        message.filename = content.get("filename")
        if content.get("id"):
            media = self.media.get(str(content["id"]))
            if media is None or self._expired(media):
                return MetaError(131053, f"Unable to retrieve media with id {content['id']}.")
            message.media_id = media.id
            message.mime_type = media.mime_type
            return None
        link = content.get("link")
        if not isinstance(link, str) or not link:
            raise MetaError(100, f"The parameter {kind}['id'] or {kind}['link'] is required.")
        message.link = link
        # Like Meta's fetcher: really download the link; anything but a 200 is a media error.
        try:
            response = await self.poster.http.get(link, follow_redirects=True, timeout=10.0)
        except (httpx.HTTPError, ValueError) as exc:
            return MetaError(131053, f"Media download failed: {type(exc).__name__} fetching {link}")
        if response.status_code != 200:
            return MetaError(131053, f"Media download failed: HTTP {response.status_code} fetching {link}")
        mime = response.headers.get("content-type", "application/octet-stream").split(";")[0].strip()
        media = self.store_media(response.content, mime, message.filename, origin="link")
        message.media_id = media.id
        message.mime_type = mime
        return None

    async def _post_statuses(self, message: Message, customer: Customer, price: dict[str, Any],
                             hold: float = 0.0) -> None:
        """sent → delivered → read after the configured delays, or all at once in a shuffled
        order when asked. Each status is delivered (with retries) before the next one starts,
        so the order the service sees is the order chosen here. `hold`: a message held for
        quality assessment waits that long first."""
        if hold > 0:
            await asyncio.sleep(hold)
        b = self.behaviour
        steps = [("sent", b.sent_delay), ("delivered", b.delivered_delay)]
        if b.auto_read:
            steps.append(("read", b.read_delay))
        if b.out_of_order:
            await asyncio.sleep(sum(delay for _, delay in steps))
            self.random.shuffle(steps)
            for name, _ in steps:
                await self._post_status(message, customer, name, price)
            return
        for name, delay in steps:
            await asyncio.sleep(delay)
            await self._post_status(message, customer, name, price)

    async def _post_status(self, message: Message, customer: Customer, name: str, price: dict[str, Any]) -> None:
        order = ("accepted", "sent", "delivered", "read")
        if message.status in order and order.index(name) > order.index(message.status):
            message.status = name
        self.changed()
        body = payloads.status(
            message, customer, name, self.now(), waba_id=self.settings.waba_id,
            phone_number_id=self.settings.phone_number_id,
            display_phone_number=self.settings.display_phone_number,
            graph_version=self._webhook_version(), price=price,
            conversation_id=hashlib.md5(customer.key.encode()).hexdigest(),
            conversation_expiry=self._conversation_expiry(customer, message))
        for _ in range(2 if self.behaviour.duplicate else 1):
            if self.behaviour.batch_window > 0:
                self._batch(body)
            else:
                await self.poster.deliver(body)

    def _webhook_version(self) -> str:
        return self.behaviour.webhook_version or self.settings.graph_version

    def _conversation_expiry(self, customer: Customer, message: Message) -> float:
        """When the (pre-v24) conversation a message belongs to ends: 24 hours after the
        customer's last message when it opened the window, else 24 hours after the send."""
        last = customer.last_inbound_at
        if last is not None and message.timestamp - last < WINDOW_SECONDS:
            return last + WINDOW_SECONDS
        return message.timestamp + WINDOW_SECONDS

    def _batch(self, body: dict[str, Any]) -> None:
        self._pending.append(body)
        if len(self._pending) >= self.behaviour.batch_max:
            self._flush()
        elif self._flush_task is None:
            self._flush_task = self.poster.spawn(self._flush_later())

    async def _flush_later(self) -> None:
        await asyncio.sleep(self.behaviour.batch_window)
        self._flush_task = None
        self._flush()

    def _flush(self) -> None:
        pending, self._pending = self._pending, []
        if pending:
            self.poster.deliver_later(payloads.merge_statuses(pending))

    async def _post_failed(self, message: Message, customer: Customer, errors: list[dict[str, Any]]) -> None:
        await asyncio.sleep(self.behaviour.sent_delay)
        body = payloads.status(
            message, customer, "failed", self.now(), waba_id=self.settings.waba_id,
            phone_number_id=self.settings.phone_number_id,
            display_phone_number=self.settings.display_phone_number,
            graph_version=self._webhook_version(), errors=errors)
        self.poster.deliver_later(body)

    def business_read(self, phone_number_id: str, body: dict[str, Any]) -> ReadMark:
        """`{"messaging_product": "whatsapp", "status": "read", "message_id": …}` (optionally
        `"typing_indicator": {"type": "text"}`): the customer's message, and every earlier one,
        shows read on their side. Meta answers `{"success": true}`; an id it does not know as a
        message received on this number is an invalid parameter (100)."""
        if phone_number_id != self.settings.phone_number_id:
            raise unknown_object(phone_number_id, "post")
        if body.get("messaging_product") != "whatsapp":
            raise MetaError(100, "The parameter messaging_product is required.")
        if body.get("status") != "read":
            raise MetaError(100, "Param status must be one of {read}.")
        wamid = body.get("message_id")
        if not isinstance(wamid, str) or not wamid:
            raise MetaError(100, "The parameter message_id is required.")
        typing = body.get("typing_indicator")
        if typing is not None and (not isinstance(typing, dict) or typing.get("type") != "text"):
            raise MetaError(100, "Param typing_indicator[type] must be one of {text}.")
        message = self.messages.get(wamid)
        if message is None or message.direction != "in":
            raise MetaError(100, "Invalid message_id.")
        customer = self.customers.get(message.customer)
        injected = self._take_injection(customer, "read") if customer else None
        if injected is not None and injected.code is not None:
            raise MetaError(injected.code, injected.details)
        mark = ReadMark(wamid=wamid, customer=message.customer, typing=typing is not None, at=self.now())
        self.read_marks.append(mark)
        self.changed()
        return mark

    def read_by_business(self, customer_key: str) -> tuple[float | None, bool]:
        """For the phone page: up to when (the marked message's time) the customer's messages
        show read, and whether the business shows them "typing…" now (Meta: until it answers,
        or 25 s)."""
        marks = [m for m in self.read_marks if m.customer == customer_key]
        marked = [self.messages[m.wamid].timestamp for m in marks if m.wamid in self.messages]
        typing = [m.at for m in marks if m.typing]
        answered = max((m.timestamp for m in self.messages.values()
                        if m.direction == "out" and m.customer == customer_key), default=None)
        shows_typing = bool(typing) and self.now() - typing[-1] < TYPING_SECONDS and (
            answered is None or answered < typing[-1])
        return (max(marked) if marked else None), shows_typing

    def mark_read(self, customer_key: str) -> int:
        """The customer opened the chat: every delivered message of theirs becomes read."""
        count = 0
        customer = self.find_customer(customer_key)
        if customer is None:
            return 0
        for message in list(self.messages.values()):
            if message.direction == "out" and message.customer == customer.key and message.status in ("sent", "delivered"):
                price = payloads.pricing(message, (message.template or {}).get("category"), True)
                self.poster.spawn(self._post_status(message, customer, "read", price))
                count += 1
        return count

    # -- receiving (customer → the service) ----------------------------------------------

    def receive(self, spec: dict[str, Any], base_url: str) -> tuple[Message, dict[str, Any]]:
        """A message from a customer: record it, open their window, build Meta's webhook body.
        Raises ValueError for a spec that makes no sense."""
        kind = spec.get("type") or "text"
        if kind not in INBOUND_TYPES:
            raise ValueError(f"type must be one of {', '.join(INBOUND_TYPES)}")
        customer = self.ensure_customer(spec.get("from") or spec.get("wa_id"), spec.get("user_id"),
                                        spec.get("name"))
        if spec.get("parent_user_id"):
            customer.parent_user_id = spec["parent_user_id"]
        message = Message(wamid=self.new_wamid(customer.key), direction="in", customer=customer.key,
                          type=kind, timestamp=self.now(), context=spec.get("context"))
        media: Media | None = None
        if kind == "text":
            if not spec.get("text"):
                raise ValueError("a text message needs text")
            message.text = str(spec["text"])
            message.referral = inbound_shapes.referral(spec)
        elif kind in inbound_shapes.SHAPED_TYPES:
            self._shaped(customer, message, spec)
        elif kind == "button":
            message.text = str(spec.get("text") or "")
            message.template = {"payload": spec.get("payload") or message.text}
            if not message.text:
                raise ValueError("a button tap needs the button's text")
            # Meta names the template a quick reply answers (`context: {from, id}`), but
            # not always: `without_context` sends the tap as Meta sometimes does, bare.
            if spec.get("without_context"):
                message.context = None
            else:
                message.context = message.context or self._last_template_to(customer)
            if not message.context and not spec.get("without_context"):
                raise ValueError("a button tap answers a template: send one to this customer first, "
                                 "or give `context` (its wamid)")
        elif kind == "reaction":
            message.context = spec.get("message_id") or spec.get("context")
            if not message.context:
                raise ValueError("a reaction needs message_id (the wamid reacted to)")
            message.emoji = spec.get("emoji") or ""
            target = self.messages.get(message.context)
            if target is not None:
                target.reactions["customer"] = message.emoji
        else:
            media = self._inbound_media(spec)
            # `"voice": null` leaves Meta's key out (older clients' audio carries none).
            message.voice = None if kind == "audio" and "voice" in spec and spec["voice"] is None \
                else kind == "audio" and bool(spec.get("voice"))
            message.animated = kind == "sticker" and bool(spec.get("animated"))
            message.media_id = media.id
            message.mime_type = media.mime_type
            message.caption = spec.get("caption")
            message.filename = media.filename
        sender = copy.copy(customer)  # as the message names them (a number change moves them next)
        if kind == "system" and message.part["type"] == "user_changed_user_id":
            sender.wa_id = None  # Meta includes no phone number with a user id change
            self._rekey(customer, user_id=message.part["user_id"],
                        parent_user_id=message.part.get("parent_user_id"))
        elif kind == "system":
            self._rekey(customer, wa_id=message.part["wa_id"])
        else:
            customer.last_inbound_at = message.timestamp
        self.messages[message.wamid] = message
        self.changed()
        item = payloads.inbound_message(sender, message, self.settings.display_phone_number, media,
                                        self.media_url(media, base_url) if media else None)
        body = payloads.inbound(self.settings.waba_id, self.settings.phone_number_id,
                                self.settings.display_phone_number, sender, item,
                                with_contacts=kind != "system")  # Meta sends none with a system message
        return message, body

    def _shaped(self, customer: Customer, message: Message, spec: dict[str, Any]) -> None:
        """The kinds whose content is data (inbound_shapes), checked as Meta would build them."""
        kind = message.type
        if kind == "interactive":
            message.part = inbound_shapes.interactive(spec)
            reply = message.part.get(message.part["type"], {})
            message.text = reply.get("title") or "Form sent"
            # A reply answers the interactive message it was tapped in.
            message.context = message.context or self._last_outbound_to(customer)
        elif kind == "location":
            message.part = inbound_shapes.location(spec)
            message.text = "📍 " + (message.part.get("name") or f"{message.part['latitude']}, {message.part['longitude']}")
        elif kind == "contacts":
            message.part = inbound_shapes.contacts(spec)
            message.text = "👤 " + ", ".join(card["name"]["formatted_name"] for card in message.part)
        elif kind == "order":
            message.part = inbound_shapes.order(spec)
            message.text = f"🛒 {len(message.part['product_items'])} item(s)"
        elif kind == "system" and spec.get("new_user_id") is not None:
            new_user_id = str(spec["new_user_id"])
            if not customer.user_id or not BSUID.match(new_user_id) or new_user_id == customer.user_id:
                raise ValueError("a user id change needs a customer with a BSUID (user_id) and new_user_id, "
                                 "another BSUID (US.123…)")
            if self.find_customer(new_user_id) is not None:
                raise ValueError(f"another customer has the user id {new_user_id} already")
            message.part = inbound_shapes.user_id_change(customer.name, customer.user_id, new_user_id,
                                                         customer.parent_user_id, spec.get("new_parent_user_id"))
            message.text = f"changed user id to {new_user_id}"
        elif kind == "system":
            new_wa_id = str(spec.get("new_wa_id") or "").lstrip("+")
            if not customer.wa_id or not new_wa_id.isdigit() or new_wa_id == customer.wa_id:
                raise ValueError("a number change needs a customer with a phone and new_wa_id, another number (digits)")
            if self.find_customer(new_wa_id) is not None:
                raise ValueError(f"another customer has the number {new_wa_id} already")
            message.part = inbound_shapes.number_change(customer.name, customer.wa_id, new_wa_id)
            message.text = f"changed number to {new_wa_id}"
        elif kind == "unsupported":
            message.errors = [dict(inbound_shapes.UNSUPPORTED_ERROR)]

    def _rekey(self, customer: Customer, *, wa_id: str | None = None, user_id: str | None = None,
               parent_user_id: str | None = None) -> None:
        """The customer's number (or BSUID) changed: the thread follows them to the new one."""
        old_key = customer.key
        self.customers.pop(old_key, None)
        if wa_id:
            customer.wa_id = wa_id
        if user_id:
            customer.user_id, customer.parent_user_id = user_id, parent_user_id
        self.customers[customer.key] = customer
        for m in self.messages.values():
            if m.customer == old_key:
                m.customer = customer.key

    def _last_outbound_to(self, customer: Customer) -> str | None:
        sent = [m for m in self.messages.values() if m.direction == "out" and m.customer == customer.key]
        return max(sent, key=lambda m: m.timestamp).wamid if sent else None

    def _last_template_to(self, customer: Customer) -> str | None:
        sent = [m for m in self.messages.values()
                if m.direction == "out" and m.customer == customer.key and m.type == "template"]
        return max(sent, key=lambda m: m.timestamp).wamid if sent else None

    def _inbound_media(self, spec: dict[str, Any]) -> Media:
        if spec.get("media_id"):
            media = self.media.get(str(spec["media_id"]))
            if media is None:
                raise ValueError(f"unknown media_id {spec['media_id']}")
            return media
        inline = spec.get("media") or {}
        if not inline.get("content_base64"):
            raise ValueError("a media message needs media_id (from /_sim/media) or media.content_base64")
        content = base64.b64decode(inline["content_base64"])
        return self.store_media(content, inline.get("mime_type") or "application/octet-stream",
                                inline.get("filename"), origin="customer")

    # -- media ---------------------------------------------------------------------------

    def store_media(self, content: bytes, mime_type: str, filename: str | None, origin: str) -> Media:
        digest = hashlib.sha256(content).digest()
        media = Media(id=str(secrets.randbelow(9 * 10**15) + 10**15), content=content,
                      mime_type=mime_type, filename=filename, sha256_hex=digest.hex(),
                      sha256_b64=base64.b64encode(digest).decode(), created_at=self.now(), origin=origin)
        self.media[media.id] = media
        return media

    def _expired(self, media: Media) -> bool:
        return self.now() - media.created_at > self.behaviour.media_ttl_seconds

    def media_info(self, media_id: str, base_url: str) -> dict[str, Any]:
        media = self.media.get(media_id)
        if media is None or self._expired(media):
            raise unknown_object(media_id)
        return {"messaging_product": "whatsapp", "url": self.media_url(media, base_url),
                "mime_type": media.mime_type, "sha256": media.sha256_hex,
                "file_size": str(len(media.content)), "id": media.id}

    def delete_media(self, media_id: str, phone_number_id: str | None) -> None:
        """`DELETE /{media-id}`: gone for good (its info, its download URL, a send naming it).
        Meta's optional `phone_number_id` must be the number the media belongs to."""
        media = self.media.get(media_id)
        if media is None or self._expired(media):
            raise unknown_object(media_id, "delete")
        if phone_number_id is not None and phone_number_id != self.settings.phone_number_id:
            raise MetaError(100, f"Param phone_number_id ({phone_number_id}) is not the phone number "
                                 f"media {media_id} belongs to.")
        del self.media[media_id]
        self.changed()

    def media_url(self, media: Media, base_url: str) -> str:
        """A short-lived download URL shaped like Meta's lookaside one; still needs the token."""
        expires = str(int(self.now() + self.behaviour.url_ttl_seconds))
        query = urlencode({"mid": media.id, "ext": expires, "hash": self._url_hash(media.id, expires)})
        return f"{base_url.rstrip('/')}/whatsapp_business/attachments/?{query}"

    def _url_hash(self, media_id: str, expires: str) -> str:
        return hmac.new(self._url_secret, f"{media_id}:{expires}".encode(), hashlib.sha256).hexdigest()[:32]

    def download(self, media_id: str, expires: str, url_hash: str) -> Media | None:
        """The media behind a download URL, or None when the URL is forged, expired or gone."""
        if not hmac.compare_digest(self._url_hash(media_id, expires), url_hash):
            return None
        try:
            if float(expires) < self.now():
                return None
        except ValueError:
            return None
        media = self.media.get(media_id)
        return None if media is None or self._expired(media) else media

    # -- templates -----------------------------------------------------------------------

    def put_template(self, spec: dict[str, Any]) -> Template:
        name, language = spec.get("name"), spec.get("language")
        if not name or not language or not isinstance(spec.get("body_text"), str):
            raise ValueError("a template needs name, language and body_text")
        existing = self.templates.get((name, language))
        buttons = [_button(b) for b in spec.get("buttons") or []]
        header_format = str(spec.get("header_format") or "TEXT").upper()
        if header_format not in ("TEXT",) + MEDIA_HEADER_FORMATS:
            raise ValueError(f"header_format is TEXT or one of {', '.join(MEDIA_HEADER_FORMATS)}")
        if header_format != "TEXT" and spec.get("header_text") is not None:
            raise ValueError("a media or location header has no header_text")
        template = Template(
            name=name, language=language, category=str(spec.get("category") or "UTILITY").upper(),
            status=str(spec.get("status") or "APPROVED").upper(), body_text=spec["body_text"],
            header_text=spec.get("header_text"), header_format=header_format, footer_text=spec.get("footer_text"),
            buttons=buttons, id=existing.id if existing else str(secrets.randbelow(9 * 10**15) + 10**15))
        self.templates[(name, language)] = template
        self.changed()
        return template

    def template_page(self, limit: int, after: str | None,
                      filters: dict[str, str]) -> tuple[list[Template], int, bool]:
        """One page of templates, the index it starts at, and whether more pages follow."""
        items = [t for t in self.templates.values()
                 if all(str(getattr(t, k, "")).upper() == v.upper() for k, v in filters.items())]
        start = decode_cursor(after) if after else 0
        page = items[start:start + limit]
        return page, start, start + limit < len(items)

    def template_event(self, spec: dict[str, Any]) -> dict[str, Any]:
        """Change a template the way Meta's review or its quality rating would, and build the
        webhook: a status (`event`), a quality score (`quality`) or a category (`category`;
        with `impending`, Meta's notice that it will change: `correct_category`)."""
        template = self.templates.get((spec.get("name"), spec.get("language")))
        if template is None:
            raise ValueError("no such template (name, language)")
        keys = {"message_template_id": int(template.id), "message_template_name": template.name,
                "message_template_language": template.language}
        if "quality" in spec:
            quality = str(spec["quality"]).upper()
            if quality not in QUALITY_SCORES:
                raise ValueError(f"quality is one of {', '.join(QUALITY_SCORES)}")
            previous, template.quality = template.quality, quality
            self.changed()
            return payloads.template_change(self.settings.waba_id, "message_template_quality_update",
                                            {"previous_quality_score": previous, "new_quality_score": quality,
                                             **keys}, self.now())
        if "category" in spec:
            category = str(spec["category"]).upper()
            if category not in TEMPLATE_CATEGORIES:
                raise ValueError(f"category is one of {', '.join(TEMPLATE_CATEGORIES)}")
            if spec.get("impending"):
                value = {**keys, "correct_category": category, "new_category": template.category,
                         "category_update_timestamp": int(self.now()) + 24 * 3600}
            else:
                value = {**keys, "previous_category": template.category, "new_category": category}
                template.category = category
            self.changed()
            return payloads.template_change(self.settings.waba_id, "template_category_update", value, self.now())
        event = str(spec.get("event") or "APPROVED").upper()
        if event in ("APPROVED", "REJECTED", "PAUSED", "DISABLED", "PENDING"):
            template.status = event
        reason = str(spec.get("reason") or "NONE")
        template.rejected_reason = reason if event == "REJECTED" else "NONE"
        self.changed()
        return payloads.template_event(self.settings.waba_id, template.id, template.name,
                                       template.language, template.category, event,
                                       reason, self.now(), spec.get("rejection_info"))

    # -- views ---------------------------------------------------------------------------

    def sent(self, to: str | None = None) -> list[dict[str, Any]]:
        """What the service sent, oldest first (for tests: to, type, text/template, wamid, time)."""
        customer = self.find_customer(to) if to else None
        rows = []
        for m in self.messages.values():
            if m.direction != "out" or (to and (customer is None or m.customer != customer.key)):
                continue
            c = self.customers.get(m.customer)
            rows.append({"wamid": m.wamid, "to": m.customer, "wa_id": c.wa_id if c else None,
                         "user_id": c.user_id if c else None, "type": m.type, "text": m.text,
                         "template": m.template, "media_id": m.media_id, "link": m.link,
                         "caption": m.caption, "filename": m.filename, "context": m.context,
                         "emoji": m.emoji, "status": m.status, "message_status": m.message_status,
                         "errors": m.errors,
                         "time": m.timestamp, "request": m.request})
        return rows

    def thread(self, customer_key: str) -> list[dict[str, Any]]:
        customer = self.find_customer(customer_key)
        if customer is None:
            return []
        return [m.public() | {"request": None} for m in self.messages.values() if m.customer == customer.key]


def encode_cursor(index: int) -> str:
    return base64.urlsafe_b64encode(f"i:{index}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        return max(0, int(base64.urlsafe_b64decode(padded).decode().split(":", 1)[1]))
    except (ValueError, IndexError):
        raise MetaError(100, "Invalid cursor: after") from None


def _button(spec: Any) -> dict[str, Any]:
    """A template button as /_sim/templates takes it (a bare string: a quick reply)."""
    if not isinstance(spec, dict):
        return {"type": "QUICK_REPLY", "text": str(spec)}
    button = dict(spec)
    button["type"] = kind = str(button.get("type") or "QUICK_REPLY").upper()
    if kind not in BUTTON_TYPES:
        raise ValueError(f"a button's type is one of {', '.join(BUTTON_TYPES)}")
    if kind == "URL" and not str(button.get("url") or "").startswith(("https://", "http://")):
        raise ValueError("a URL button needs its url (https://…, {{1}} at the end for a dynamic one)")
    if kind == "COPY_CODE":
        button.setdefault("text", "Copy offer code")
    return button


def _index(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise MetaError(100, f"Invalid button index {value!r}.") from None


def _parameter_text(parameter: dict[str, Any]) -> str:
    kind = parameter.get("type")
    if kind == "currency":
        return str((parameter.get("currency") or {}).get("fallback_value", ""))
    if kind == "date_time":
        return str((parameter.get("date_time") or {}).get("fallback_value", ""))
    return str(parameter.get("text", ""))


def _render(text: str | None, values: dict[str, str]) -> str:
    return PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), text or "")


def _plain(value: Any) -> str:
    """A str from a str or a pydantic SecretStr."""
    if value is None:
        return ""
    reveal = getattr(value, "get_secret_value", None)
    return str(reveal() if reveal else value)

