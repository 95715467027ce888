// WASB UI: live updates (server-sent events), keyboard, composer, template preview.
// Plain JavaScript, no framework: pages are rendered on the server and work without it.
"use strict";
(function () {
  const $ = (sel, root = document) => root.querySelector(sel);
  const $$ = (sel, root = document) => Array.from(root.querySelectorAll(sel));
  const csrf = () => ($('meta[name="csrf-token"]') || {}).content || "";
  const lang = document.body.dataset.lang || "en";
  const T = {
    en: { closed: "closed", left: "left", sendFailed: "Could not send", saveFailed: "Not saved", offline: "Live updates paused, reconnecting…" },
    it: { closed: "chiusa", left: "rimaste", sendFailed: "Invio non riuscito", saveFailed: "Non salvato", offline: "Aggiornamenti in pausa, riconnessione…" },
  }[lang] || {};

  // --- toasts -----------------------------------------------------------------------------
  function toast(text, kind = "ok") {
    const area = $("#toasts");
    if (!area || !text) return;
    const el = document.createElement("div");
    el.className = `toast toast-${kind}`;
    el.setAttribute("role", kind === "error" ? "alert" : "status");
    el.textContent = text;
    area.appendChild(el);
    setTimeout(() => el.remove(), kind === "error" ? 7000 : 3500);
  }
  $$(".toast[data-autohide]").forEach((el) => setTimeout(() => el.remove(), el.classList.contains("toast-error") ? 8000 : 4000));

  // --- posting forms with fetch ------------------------------------------------------------
  async function post(form) {
    const response = await fetch(form.action, {
      method: "POST", body: new FormData(form), credentials: "same-origin",
      headers: { "X-Requested-With": "fetch", "X-CSRF-Token": csrf() },
    });
    let data = {};
    try { data = await response.json(); } catch (e) { data = { ok: false, message: response.statusText }; }
    if (!response.ok) data.ok = false;
    return data;
  }

  // --- live fragments ------------------------------------------------------------------------
  async function refresh(container, onSwap) {
    if (!container || !container.dataset.src) return;
    const response = await fetch(container.dataset.src, { credentials: "same-origin", headers: { "X-Requested-With": "fetch" } });
    if (!response.ok) return;
    const html = await response.text();
    const tpl = document.createElement("template");
    tpl.innerHTML = html;
    if (onSwap) onSwap(tpl.content); else container.replaceChildren(tpl.content);
    decorate(container);
  }

  function refreshInbox() {
    const list = $("#inbox-list");
    if (!list) return;
    const selectedId = ($(".conv.selected", list) || {}).dataset?.id;
    const focusedId = document.activeElement?.closest?.(".conv")?.dataset.id;
    refresh(list).then(() => {
      const counts = $("[data-counts]", list);
      if (counts) {
        try {
          Object.entries(JSON.parse(counts.dataset.counts)).forEach(([key, n]) => {
            const badge = $(`.tab-count[data-count="${key}"]`);
            if (badge) badge.textContent = n;
          });
        } catch (err) { /* the badges keep their last numbers */ }
      }
      if (selectedId) $(`.conv[data-id="${selectedId}"]`, list)?.classList.add("selected");
      if (focusedId) $(`.conv[data-id="${focusedId}"]`, list)?.focus({ preventScroll: true });
    });
  }

  function refreshConversation() {
    const box = $("#conversation");
    if (!box) return;
    const thread = $("#thread", box);
    const nearBottom = !thread || thread.scrollHeight - thread.scrollTop - thread.clientHeight < 120;
    const known = new Set($$(".msg", box).map((m) => m.dataset.msgId));
    const infoOpen = $("details.info", box)?.open;
    refresh(box, (fragment) => {
      const info = $("details.info", fragment);
      if (info && infoOpen !== undefined) info.open = infoOpen;
      box.replaceChildren(fragment);
    }).then(() => {
      showPanel(!$("#contact-panel")?.hidden);  // the redrawn button says whether the panel is open
      $$(".msg", box).forEach((m) => { if (!known.has(m.dataset.msgId)) m.classList.add("fresh"); });
      const t = $("#thread", box);
      if (t && nearBottom) t.scrollTop = t.scrollHeight;
      // The window or the conversation opened or closed while the page was open: swap the
      // composer if nothing is typed.
      const head = $(".conv-head", box);
      const body = $("#message-body");
      const swapped = head && (head.dataset.windowOpen !== box.dataset.windowOpen || head.dataset.status !== box.dataset.status);
      if (swapped && !(body && body.value.trim())) location.reload();
    });
  }

  // The ticket's status picker follows the status the facts show, unless the agent is choosing one.
  function syncTicketStatus() {
    const status = $("[data-ticket-status]")?.dataset.ticketStatus;
    const picker = $("#ticket-status");
    if (!status || !picker || document.activeElement === picker) return;
    const shown = Array.from(picker.options).find((o) => o.defaultSelected);
    if (shown && picker.value !== shown.value) return;  // picked, not set yet
    let option = Array.from(picker.options).find((o) => o.value === status);
    if (!option) { option = new Option(status, status); picker.add(option); }
    Array.from(picker.options).forEach((o) => { o.defaultSelected = o === option; });
    picker.value = status;
  }

  // --- what waits for me: the sidebar's badge, the tab title, notifications, a sound ----------
  // Asked again only when the live stream (re)opens or says conversations changed: no timer.
  const badge = $("#unread-badge");
  const prefs = $("#notify-prefs");
  const baseTitle = document.title.replace(/^\(\d+\) /, "");
  // Kept in this browser, per user: the notification permission they go with is the browser's,
  // and whether a tone suits depends on the device (a headset at the desk, a laptop in a meeting).
  const prefKey = (name) => `wasb.${name}.${prefs?.dataset.user || ""}`;
  function pref(name) {
    try { return localStorage.getItem(prefKey(name)) === "on"; } catch (err) { return false; }
  }
  function setPref(name, on) {
    try { if (on) localStorage.setItem(prefKey(name), "on"); else localStorage.removeItem(prefKey(name)); } catch (err) { /* storage off: this page only */ }
  }
  let mark = null;          // the newest customer message when the page started listening
  const told = new Map();   // conversation id -> its latest customer message already told of
  let unreadReady = null;

  function showCount(n) {
    document.title = n ? `(${n}) ${baseTitle}` : baseTitle;
    if (!badge) return;
    badge.textContent = String(n);
    badge.hidden = !n;
    badge.title = (badge.dataset.label || "").replace("{n}", n);
  }

  // The agent sees it already: this tab is shown with that conversation open, or the inbox list with none open.
  function seesIt(conversationId) {
    if (document.hidden) return false;
    const open = $("#conversation")?.dataset.id;
    if (open) return open === String(conversationId);
    return document.body.dataset.page === "inbox";
  }

  async function askUnread(ids = []) {
    const query = ids.slice(0, 100).map((id) => `ids=${encodeURIComponent(id)}`).join("&");
    let data;
    try {
      const response = await fetch(`/ui/unread${query ? "?" + query : ""}`,
                                   { credentials: "same-origin", headers: { "X-Requested-With": "fetch" } });
      if (!response.ok) return;
      data = await response.json();
    } catch (err) { return; }
    showCount(data.count || 0);
    if (mark === null) mark = data.mark || 0;
    (data.messages || []).forEach((m) => {
      if (m.message <= (told.get(m.conversation) ?? mark)) return;
      told.set(m.conversation, m.message);
      if (!seesIt(m.conversation)) tell(m);
    });
    document.body.dataset.unread = "ready";
  }

  function tell(m) {
    if (pref("sound")) tone();
    if (!pref("notify") || !("Notification" in window) || Notification.permission !== "granted") return;
    try {
      const n = new Notification(m.name, { body: m.text, tag: `wasb-conversation-${m.conversation}`, lang });
      n.onclick = () => { window.focus(); n.close(); location.href = m.url; };
    } catch (err) { /* a browser that notifies only through a service worker: the badge still counts */ }
  }

  // A short two-note chime made here (Web Audio), no sound file. Browsers let it play once the
  // agent has interacted with the page: the toggle itself, or any click or key afterwards.
  let audio = null;
  function tone() {
    const Context = window.AudioContext || window.webkitAudioContext;
    if (!Context) return;
    audio = audio || new Context();
    if (audio.state === "suspended") audio.resume().catch(() => {});
    const at = audio.currentTime;
    const osc = audio.createOscillator(), gain = audio.createGain();
    osc.type = "sine";
    osc.frequency.setValueAtTime(880, at);
    osc.frequency.setValueAtTime(1320, at + 0.09);
    gain.gain.setValueAtTime(0.0001, at);
    gain.gain.exponentialRampToValueAtTime(0.15, at + 0.01);
    gain.gain.exponentialRampToValueAtTime(0.0001, at + 0.25);
    osc.connect(gain).connect(audio.destination);
    osc.start(at);
    osc.stop(at + 0.26);
  }
  const wakeAudio = () => { if (pref("sound") && audio?.state === "suspended") audio.resume().catch(() => {}); };
  document.addEventListener("pointerdown", wakeAudio);
  document.addEventListener("keydown", wakeAudio);

  function wirePrefs() {
    if (!prefs) return;
    const desktop = $("#notify-desktop"), sound = $("#notify-sound");
    const supported = "Notification" in window;
    desktop.checked = supported && pref("notify") && Notification.permission === "granted";
    sound.checked = pref("sound");
    desktop.addEventListener("change", async () => {
      if (!desktop.checked) { setPref("notify", false); return; }
      if (!supported) { desktop.checked = false; toast(prefs.dataset.unsupported, "error"); return; }
      let permission = Notification.permission;
      // Asked here, on the agent's click: browsers refuse (or hide) a request made unprompted.
      if (permission === "default") {
        try { permission = await Notification.requestPermission(); } catch (err) { permission = "denied"; }
      }
      if (permission !== "granted") { desktop.checked = false; setPref("notify", false); toast(prefs.dataset.blocked, "error"); return; }
      setPref("notify", true);
    });
    sound.addEventListener("change", () => {
      setPref("sound", sound.checked);
      if (sound.checked) tone();  // a sample, and the click lets later tones play
    });
  }

  let pending = null;
  const changed = new Set();
  function onChanges(ids) {
    ids.forEach((id) => changed.add(String(id)));
    clearTimeout(pending);
    pending = setTimeout(() => {
      const asked = Array.from(changed);
      (unreadReady || Promise.resolve()).then(() => askUnread(asked));
      const conv = $("#conversation");
      if (conv && changed.has(conv.dataset.id)) refreshConversation();
      // Fragments that show messages of some conversations (a ticket's comments and their ticks).
      $$("[data-conversations]").forEach((el) => {
        if (el.dataset.conversations.split(" ").some((id) => changed.has(id))) refresh(el).then(syncTicketStatus);
      });
      refreshInbox();
      changed.clear();
    }, 120);
  }

  // A ticket changed on its own (status or assignee set on its page): its fragments again.
  function onTicketChanges(ids) {
    const changedTickets = new Set(ids.map(String));
    $$("[data-ticket]").forEach((el) => {
      if (changedTickets.has(el.dataset.ticket)) refresh(el).then(syncTicketStatus);
    });
  }

  function connect() {
    if (!document.body.dataset.page || !$(".rail") || !window.EventSource) return;
    const dot = $("#live-dot");
    const source = new EventSource("/ui/events");
    source.addEventListener("hello", () => {
      dot?.classList.add("on"); document.body.dataset.live = "on";
      unreadReady = askUnread();  // (again after a reconnection: changes may have been missed)
    });
    source.addEventListener("conversations", (e) => {
      try { onChanges(JSON.parse(e.data).ids || []); } catch (err) { /* a malformed event changes nothing */ }
    });
    source.addEventListener("tickets", (e) => {
      try { onTicketChanges(JSON.parse(e.data).ids || []); } catch (err) { /* a malformed event changes nothing */ }
    });
    source.addEventListener("typing", (e) => {
      try { otherAgentTyping(JSON.parse(e.data)); } catch (err) { /* a malformed event changes nothing */ }
    });
    source.onerror = () => { dot?.classList.remove("on"); document.body.dataset.live = "off"; if (dot) dot.title = T.offline; };
  }

  // --- countdowns of the 24-hour window ------------------------------------------------------
  function tickWindows(root = document) {
    const now = Date.now();
    $$(".window[data-closes]", root).forEach((el) => {
      // Counted on the service's clock (the demo's follows the simulated phone), not this browser's.
      if (el.dataset.now && el.dataset.skew === undefined) el.dataset.skew = String(Date.parse(el.dataset.now) - now);
      const left = Date.parse(el.dataset.closes) - now - Number(el.dataset.skew || 0);
      const label = $(".window-left", el);
      if (!label) return;
      if (left <= 0) { el.classList.add("window-closed"); el.classList.remove("window-urgent"); label.textContent = T.closed; return; }
      const h = Math.floor(left / 3600000), m = Math.floor((left % 3600000) / 60000);
      label.textContent = h ? `${h}h ${String(m).padStart(2, "0")}m` : `${Math.max(m, 1)}m`;
      el.classList.toggle("window-urgent", left < 3600000);
      el.setAttribute("aria-label", `${label.textContent} ${T.left}`);
    });
  }

  // --- per-fragment behaviour (run again after every live swap) --------------------------------
  function decorate(root = document) {
    tickWindows(root);
    $$("form[data-autosubmit]", root).forEach((form) => {
      if (form.dataset.wired) return;
      form.dataset.wired = "1";
      form.addEventListener("change", async () => {
        let data;
        try { data = await post(form); } catch (err) { data = { ok: false, message: T.saveFailed }; }
        toast(data.message, data.ok ? "ok" : "error");
        // What the server kept becomes the form's default; a refused change goes back to it,
        // so the page never shows a state that was not saved.
        if (data.ok) {
          $$("input[type=checkbox]", form).forEach((i) => { i.defaultChecked = i.checked; });
          $$("option", form).forEach((o) => { o.defaultSelected = o.selected; });
          // A fragment showing what changed (data-refresh: its selector) is read again.
          if (form.dataset.refresh) refresh($(form.dataset.refresh));
        } else {
          form.reset();
        }
      });
    });
  }

  // --- the composer -----------------------------------------------------------------------------
  // Typing: the customer sees "typing…" (Meta shows it up to 25 s or until the reply goes out);
  // asked at most every 20 s per conversation, whatever redraws the composer meanwhile.
  const TYPING_EVERY_MS = 20000;
  const typingSent = new Map();
  function agentTyping(form) {
    const url = form.action.replace(/\/messages$/, "/typing");
    const now = Date.now();
    if (now - (typingSent.get(url) || 0) < TYPING_EVERY_MS) return;
    typingSent.set(url, now);
    fetch(url, { method: "POST", credentials: "same-origin",
                 headers: { "X-Requested-With": "fetch", "X-CSRF-Token": csrf() } }).catch(() => {});
  }

  // Another agent writes in the conversation open here: say so until they have been quiet
  // longer than their page's typing pings (every 20 s while they write).
  const TYPING_QUIET_MS = 25000;
  const typingSeen = new Map();  // agent -> when their page last said they were writing
  let typingTimer = null;
  function otherAgentTyping(event) {
    const warning = $("#agent-typing");
    if (!warning || String(event.conversation) !== $("#conversation")?.dataset.id || !event.user) return;
    typingSeen.set(event.user, Date.now());
    showAgentsTyping(warning);
  }
  function showAgentsTyping(warning) {
    const now = Date.now();
    typingSeen.forEach((at, name) => { if (now - at > TYPING_QUIET_MS) typingSeen.delete(name); });
    const names = [...typingSeen.keys()];
    warning.hidden = !names.length;
    warning.textContent = names.length ? warning.dataset.text.replace("{name}", names.join(", ")) : "";
    clearTimeout(typingTimer);
    if (names.length) typingTimer = setTimeout(() => showAgentsTyping(warning), 1000);
  }

  // The contact panel beside a conversation: opened or closed with its button, the choice
  // kept in this browser (open by default on a wide screen). The button is redrawn by the
  // live refresh, so clicks are caught on the document and its state set again after each.
  const PANEL_KEY = "wasb.contactPanel";
  function panelOpen() {
    let kept = null;
    try { kept = localStorage.getItem(PANEL_KEY); } catch (err) { /* storage off */ }
    return kept === null ? window.matchMedia("(min-width: 1440px)").matches : kept === "open";
  }
  function showPanel(open) {
    const panel = $("#contact-panel");
    if (!panel) return;
    panel.hidden = !open;
    document.body.classList.toggle("with-contact-panel", open);
    $$("[data-toggle-panel][aria-expanded]").forEach((b) => b.setAttribute("aria-expanded", String(open)));
  }
  document.addEventListener("click", (e) => {
    if (!e.target.closest?.("[data-toggle-panel]")) return;
    const open = $("#contact-panel")?.hidden;
    try { localStorage.setItem(PANEL_KEY, open ? "open" : "closed"); } catch (err) { /* this page only */ }
    showPanel(open);
  });

  function wireComposer() {
    const form = $("#composer");
    if (!form) return;
    const body = $("#message-body", form);
    const file = $("#attachment", form);
    const name = $("#attachment-name", form);
    const grow = () => { body.style.height = "auto"; body.style.height = Math.min(body.scrollHeight, 180) + "px"; };
    body.addEventListener("input", grow);
    body.addEventListener("input", () => { if (body.value.trim()) agentTyping(form); });
    wireCanned(body, grow);  // before Enter sends: an open picker takes Enter to pick
    body.addEventListener("keydown", (e) => {
      if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); form.requestSubmit(); }
    });
    file?.addEventListener("change", () => {
      const f = file.files[0];
      name.hidden = !f;
      name.textContent = f ? `📎 ${f.name}` : "";
    });
    // "Reply" on a message: its quote above the composer, its id sent as reply_to.
    const replyTo = $("#reply-to", form);
    const preview = $("#reply-preview");
    const cancelReply = () => {
      if (replyTo) replyTo.value = "";
      if (preview) preview.hidden = true;
    };
    document.addEventListener("click", (e) => {
      const button = e.target.closest(".msg-reply");
      if (!button || !replyTo || !preview) return;
      if (noteToggle?.checked) { noteToggle.checked = false; setNoteMode(); }
      replyTo.value = button.dataset.replyTo;
      $("#reply-preview-who", preview).textContent = button.dataset.replyWho || "";
      $("#reply-preview-text", preview).textContent = button.dataset.replyText || "";
      preview.hidden = false;
      body.focus();
    });
    $("#reply-cancel")?.addEventListener("click", () => { cancelReply(); body.focus(); });
    // "Private note": the same field writes a note (its own route), never a message.
    const noteToggle = $("#note-toggle", form);
    const sendAction = form.action, sendPlaceholder = body.placeholder;
    function setNoteMode() {
      const on = !!noteToggle?.checked;
      form.action = on ? form.dataset.noteAction : sendAction;
      form.classList.toggle("composer-note-mode", on);
      body.placeholder = on ? form.dataset.notePlaceholder : sendPlaceholder;
      if (file) file.disabled = on;
      if (on) cancelReply();
    }
    noteToggle?.addEventListener("change", () => { setNoteMode(); body.focus(); });
    setNoteMode();
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      if (!body.value.trim() && !(file && file.files.length)) return;
      const button = $("button[type=submit]", form);
      button.disabled = true;
      try {
        const data = await post(form);
        if (data.ok) {
          body.value = ""; grow();
          if (file) { file.value = ""; name.hidden = true; }
          cancelReply();
          refreshConversation();
        } else {
          toast(data.message || T.sendFailed, "error");
        }
      } catch (err) {
        toast(T.sendFailed, "error");
      } finally {
        button.disabled = false;
        body.focus();
      }
    });
  }

  // --- canned replies: "/" and a shortcut in the composer ---------------------------------------
  // The list is fetched once; the picked reply's text is asked of the server for this
  // conversation, which fills its placeholders from the CRM record (unknown ones stay visible).
  function wireCanned(body, grow) {
    const list = $("#canned-picker");
    if (!list) return;
    let replies = null, shown = [], active = 0, slash = null;
    const load = () => replies ? Promise.resolve(replies) :
      fetch(list.dataset.src, { credentials: "same-origin", headers: { "X-Requested-With": "fetch" } })
        .then((r) => (r.ok ? r.json() : [])).then((rows) => (replies = rows)).catch(() => []);
    // The "/word" being typed: at the start or after a space, up to the caret.
    function typedShortcut() {
      const before = body.value.slice(0, body.selectionStart);
      const m = /(^|\s)\/([A-Za-z0-9_-]*)$/.exec(before);
      return m ? { start: before.length - m[2].length - 1, end: body.selectionStart, word: m[2].toLowerCase() } : null;
    }
    function close() {
      list.hidden = true; slash = null; shown = [];
      body.setAttribute("aria-expanded", "false");
      body.removeAttribute("aria-activedescendant");
    }
    function mark() {
      $$(".canned-option", list).forEach((el, i) => el.setAttribute("aria-selected", i === active ? "true" : "false"));
      const current = $$(".canned-option", list)[active];
      if (current) { body.setAttribute("aria-activedescendant", current.id); current.scrollIntoView({ block: "nearest" }); }
    }
    function draw() {
      const word = slash.word;
      shown = replies.filter((r) => r.shortcut.startsWith(word))
        .concat(replies.filter((r) => !r.shortcut.startsWith(word) && word && r.title.toLowerCase().includes(word)));
      active = Math.min(active, Math.max(shown.length - 1, 0));
      list.replaceChildren(...(shown.length ? shown.map((r, i) => {
        const li = document.createElement("li");
        li.className = "canned-option"; li.id = `canned-${r.id}`; li.setAttribute("role", "option");
        li.dataset.id = r.id;
        const code = document.createElement("code"); code.textContent = `/${r.shortcut}`;
        const title = document.createElement("span"); title.className = "canned-title"; title.textContent = r.title;
        const chip = document.createElement("span"); chip.className = "chip";
        chip.textContent = r.shared ? list.dataset.shared : list.dataset.personal;
        const preview = document.createElement("span"); preview.className = "canned-preview"; preview.textContent = r.body;
        li.append(code, title, chip, preview);
        // mousedown, not click: the field keeps its focus and caret.
        li.addEventListener("mousedown", (e) => { e.preventDefault(); active = i; pick(); });
        return li;
      }) : [Object.assign(document.createElement("li"), { className: "canned-none", textContent: list.dataset.empty })]));
      list.hidden = false;
      body.setAttribute("aria-expanded", "true");
      mark();
    }
    async function update() {
      const found = typedShortcut();
      if (!found) { close(); return; }
      const first = !slash;
      slash = found;
      if (first) active = 0;
      await load();
      if (slash) draw();
    }
    async function pick() {
      const reply = shown[active], at = slash;
      if (!reply || !at) return;
      close();
      let text = reply.body;
      try {
        const url = `${list.dataset.src}/${reply.id}/rendered?conversation_id=${list.dataset.conversation}`;
        const r = await fetch(url, { credentials: "same-origin", headers: { "X-Requested-With": "fetch" } });
        if (r.ok) text = (await r.json()).text;
      } catch (err) { /* the text as written: its placeholders stay for the agent */ }
      body.value = body.value.slice(0, at.start) + text + body.value.slice(at.end);
      const caret = at.start + text.length;
      body.focus();
      body.setSelectionRange(caret, caret);
      grow();
      body.dispatchEvent(new Event("input"));
    }
    body.addEventListener("input", update);
    body.addEventListener("click", update);
    body.addEventListener("blur", () => setTimeout(close, 150));
    body.addEventListener("keydown", (e) => {
      if (list.hidden || !slash) return;
      const n = shown.length;
      if (e.key === "ArrowDown" && n) { active = (active + 1) % n; mark(); }
      else if (e.key === "ArrowUp" && n) { active = (active - 1 + n) % n; mark(); }
      else if ((e.key === "Enter" || e.key === "Tab") && !e.shiftKey && n) { pick(); }
      else if (e.key === "Escape") { close(); }
      else return;
      e.preventDefault();
      e.stopImmediatePropagation();  // Enter must not send, Esc must not leave the field
    });
  }

  // --- the template picker with a live preview ---------------------------------------------------
  function wireTemplates() {
    const picker = $("#template-id");
    if (!picker) return;
    const escape = (s) => s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
    const fill = (text, values) => escape(text).replace(/\{\{\s*([A-Za-z0-9_]+)\s*\}\}/g, (all, key) =>
      values[key] ? `<mark>${escape(values[key])}</mark>` : `<mark>{{${escape(key)}}}</mark>`);
    function preview(set) {
      const values = { header: {}, body: {} };
      $$("input[data-param]", set).forEach((i) => { (values[i.dataset.component] || {})[i.dataset.param] = i.value; });
      const box = $(".tpl-preview", set);
      $(".tpl-preview-header", box).innerHTML = fill(box.dataset.header || "", values.header);
      $(".tpl-preview-body", box).innerHTML = fill(box.dataset.body || "", values.body);
      $(".tpl-preview-footer", box).textContent = box.dataset.footer || "";
    }
    function show() {
      $$(".tpl-params").forEach((set) => {
        const on = set.dataset.template === picker.value;
        set.hidden = !on; set.disabled = !on;
        if (on) preview(set);
      });
    }
    function mark(input, text) {
      const error = document.getElementById(`${input.id}-error`);
      input.setAttribute("aria-invalid", text ? "true" : "false");
      if (error) { error.textContent = text || ""; error.hidden = !text; }
    }
    picker.addEventListener("change", show);
    $$(".tpl-params").forEach((set) => set.addEventListener("input", (e) => {
      if (e.target.matches("input[data-param]")) mark(e.target, "");
      preview(set);
    }));
    // Sent with fetch, so a refusal leaves every typed value in place and names its fields.
    const form = picker.closest("form");
    form?.addEventListener("submit", async (e) => {
      e.preventDefault();
      const button = $("button[type=submit]", form);
      if (button) button.disabled = true;
      try {
        const data = await post(form);
        const set = $(`.tpl-params[data-template="${picker.value}"]`, form);
        $$("input[data-param]", set || form).forEach((i) => mark(i, (data.fields || {})[i.name.slice(6)]));
        if (!data.ok) {
          toast(data.message, "error");
          $("[aria-invalid=true]", set || form)?.focus();
          return;
        }
        toast(data.message);
        setTimeout(() => location.reload(), 600);
      } catch (err) {
        toast(T.sendFailed, "error");
      } finally {
        if (button) button.disabled = false;
      }
    });
    show();
  }

  // --- keyboard ------------------------------------------------------------------------------------
  function typing(el) {
    return el && (el.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(el.tagName));
  }
  function move(step) {
    const items = $$("#inbox-list .conv");
    if (!items.length) return;
    let index = items.findIndex((el) => el.classList.contains("selected"));
    if (index < 0) index = items.findIndex((el) => el.classList.contains("current"));
    index = index < 0 ? (step > 0 ? 0 : items.length - 1) : Math.min(items.length - 1, Math.max(0, index + step));
    items.forEach((el) => el.classList.remove("selected"));
    items[index].classList.add("selected");
    items[index].focus();
    items[index].scrollIntoView({ block: "nearest" });
  }
  let prefix = null;
  document.addEventListener("keydown", (e) => {
    if (e.key === "Escape" && typing(document.activeElement)) { document.activeElement.blur(); return; }
    if (typing(document.activeElement) || e.metaKey || e.ctrlKey || e.altKey) return;
    if (prefix === "g") {
      prefix = null;
      const go = { i: "/ui/inbox", t: "/ui/tickets", p: "/ui/people" }[e.key];
      if (go) { e.preventDefault(); location.href = go; }
      return;
    }
    if (e.key === "g") { prefix = "g"; setTimeout(() => { prefix = null; }, 1200); return; }
    if (e.key === "j" || e.key === "ArrowDown" && document.activeElement?.classList.contains("conv")) { e.preventDefault(); move(1); }
    else if (e.key === "k" || e.key === "ArrowUp" && document.activeElement?.classList.contains("conv")) { e.preventDefault(); move(-1); }
    else if (e.key === "/") { const s = $('[data-shortcut="/"]'); if (s) { e.preventDefault(); s.focus(); s.select?.(); } }
    else if (e.key === "r") { const c = $('[data-shortcut="r"]') || $("#template-id"); if (c) { e.preventDefault(); c.focus(); } }
    else if (e.key === "?") { const d = $("#shortcuts"); if (d?.showModal) { e.preventDefault(); d.showModal(); } }
  });

  // --- small things --------------------------------------------------------------------------------
  document.addEventListener("click", (e) => {
    const copy = e.target.closest("[data-copy]");
    if (copy) {
      const text = $(copy.dataset.copy)?.textContent || "";
      navigator.clipboard?.writeText(text).then(() => toast("✓"));
    }
    if (e.target.closest('[data-action="shortcuts"]')) $("#shortcuts")?.showModal?.();
  });
  document.addEventListener("submit", (e) => {
    const message = e.target.dataset.confirm;
    if (message && !confirm(message)) e.preventDefault();
  });
  $$("[data-autosubmit-field]").forEach((el) => el.addEventListener("change", () => el.form.requestSubmit()));

  // --- a campaign's live progress: its counts follow the API while it sends --------------------
  function followCampaign() {
    const page = $("#campaign-page");
    if (!page || !["running", "paused"].includes(page.dataset.status)) return;
    const refresh = async () => {
      const response = await fetch(`/api/v1/campaigns/${page.dataset.campaign}`, { credentials: "same-origin" });
      if (!response.ok) return;
      const campaign = await response.json();
      for (const [key, value] of Object.entries(campaign.progress)) {
        const count = $(`[data-count="${key}"]`, page);
        if (count) count.textContent = value;
        const meter = $(`[data-meter="${key}"]`, page);
        if (meter) meter.value = value;
      }
      if (campaign.status !== page.dataset.status) location.reload();  // new buttons for the new state
    };
    setInterval(refresh, 2000);
  }

  const thread = $("#thread");
  if (thread) thread.scrollTop = thread.scrollHeight;
  $(".conv.current")?.scrollIntoView({ block: "nearest" });
  decorate();
  showPanel(panelOpen());
  wireComposer();
  wireTemplates();
  wirePrefs();
  followCampaign();
  setInterval(() => tickWindows(), 30000);
  connect();
})();
