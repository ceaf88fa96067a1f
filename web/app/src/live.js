// The socket: one phoenix.js Socket and its room:chat channel, with
// Presence, the rejoin's recovery and safe retries of sends.
import { Presence, Socket } from "phoenix";
import { session } from "./session.js";

// The close reasons that end the session (api/channels.md, "Closing"):
// reconnecting with the same token would only be refused.
export const SESSION_ENDED = ["logged out", "signed out", "token expired"];

// connectLive opens the socket. on: {status(state), joined(reply),
// receive(push), typing(push), read(push), created(conv), presence(Set),
// ended(reason), failing()}. joinParams() is called at every (re)join.
export function connectLive(joinParams, on) {
  // A function, so that a reconnect after a password change uses the new
  // token; in Sec-WebSocket-Protocol, not in the URL (and so not in logs).
  // longPollFallbackMs: where a proxy blocks WebSockets (common in
  // companies), phoenix.js falls back to /socket/longpoll by itself.
  const socket = new Socket("/socket", { authToken: () => session.token ?? "", longPollFallbackMs: 3000 });
  const chat = socket.channel("room:chat", joinParams);
  const presence = new Presence(chat);
  let paused = false;
  let stopped = false;
  let failures = 0;

  presence.onSync(() => on.presence(new Set(presence.list((id) => Number(id)))));
  chat.on("receive_msg", on.receive);
  chat.on("typing", on.typing);
  chat.on("read", on.read);
  chat.on("conversation_created", on.created);

  socket.onOpen(() => {
    failures = 0;
  });
  socket.onError(() => {
    if (paused) return;
    on.status("reconnecting");
    // A refused handshake (403: the token was revoked while the socket
    // was down) looks like any failure to phoenix.js, which retries
    // forever: after a few, ask the REST API whether the session lives.
    if (++failures % 3 === 0) on.failing();
  });
  socket.onClose((event) => {
    if (paused) return;
    if (SESSION_ENDED.includes(event?.reason)) {
      socket.disconnect();
      on.ended(event.reason);
      return;
    }
    on.status("reconnecting");
  });
  chat.onError(() => {
    if (!paused) on.status("reconnecting");
  });

  chat
    .join()
    .receive("ok", (reply) => {
      on.status("live");
      on.joined(reply ?? {});
    })
    .receive("error", ({ reason } = {}) => on.status(`refused: ${reason}`));
  socket.connect();

  const push = (event, payload, timeout) =>
    new Promise((resolve, reject) => {
      chat
        .push(event, payload, timeout)
        .receive("ok", resolve)
        .receive("error", (err) => reject(Object.assign(new Error(err?.reason ?? "error"), err)))
        .receive("timeout", () => reject(Object.assign(new Error("timeout"), { reason: "timeout" })));
    });

  return {
    // send stores a message, retrying with the same client_id after a
    // timeout or "unavailable": the server stores it once whatever
    // happened to the earlier tries.
    async send(to, conv, text, clientId, tries = 5) {
      for (let i = 1; ; i++) {
        try {
          const { message } = await push("send_msg", { user: to, conv, message: text, client_id: clientId }, 10000);
          return message;
        } catch (err) {
          const retry = err.reason === "timeout" || err.reason === "unavailable";
          if (!retry || i >= tries) throw err;
          await new Promise((r) => setTimeout(r, 1000));
        }
      }
    },
    typing: (conv) => push("typing", { conv }).catch(() => {}),
    read: (conv, messageId) => push("read", { conv, message_id: messageId }),
    // pause closes the socket on purpose (a password change is about to
    // end it); resume opens it again, with whatever token is current.
    pause() {
      paused = true;
      socket.disconnect();
    },
    resume() {
      if (stopped) return;
      paused = false;
      socket.connect();
    },
    stop() {
      paused = stopped = true;
      chat.leave();
      socket.disconnect();
    },
  };
}
