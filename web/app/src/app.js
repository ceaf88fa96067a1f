// The signed-in page: loads the caller, the people and the conversations,
// keeps them current from the socket, and routes #/c/<id> to a
// conversation (so a reload reopens it).
import { $, say, show } from "./dom.js";
import { api, describe } from "./api.js";
import { initAccount } from "./account.js";
import { renderList } from "./list.js";
import { connectLive } from "./live.js";
import { Picker } from "./picker.js";
import { Store } from "./store.js";
import { Thread } from "./thread.js";

const TYPING_SHOWN_MS = 3500;
// One pane at a time below this width (app.css has the same).
const narrow = matchMedia("(max-width: 719px)");

// startChat loads the chat for the token in the session. on:
// {ended(word), loggedOut(), status(state), toast(text)}. It returns
// {route(), stop()}: route() shows what the address names.
export async function startChat(on) {
  const ac = new AbortController();
  const signal = ac.signal;
  let stopped = false;

  const { data: meData } = await api("GET", "/api/users/me");
  const store = new Store(meData.data);
  $("#me").textContent = `${store.name(store.me.id)} · ${store.me.email}`;
  // For password managers: whose password the change form changes.
  $("#password-username").value = store.me.email;

  let selected = null;
  let thread = null; // the open conversation's view, once the socket exists
  const render = () => {
    if (!stopped) renderList(store, selected);
  };

  // Users come by id; a refresh asks only for those registered since.
  let lastUserId = 0;
  async function loadUsers() {
    for (let guard = 0; guard < 50; guard++) {
      const { data } = await api("GET", `/api/users?limit=200&after=${lastUserId}`);
      for (const u of data.data) {
        store.users.set(u.id, u);
        lastUserId = Math.max(lastUserId, u.id);
      }
      if (data.data.length < 200) break;
    }
  }

  async function ensureUser(id) {
    if (store.users.has(id)) return;
    try {
      const { data } = await api("GET", `/api/users/${id}`);
      store.users.set(id, data.data);
      render();
      if (thread?.id && store.other(thread.conv) === id) thread.header();
    } catch {
      // Shown as "User <id>" meanwhile.
    }
  }

  async function loadConversations(more = false) {
    const q = more && store.convCursor ? `&cursor=${encodeURIComponent(store.convCursor)}` : "";
    try {
      const { data } = await api("GET", `/api/conversations?limit=50${q}`);
      for (const c of data.data) {
        store.putConv(c);
        ensureUser(store.other(c));
      }
      store.convCursor = data.paging.cursor;
      show($("#conversations-more"), store.convCursor != null);
      say($("#conversations-error"));
    } catch (err) {
      say($("#conversations-error"), `Could not load the conversations. ${describe(err)}`);
    }
    render();
  }

  // refreshConv fetches one conversation again: new to us, or its unread
  // count unknown after a recovery that was cut short. One request at a
  // time per conversation; an answer older than what pushes brought since
  // is dropped.
  const refreshing = new Map();
  function refreshConv(id) {
    if (!refreshing.has(id)) {
      refreshing.set(id, fetchConv(id).finally(() => refreshing.delete(id)));
    }
    return refreshing.get(id);
  }
  async function fetchConv(id) {
    try {
      const { data } = await api("GET", `/api/conversations/${id}`);
      const known = store.convs.get(id);
      const fresh = data.data;
      if (!known) store.putConv(fresh);
      else if ((fresh.last_message?.id ?? 0) >= (known.last_message?.id ?? 0)) Object.assign(known, fresh);
      await ensureUser(store.other(fresh));
      render();
      return store.convs.get(id);
    } catch {
      return null;
    }
  }

  // The conversations first: the join's cursors say what we hold, so the
  // server pushes only what came after.
  await Promise.all([loadUsers().catch(() => {}), loadConversations()]);

  const live = connectLive(() => store.joinParams(), {
    status: (state) => !stopped && on.status(state),
    ended: (reason) => on.ended(reason),
    failing: () => api("GET", "/api/users/me").catch(() => {}),
    presence(online) {
      store.online = online;
      render();
      if (thread.id) thread.header();
    },
    async joined(reply) {
      for (const [convId, marks] of Object.entries(reply.read_marks ?? {})) {
        for (const [userId, messageId] of Object.entries(marks)) {
          if (store.noteRead(Number(convId), Number(userId), messageId)) refreshConv(Number(convId));
        }
      }
      for (const id of reply.truncated ?? []) {
        await refreshConv(id);
        if (thread.id === id) thread.catchUp().catch(() => {});
      }
      if (thread.id) thread.ticks();
      render();
    },
    async receive({ message, prev_id: prevId }) {
      const convId = message.conversation_id;
      if (!store.convs.has(convId)) {
        // Opened while we were away: the server's copy counts it already.
        await refreshConv(convId);
        return;
      }
      const conv = store.convs.get(convId);
      const held = conv.last_message?.id ?? 0;
      const isNew = store.noteMessage(message);
      if (thread.id === convId) await thread.receive(message, prevId);
      else if (isNew && prevId != null && prevId > held) refreshConv(convId); // missed some: recount
      if (message.sender_id !== store.me.id) clearTyping(convId);
      render();
    },
    typing({ conversation_id: convId, user_id: userId }) {
      if (userId === store.me.id || !store.convs.has(convId)) return;
      clearTimeout(store.typing.get(convId));
      store.typing.set(convId, setTimeout(() => clearTyping(convId), TYPING_SHOWN_MS));
      if (thread.id === convId) thread.showTyping();
      render();
    },
    read({ conversation_id: convId, user_id: userId, message_id: messageId }) {
      if (store.noteRead(convId, userId, messageId)) refreshConv(convId);
      if (thread.id === convId) thread.ticks();
      render();
    },
    created(conv) {
      if (!store.convs.has(conv.id)) store.putConv(conv);
      ensureUser(store.other(conv));
      render();
    },
  });

  function clearTyping(convId) {
    clearTimeout(store.typing.get(convId));
    if (!store.typing.delete(convId)) return;
    if (thread.id === convId) thread.showTyping();
    render();
  }

  thread = new Thread(store, live, { changed: render, signal });
  const picker = new Picker(store, {
    loadUsers,
    signal,
    onPick(conv) {
      if (!store.convs.has(conv.id)) store.putConv(conv);
      go(conv.id);
    },
  });
  initAccount({ live, signal, toast: on.toast, onLogout: on.loggedOut });

  // Routing: #/c/<id> is a conversation, anything else the list.
  function go(id) {
    location.hash = id ? `#/c/${id}` : "#/";
  }
  async function route() {
    const id = Number(/^#\/c\/(\d+)$/.exec(location.hash)?.[1] ?? 0);
    if (!id) {
      selected = null;
      thread.close();
      document.body.dataset.view = "list";
      render();
      return;
    }
    if (thread.id === id) return;
    const conv = store.convs.get(id) ?? (await refreshConv(id));
    if (stopped) return;
    if (!conv) {
      go(null);
      on.toast("That conversation does not exist, or is not yours.");
      return;
    }
    selected = id;
    document.body.dataset.view = "thread";
    render();
    await thread.open(conv);
    render();
  }

  window.addEventListener("hashchange", route, { signal });
  document.addEventListener("visibilitychange", () => thread.markRead(), { signal });
  $("#conversations").addEventListener("click", (e) => {
    const button = e.target.closest("button[data-id]");
    if (button) go(Number(button.dataset.id));
  }, { signal });
  $("#conversations-more").addEventListener("click", () => loadConversations(true), { signal });
  $("#new-conversation").addEventListener("click", () => picker.open(), { signal });
  $("#back").addEventListener("click", () => go(null), { signal });
  document.addEventListener("keydown", (e) => {
    // On a phone, Escape is the way back from a conversation to the list.
    if (e.key === "Escape" && thread.id && narrow.matches && !document.querySelector("dialog[open]")) go(null);
  }, { signal });

  render();

  // route runs once the page shows the chat: opening a conversation marks
  // it read, which only a visible page may do.
  return { route, stop() {
    stopped = true;
    ac.abort();
    live.stop();
    for (const t of store.typing.values()) clearTimeout(t);
    thread.close();
    $("#conversations").replaceChildren();
    document.title = "Chat";
  } };
}
