// The customer phone page: polls /phone/api/state and acts through the /_sim control API.
// Plain DOM building with textContent only, so nothing a message says can become markup.
"use strict";

const $ = (selector) => document.querySelector(selector);
const page = { key: decodeURIComponent((location.hash.match(/customer=([^&]+)/) || [])[1] || ""),
               version: -1, state: null, replyTo: null, busy: false };

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (name === "class") node.className = value;
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else if (value !== undefined && value !== null) node.setAttribute(name, value);
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined && child !== false) {
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
  }
  return node;
}

async function api(path, options = {}) {
  const init = { method: options.body ? "POST" : "GET", headers: {} };
  if (options.form) { init.method = "POST"; init.body = options.form; }
  else if (options.body) { init.headers["Content-Type"] = "application/json"; init.body = JSON.stringify(options.body); }
  const response = await fetch(path, init);
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(data.error || `HTTP ${response.status}`);
  return data;
}

const time = (seconds) => new Date(seconds * 1000).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
const day = (seconds) => new Date(seconds * 1000).toLocaleDateString([], { weekday: "short", day: "numeric", month: "short" });
const initials = (name) => (name || "?").replace(/^@/, "").split(/\s+/).map((w) => w[0]).join("").slice(0, 2).toUpperCase();

function identity(customer) {
  const who = { name: customer.name };
  if (customer.wa_id) who.from = customer.wa_id;
  if (customer.user_id) who.user_id = customer.user_id;
  return who;
}

// -- drawing --------------------------------------------------------------------------------

function drawCustomers(state) {
  const list = $("#customers");
  list.replaceChildren();
  if (!state.customers.length) {
    list.append(el("li", { class: "empty" }, "No customers yet: add one below."));
  }
  for (const c of state.customers) {
    const item = el("li", { class: c.key === page.key ? "selected" : "", onclick: () => select(c.key) },
      el("div", { class: "avatar" }, initials(c.name)),
      el("div", { class: "who" },
        el("div", { class: "name" }, c.name || c.key),
        el("div", { class: "last" }, c.last_text || (c.wa_id ? "+" + c.wa_id : c.user_id))));
    list.append(item);
  }
}

function ticks(message, readUntil) {
  // Business messages: the status the simulator reported to the service.
  // Customer messages: whether the service accepted the webhook.
  const s = message.status;
  if (message.direction === "out") {
    if (s === "failed") return el("span", { class: "tick failed", title: (message.errors[0] || {}).title || "failed" }, "⚠");
    if (s === "read") return el("span", { class: "tick read", title: "read" }, "✓✓");
    if (s === "delivered") return el("span", { class: "tick", title: "delivered" }, "✓✓");
    if (s === "sent") return el("span", { class: "tick", title: "sent" }, "✓");
    return el("span", { class: "tick", title: "accepted" }, "🕓");
  }
  if (readUntil != null && message.timestamp <= readUntil) return el("span", { class: "tick read", title: "read by the business" }, "✓✓");
  if (s === "delivered") return el("span", { class: "tick", title: "the service answered 200" }, "✓✓");
  if (s === "retrying" || s === "undelivered") return el("span", { class: "tick failed", title: "the service did not answer 200; retrying" }, "⚠");
  return el("span", { class: "tick", title: "posting" }, "🕓");
}

function quoteOf(wamid, byId) {
  const quoted = byId.get(wamid);
  if (!quoted) return null;
  return el("div", { class: "quote" }, preview(quoted));
}

function preview(m) {
  if (m.type === "template") return (m.template && m.template.rendered) || m.text || "template";
  if (m.type === "image") return m.caption ? "📷 " + m.caption : "📷 Photo";
  if (m.type === "document") return "📄 " + (m.filename || "Document");
  return m.text || m.type;
}

function content(m) {
  const parts = [];
  if (m.type === "template" && m.template) {
    const media = m.template.header_media;
    if (media && media.type === "location") {
      const where = [media.name, media.address].filter(Boolean).join(", ") || `${media.latitude}, ${media.longitude}`;
      parts.push(el("div", { class: "header location" }, "📍 " + where));
    } else if (media && media.type === "image" && m.media_id) {
      parts.push(el("img", { src: `/_sim/media/${m.media_id}`, alt: "header" }));
    } else if (media && m.media_id) {
      parts.push(el("a", { class: "doc", href: `/_sim/media/${m.media_id}`, target: "_blank" },
        el("span", {}, media.type === "document" ? "📄" : "🎞"), el("span", {}, media.filename || media.type)));
    }
    if (m.template.header) parts.push(el("div", { class: "header" }, m.template.header));
    parts.push(el("div", {}, m.template.rendered));
    if (m.template.footer) parts.push(el("div", { class: "footer" }, m.template.footer));
    for (const a of m.template.actions || []) parts.push(templateAction(a));
  } else if ((m.type === "image" || m.type === "sticker") && m.media_id) {
    parts.push(el("img", { src: `/_sim/media/${m.media_id}`, alt: m.caption || "photo" }));
    if (m.caption) parts.push(el("div", {}, m.caption));
  } else if (m.media_id) {
    parts.push(el("a", { class: "doc", href: `/_sim/media/${m.media_id}`, target: "_blank" },
      el("span", {}, m.type === "document" ? "📄" : "🎞"), el("span", {}, m.filename || m.type)));
    if (m.caption) parts.push(el("div", {}, m.caption));
  } else if (m.type === "button") {
    parts.push(el("div", { class: "tag" }, "Button"), el("div", {}, m.text));
  } else {
    parts.push(el("div", {}, m.text || `[${m.type}]`));
  }
  if (m.errors && m.errors.length) {
    parts.push(el("div", { class: "error-text" }, `${m.errors[0].code}: ${m.errors[0].title}`));
  }
  return parts;
}

// A template's URL, copy-code and call buttons, as WhatsApp shows them under the text.
function templateAction(a) {
  if (a.type === "URL") return el("a", { class: "tpl-action", href: a.url, target: "_blank", rel: "noopener" }, "🔗 " + a.text);
  if (a.type === "PHONE_NUMBER") return el("a", { class: "tpl-action", href: "tel:" + a.phone_number }, "📞 " + a.text);
  return el("button", { type: "button", class: "tpl-action", title: a.code,
    onclick: () => navigator.clipboard && navigator.clipboard.writeText(a.code) }, `📋 ${a.text}: ${a.code}`);
}

function drawThread(state) {
  const thread = $("#thread");
  const stick = thread.scrollTop + thread.clientHeight >= thread.scrollHeight - 40;
  thread.replaceChildren();
  const messages = state.thread.filter((m) => m.type !== "reaction");
  const byId = new Map(state.thread.map((m) => [m.wamid, m]));
  if (!state.customer) {
    thread.append(el("li", { class: "placeholder" }, "Pick a customer on the left, or add one, then write to the business as them."));
    return;
  }
  if (!messages.length) {
    thread.append(el("li", { class: "placeholder" }, "No messages yet. Say hello to the business."));
  }
  let lastDay = "";
  for (const m of messages) {
    const d = day(m.timestamp);
    if (d !== lastDay) { thread.append(el("li", { class: "day" }, d)); lastDay = d; }
    const mine = m.direction === "in";
    const bubble = el("div", { class: "bubble" },
      m.context ? quoteOf(m.context, byId) : null,
      content(m),
      el("span", { class: "meta" }, time(m.timestamp), ticks(m, state.business_read_until)));
    const row = el("li", { class: "bubble-row " + (mine ? "mine" : "theirs") }, bubble);
    const reactions = Object.values(m.reactions || {}).filter(Boolean);
    if (reactions.length) row.append(el("span", { class: "reactions" }, reactions.join(" ")));
    if (m.type === "template" && m.template && m.template.buttons && m.template.buttons.length) {
      row.append(el("div", { class: "quick-replies" }, m.template.buttons.map((b) =>
        el("button", { type: "button", onclick: () => tapButton(m, b) }, b.text))));
    }
    row.append(el("div", { class: "actions" },
      el("button", { type: "button", title: "React", onclick: (e) => pickEmoji(e, row, m) }, "☺"),
      el("button", { type: "button", title: "Reply", onclick: () => replyTo(m) }, "↩")));
    thread.append(row);
  }
  if (state.business_typing) thread.append(el("li", { class: "bubble-row theirs typing" }, el("div", { class: "bubble" }, "typing…")));
  if (stick || page.scrollDown) { thread.scrollTop = thread.scrollHeight; page.scrollDown = false; }
}

function drawHeader(state) {
  const c = state.customer;
  $("#avatar").textContent = c ? initials(c.name) : "?";
  $("#chat-name").textContent = c ? c.name : "Pick a customer";
  $("#chat-sub").textContent = c
    ? [c.wa_id ? "+" + c.wa_id : "username only", c.user_id].filter(Boolean).join(" · ")
    : "…";
  $("#clock").textContent = `${day(state.now)} ${time(state.now)}`;
  const banner = $("#window");
  banner.hidden = !c;
  if (c) {
    banner.classList.toggle("open", state.window_open);
    banner.textContent = state.window_open
      ? `Customer-service window open until ${day(state.window_until)} ${time(state.window_until)}`
      : "Window closed: the business can only send approved templates";
  }
  const enabled = Boolean(c) && !page.busy;
  $("#text").disabled = !enabled;
  $("#send").disabled = !enabled;
  $("#file").disabled = !enabled;
  document.querySelectorAll("#more [data-kind]").forEach((b) => { b.disabled = !enabled; });
}

function draw(state) {
  drawCustomers(state);
  drawHeader(state);
  drawThread(state);
}

// -- polling --------------------------------------------------------------------------------

async function refresh(force = false) {
  try {
    const state = await api(`/phone/api/state?customer=${encodeURIComponent(page.key)}`);
    if (force || state.version !== page.version) {
      page.version = state.version;
      page.state = state;
      draw(state);
    } else {
      $("#clock").textContent = `${day(state.now)} ${time(state.now)}`;
    }
    // With the chat open and the page visible, the customer reads what arrives.
    const unread = state.thread.some((m) => m.direction === "out" && (m.status === "sent" || m.status === "delivered"));
    if (unread && document.visibilityState === "visible") {
      await api("/_sim/read", { body: { customer: page.key } });
    }
  } catch (error) {
    console.warn("refresh failed", error);
  }
}

// -- actions --------------------------------------------------------------------------------

function select(key) {
  page.key = key;
  page.replyTo = null;
  page.scrollDown = true;
  $("#reply-to").hidden = true;
  location.hash = "customer=" + encodeURIComponent(key);
  refresh(true);
}

async function inbound(body) {
  page.busy = true;
  try {
    await api("/_sim/inbound", { body: { ...identity(page.state.customer), ...body } });
    page.scrollDown = true;
  } catch (error) {
    alert(error.message);
  } finally {
    page.busy = false;
    await refresh(true);
  }
}

function replyTo(m) {
  page.replyTo = m.wamid;
  $("#reply-text").textContent = "Replying to: " + preview(m);
  $("#reply-to").hidden = false;
  $("#text").focus();
}

function tapButton(m, button) {
  inbound({ type: "button", text: button.text, payload: button.payload, context: m.wamid });
}

function pickEmoji(event, row, m) {
  event.stopPropagation();
  document.querySelectorAll(".picker").forEach((p) => p.remove());
  const picker = $("#emoji-picker").content.firstElementChild.cloneNode(true);
  picker.addEventListener("click", (e) => {
    const button = e.target.closest("button");
    if (!button) return;
    picker.remove();
    const emoji = button.hasAttribute("data-remove") ? "" : button.textContent;
    inbound({ type: "reaction", message_id: m.wamid, emoji });
  });
  row.append(picker);
}

document.addEventListener("click", () => document.querySelectorAll(".picker").forEach((p) => p.remove()));

$("#cancel-reply").addEventListener("click", () => { page.replyTo = null; $("#reply-to").hidden = true; });

$("#composer").addEventListener("submit", async (event) => {
  event.preventDefault();
  const text = $("#text").value.trim();
  if (!text || !page.state || !page.state.customer) return;
  $("#text").value = "";
  const context = page.replyTo;
  page.replyTo = null;
  $("#reply-to").hidden = true;
  await inbound({ type: "text", text, context });
});

$("#file").addEventListener("change", async (event) => {
  const file = event.target.files[0];
  event.target.value = "";
  if (!file || !page.state || !page.state.customer) return;
  const form = new FormData();
  form.append("file", file, file.name);
  try {
    const media = await api("/_sim/media", { form });
    const caption = $("#text").value.trim() || undefined;
    $("#text").value = "";
    // As WhatsApp sends a shared file: a photo, a video, an audio file (not a recorded voice
    // note: `voice: false`) or a document; audio carries no caption.
    const kind = ["image", "video", "audio"].find((k) => file.type.startsWith(k + "/")) || "document";
    await inbound(kind === "audio" ? { type: kind, media_id: media.id, voice: false }
      : { type: kind, media_id: media.id, caption });
  } catch (error) {
    alert(error.message);
  }
});

$("#new-customer").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.target;
  const error = $("#form-error");
  error.hidden = true;
  const usernameOnly = form.username_only.checked;
  let userId = form.user_id.value.trim();
  if (usernameOnly && !userId) {
    userId = "IT." + Array.from(crypto.getRandomValues(new Uint8Array(19)), (b) => b % 10).join("");
  }
  const body = { name: form.name.value.trim(), wa_id: usernameOnly ? undefined : form.wa_id.value.replace(/[^0-9]/g, ""), user_id: userId || undefined };
  try {
    const customer = await api("/_sim/customers", { body });
    form.reset();
    select(customer.key);
  } catch (e) {
    error.textContent = e.message;
    error.hidden = false;
  }
});

document.querySelectorAll("[data-advance]").forEach((button) =>
  button.addEventListener("click", async () => {
    await api("/_sim/clock", { body: { advance_seconds: Number(button.dataset.advance) } });
    refresh(true);
  }));

// A 1×1 WebP, the sticker the "Sticker" button sends.
const STICKER_WEBP = "UklGRhoAAABXRUJQVlA4TA0AAAAvAAAAEAcQERGIiP4HAA==";

// Each kind of message a customer can send besides text and files, asked for with prompts
// (Meta's shapes are built by the simulator: /_sim/inbound).
const MORE = {
  location: () => {
    const name = prompt("Place name", "Duomo di Milano");
    if (name === null) return null;
    return { type: "location", location: { latitude: 45.4642, longitude: 9.19, name,
                                           address: prompt("Address", "Piazza del Duomo, Milano") || "" } };
  },
  contacts: () => {
    const name = prompt("Contact's name", "Chandler Bing");
    if (!name) return null;
    const phone = prompt("Contact's phone", "+1 555-555-5555") || "";
    return { type: "contacts", contacts: [{ name: { formatted_name: name, first_name: name.split(" ")[0] },
                                            phones: phone ? [{ phone, type: "CELL" }] : [] }] };
  },
  button_reply: () => {
    const title = prompt("Reply button tapped", "Yes");
    return title ? { type: "interactive", button_reply: { id: title.toLowerCase().replace(/\W+/g, "-"), title } } : null;
  },
  list_reply: () => {
    const title = prompt("List row picked", "Priority Mail Express");
    return title ? { type: "interactive", list_reply: { id: title.toLowerCase().replace(/\W+/g, "_"), title,
                                                        description: "Next Day to 2 Days" } } : null;
  },
  nfm_reply: () => {
    const raw = prompt("Flow answers (JSON)", '{"name": "Mario", "size": "M"}');
    if (!raw) return null;
    let answers;
    try { answers = JSON.parse(raw); } catch (e) { alert("Not JSON: " + e.message); return null; }
    return { type: "interactive", nfm_reply: { response_json: { flow_token: "sim-flow", ...answers } } };
  },
  sticker: () => ({ type: "sticker", animated: confirm("Animated sticker? (OK: animated, Cancel: still)"),
                    media: { content_base64: STICKER_WEBP, mime_type: "image/webp" } }),
  order: () => {
    const sku = prompt("Product (retailer id)", "SKU-1");
    if (!sku) return null;
    const quantity = Number(prompt("Quantity", "2")) || 1;
    const price = Number(prompt("Unit price (EUR)", "10")) || 0;
    return { type: "order", order: { catalog_id: "sim-catalog",
                                     product_items: [{ product_retailer_id: sku, quantity, item_price: price, currency: "EUR" }] } };
  },
  ad: () => {
    const headline = prompt("The ad's headline", "Winter sale");
    if (headline === null) return null;
    const text = prompt("What the customer writes", "Hi! Is this still available?");
    return text ? { type: "text", text, referral: {
      source_url: "https://fb.me/sim-ad", source_id: "120210000000001", source_type: "ad", headline,
      body: "Tap to chat with us on WhatsApp", media_type: "image", image_url: "https://example.com/ad.jpg",
      ctwa_clid: "sim-" + Date.now() } } : null;
  },
  system: () => {
    const number = prompt("The customer's new number (digits)", "");
    return number ? { type: "system", new_wa_id: number.replace(/[^0-9]/g, "") } : null;
  },
  user_id: () => {
    const current = page.state.customer.user_id;
    if (!current) { alert("This customer has no user id (BSUID): add one with a user id first."); return null; }
    // Same country prefix as the old id, new digits (what Meta sends when the id is reissued).
    const suggested = current.split(".").slice(0, -1).concat(
      Array.from(crypto.getRandomValues(new Uint8Array(19)), (b) => b % 10).join("")).join(".");
    const userId = prompt("The customer's new user id (BSUID)", suggested);
    return userId ? { type: "system", new_user_id: userId.trim() } : null;
  },
  unsupported: () => ({ type: "unsupported" }),
};

document.querySelectorAll("#more [data-kind]").forEach((button) =>
  button.addEventListener("click", async () => {
    const body = MORE[button.dataset.kind]();
    if (!body) return;
    const before = page.key;
    const keyedByUserId = !page.state.customer?.wa_id;  // a username-only customer's key is the user id
    await inbound(body);
    // A number or user id change moves the customer to a new key: follow them there.
    if (body.type === "system" && before === page.key) {
      if (body.new_wa_id) select(body.new_wa_id);
      else if (keyedByUserId) select(body.new_user_id);
    }
  }));

refresh(true);
setInterval(refresh, 1000);
