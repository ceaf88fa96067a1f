// The conversation list: newest activity first, each with the other
// person's presence, the last message and the unread count.
import { $, el, show } from "./dom.js";
import { short } from "./format.js";

export function renderList(store, selectedId) {
  const ul = $("#conversations");
  // Rebuilding the list would drop the keyboard focus: keep it on the
  // same conversation.
  const focused = document.activeElement?.closest?.("#conversations [data-id]")?.dataset.id;
  const items = store.sorted().map((conv) => item(store, conv, conv.id === selectedId));
  ul.replaceChildren(...items);
  show($("#conversations-empty"), items.length === 0);
  if (focused) ul.querySelector(`[data-id="${focused}"]`)?.focus();
  const total = store.unreadTotal();
  document.title = total > 0 ? `(${total}) Chat` : "Chat";
}

function item(store, conv, selected) {
  const other = store.other(conv);
  const online = store.online.has(other);
  const last = conv.last_message;
  const typing = store.typing.has(conv.id);
  const preview = typing
    ? el("span", { class: "preview typing-preview" }, "typing…")
    : el("span", { class: "preview" },
      last ? `${last.sender_id === store.me.id ? "You: " : ""}${last.content}` : "No messages yet");
  const unread = conv.unread_count;
  return el("li", {},
    el("button", {
      type: "button",
      class: "conv",
      "data-id": conv.id,
      "aria-current": selected ? "true" : null,
    },
    el("span", { class: online ? "dot online" : "dot", "aria-hidden": "true" }),
    el("span", { class: "conv-main" },
      el("span", { class: "conv-top" },
        el("span", { class: "conv-name" }, store.name(other)),
        el("span", { class: "visually-hidden" }, online ? ", online" : ", offline"),
        last ? el("time", { datetime: last.date, class: "conv-time" }, short(last.date)) : null),
      preview),
    unread > 0 ? el("span", { class: "badge" }, el("span", {}, String(unread)),
      el("span", { class: "visually-hidden" }, unread === 1 ? " unread message" : " unread messages")) : null));
}
