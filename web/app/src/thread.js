// The open conversation: its history (paged backwards on scroll up), live
// messages, pending sends, read ticks and the typing indicator.
import { $, el, say, show } from "./dom.js";
import { api, describe } from "./api.js";
import { clientId, long, when } from "./format.js";

const PAGE = 50;
// Scrolled this close to the top, the older page loads; this close to the
// bottom, a new message scrolls into view.
const NEAR = 120;

export class Thread {
  constructor(store, live, { changed, signal }) {
    this.store = store;
    this.live = live;
    this.changed = changed; // the list must be drawn again
    this.conv = null;
    this.messages = []; // held, by id ascending
    this.pending = new Map(); // client_id → {text, node}
    this.hasOlder = false;
    this.loadingOlder = false;
    this.scroller = $("#scroller");
    this.list = $("#messages");
    this.lastTyping = 0;
    this.scroller.addEventListener("scroll", () => this.scrolled(), { signal });
    $("#older").addEventListener("click", () => this.loadOlder(), { signal });
    const composer = $("#composer");
    composer.addEventListener("keydown", (e) => {
      // Enter sends, Shift+Enter is a new line; not while an IME composes.
      if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        $("#composer-form").requestSubmit();
      }
    }, { signal });
    composer.addEventListener("input", () => this.typed(), { signal });
    $("#composer-form").addEventListener("submit", (e) => {
      e.preventDefault();
      this.submit();
    }, { signal });
  }

  get id() {
    return this.conv?.id ?? null;
  }

  // open shows a conversation and loads its latest page.
  async open(conv) {
    this.conv = conv;
    this.messages = [];
    this.pending.clear();
    this.hasOlder = false;
    this.list.replaceChildren();
    say($("#thread-error"));
    show($("#thread-none"), false);
    show($("#thread-open"));
    show($("#thread-empty"), false);
    show($("#history-start"), false);
    show($("#older"), false);
    this.header();
    this.showTyping();
    const composer = $("#composer");
    composer.value = "";
    this.scroller.setAttribute("aria-busy", "true");
    try {
      const { data } = await api("GET", `/api/conversations/${conv.id}/messages?limit=${PAGE}`);
      if (this.conv !== conv) return;
      this.merge(data.data);
      this.hasOlder = data.paging.before != null;
      this.bottom();
      await this.fill();
    } catch (err) {
      if (this.conv === conv) say($("#thread-error"), `Could not load the messages. ${describe(err)}`);
    } finally {
      this.scroller.removeAttribute("aria-busy");
    }
    this.edges();
    this.markRead();
    // On a phone, a keyboard popping up over what one came to read is in
    // the way: there the composer waits for a tap.
    if (!matchMedia("(pointer: coarse)").matches) composer.focus();
  }

  close() {
    this.conv = null;
    this.list.replaceChildren();
    show($("#thread-open"), false);
    show($("#thread-none"));
  }

  header() {
    const other = this.store.other(this.conv);
    const user = this.store.users.get(other);
    const online = this.store.online.has(other);
    $("#thread-title").textContent = this.store.name(other);
    $("#thread-sub").textContent = [online ? "online" : "offline", user?.job, user?.email].filter(Boolean).join(" · ");
    $("#thread-presence").classList.toggle("online", online);
  }

  // merge adds messages (any order, possibly held already) where they
  // belong by id, and returns how many were new.
  merge(list) {
    let added = 0;
    for (const m of [...list].sort((a, b) => a.id - b.id)) {
      if (this.messages.some((h) => h.id === m.id)) continue;
      this.store.since = Math.max(this.store.since, m.id);
      const at = this.messages.findIndex((h) => h.id > m.id);
      const node = this.node(m);
      if (at < 0) {
        // After every stored message, before our sends still pending.
        this.messages.push(m);
        this.list.insertBefore(node, this.list.querySelector("li.pending"));
      } else {
        this.list.insertBefore(node, this.list.querySelector(`[data-id="${this.messages[at].id}"]`));
        this.messages.splice(at, 0, m);
      }
      // A send of ours that the server pushed back (a recovery) replaces
      // its pending bubble.
      const pending = m.client_id && this.pending.get(m.client_id);
      if (pending && m.sender_id === this.store.me.id) {
        pending.node.remove();
        this.pending.delete(m.client_id);
      }
      added++;
    }
    if (added) this.edges();
    return added;
  }

  node(m) {
    const mine = m.sender_id === this.store.me.id;
    return el("li", { class: `msg ${mine ? "mine" : "theirs"}`, "data-id": m.id },
      el("span", { class: "visually-hidden" }, mine ? "You: " : `${this.store.name(m.sender_id)}: `),
      el("p", { class: "text" }, m.content),
      el("p", { class: "meta" },
        el("time", { datetime: m.date, title: long(m.date) }, when(m.date)),
        mine ? this.tick(m.id) : null));
  }

  tick(id) {
    const read = id <= (this.conv.other_last_read_id ?? 0);
    return el("span", { class: read ? "tick read" : "tick", role: "img", "aria-label": read ? "Read" : "Sent" }, read ? "✓✓" : "✓");
  }

  // ticks redraws the read ticks after the other's read mark moved.
  ticks() {
    for (const li of this.list.querySelectorAll("li.mine[data-id]")) {
      li.querySelector(".tick")?.replaceWith(this.tick(Number(li.dataset.id)));
    }
  }

  // edges shows the empty state, the start of history or the older button.
  edges() {
    const none = this.messages.length === 0 && this.pending.size === 0;
    show($("#thread-empty"), none && !this.hasOlder);
    show($("#older"), this.hasOlder);
    show($("#history-start"), !this.hasOlder && !none);
  }

  nearBottom() {
    const s = this.scroller;
    return s.scrollHeight - s.scrollTop - s.clientHeight < NEAR;
  }

  bottom() {
    this.scroller.scrollTop = this.scroller.scrollHeight;
  }

  scrolled() {
    if (this.scroller.scrollTop < NEAR) this.loadOlder();
  }

  // fill loads older pages while the history does not fill the view, so
  // that there is something to scroll up through.
  async fill() {
    while (this.hasOlder && this.scroller.scrollHeight <= this.scroller.clientHeight) {
      if (!(await this.loadOlder())) break;
    }
  }

  async loadOlder() {
    if (!this.hasOlder || this.loadingOlder || !this.conv || this.messages.length === 0) return false;
    const conv = this.conv;
    this.loadingOlder = true;
    this.scroller.setAttribute("aria-busy", "true");
    try {
      const { data } = await api("GET", `/api/conversations/${conv.id}/messages?limit=${PAGE}&before=${this.messages[0].id}`);
      if (this.conv !== conv) return false;
      // Keep what is on screen where it is while the page goes above it.
      const fromBottom = this.scroller.scrollHeight - this.scroller.scrollTop;
      this.merge(data.data);
      this.hasOlder = data.paging.before != null;
      this.scroller.scrollTop = this.scroller.scrollHeight - fromBottom;
      this.edges();
      return true;
    } catch (err) {
      say($("#thread-error"), `Could not load older messages. ${describe(err)}`);
      return false;
    } finally {
      this.loadingOlder = false;
      this.scroller.removeAttribute("aria-busy");
    }
  }

  // receive takes a live (or recovered) message of this conversation. A
  // prev_id other than the last message held means something was missed:
  // read what follows it over REST.
  async receive(m, prevId) {
    const stick = this.nearBottom() || m.sender_id === this.store.me.id;
    const last = this.messages.at(-1)?.id ?? null;
    if (prevId != null && last != null && prevId > last) await this.catchUp();
    this.merge([m]);
    if (m.sender_id !== this.store.me.id) this.stopTyping();
    if (stick) this.bottom();
    this.markRead();
  }

  // catchUp reads every message after the last one held.
  async catchUp() {
    const conv = this.conv;
    for (let guard = 0; guard < 20 && this.conv === conv; guard++) {
      const after = this.messages.at(-1)?.id ?? 0;
      const { data } = await api("GET", `/api/conversations/${conv.id}/messages?limit=200&after=${after}`);
      if (this.conv !== conv) return;
      this.merge(data.data);
      if (data.paging.after == null) break;
    }
    this.markRead();
  }

  // markRead moves our read mark to the newest message, while the page is
  // in view: a hidden tab has not read anything.
  markRead() {
    const conv = this.conv;
    const newest = this.messages.at(-1);
    if (!conv || !newest || document.visibilityState !== "visible" || $("#thread-open").hidden) return;
    if (newest.id <= (conv.last_read_id ?? 0)) return;
    conv.last_read_id = newest.id;
    conv.unread_count = 0;
    this.changed();
    this.live.read(conv.id, newest.id).catch(() => {
      // Not recorded (offline too long): let a later look try again.
      conv.last_read_id = null;
    });
  }

  submit() {
    const composer = $("#composer");
    const text = composer.value;
    if (!text.trim() || !this.conv) return;
    composer.value = "";
    this.send(text, clientId());
  }

  // send shows the message at once as pending, then as stored, or as not
  // sent with a button that retries it with the same client_id.
  async send(text, id) {
    const conv = this.conv;
    const me = this.store.me.id;
    const status = el("span", { class: "tick pending" }, "sending…");
    const node = el("li", { class: "msg mine pending", "data-client": id },
      el("span", { class: "visually-hidden" }, "You: "),
      el("p", { class: "text" }, text),
      el("p", { class: "meta" }, status));
    this.pending.get(id)?.node.remove();
    this.pending.set(id, { text, node });
    this.list.append(node);
    this.edges();
    this.bottom();
    try {
      const message = await this.live.send(this.store.other(conv), conv.id, text, id);
      // The list learns of it even when another conversation is open by
      // now: the sending socket gets no receive_msg of its own message.
      this.store.noteMessage(message);
      this.changed();
      if (this.conv !== conv) return;
      node.remove();
      this.pending.delete(id);
      this.merge([message]);
      this.bottom();
    } catch (err) {
      if (this.conv !== conv) return;
      status.replaceWith(el("span", { class: "failed" }, `Not sent (${err.reason ?? err.message}). `,
        el("button", { type: "button", class: "link", onclick: () => this.send(text, id) }, "Retry")));
    }
  }

  // typed tells the other participant, at most every 2 s (the server
  // relays no more often anyway).
  typed() {
    if (!this.conv || !$("#composer").value.trim()) return;
    const now = Date.now();
    if (now - this.lastTyping < 2000) return;
    this.lastTyping = now;
    this.live.typing(this.conv.id);
  }

  showTyping() {
    const typing = this.conv && this.store.typing.has(this.conv.id);
    $("#typing").textContent = typing ? `${this.store.name(this.store.other(this.conv))} is typing…` : "";
  }

  stopTyping() {
    clearTimeout(this.store.typing.get(this.conv.id));
    this.store.typing.delete(this.conv.id);
    this.showTyping();
  }
}
