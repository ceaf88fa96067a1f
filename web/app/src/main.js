// The chat page served at / : signed out, the account forms; signed in,
// the chat. Built on the official phoenix client (live.js); the API is
// api/openapi.yaml and api/channels.md.
import { $, say, show } from "./dom.js";
import { onSessionLost } from "./api.js";
import { initAuth, showAuth } from "./auth.js";
import { startChat } from "./app.js";
import { session } from "./session.js";

// Why a session ended, by the socket's close reason or REST's 401 word.
const ENDED = {
  "logged out": "This session was logged out (in another tab or window). Log in again.",
  "signed out": "You were signed out: the password was changed. Log in with the new password.",
  "token expired": "Your session expired. Log in again.",
  "token revoked": "Your session ended: it was logged out, or the password was changed. Log in again.",
  "invalid token": "Your session is no longer valid (the server may have restarted). Log in again.",
};

let stop = null;
let toastTimer = 0;

function screen(name) {
  document.body.dataset.screen = name;
  show($("#loading"), name === "loading");
  show($("#auth"), name === "auth");
  show($("#chat"), name === "chat");
  show($("#account"), name === "chat");
  if (name !== "chat") status("hidden");
}

// status is the connection's state, shown discreetly in the header.
function status(state) {
  const el = $("#status");
  const text = { live: "", hidden: "", connecting: "Connecting…", reconnecting: "Reconnecting…" }[state] ?? `Cannot join the chat: ${state.replace(/^refused: /, "")}`;
  el.textContent = text;
  el.hidden = !text;
  document.body.dataset.connection = state;
}

function toast(text) {
  say($("#toast"), text);
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => say($("#toast")), 6000);
}

// signOut leaves the chat for the login screen, saying why.
function signOut(message) {
  if (document.body.dataset.screen === "auth") return;
  session.clear();
  stop?.();
  stop = null;
  history.replaceState(null, "", location.pathname);
  screen("auth");
  showAuth(message);
}

async function enter() {
  screen("loading");
  status("connecting");
  try {
    const chat = await startChat({
      status,
      toast,
      ended: (reason) => signOut(ENDED[reason] ?? "Your session ended. Log in again."),
      loggedOut: () => signOut("You are logged out."),
    });
    if (document.body.dataset.screen !== "loading") {
      chat.stop(); // signed out while it loaded
      return;
    }
    stop = chat.stop;
    screen("chat");
    chat.route();
  } catch (err) {
    // A 401 has already signed out; anything else leaves the token for a
    // reload to try again.
    if (document.body.dataset.screen === "loading") {
      screen("auth");
      showAuth(`Could not open the chat: ${err.message}. Reload the page to try again.`);
    }
  }
}

// The account menu (a <details>) closes on a click elsewhere and on
// Escape, as a menu does.
const account = $("#account");
document.addEventListener("click", (e) => {
  if (account.open && !account.contains(e.target)) account.open = false;
});
account.addEventListener("keydown", (e) => {
  if (e.key === "Escape" && account.open) {
    account.open = false;
    account.querySelector("summary").focus();
  }
});

onSessionLost((word) => {
  if (session.token) signOut(ENDED[word] ?? "Your session ended. Log in again.");
});
initAuth({ onLoggedIn: enter });

if (session.token) {
  enter();
} else {
  screen("auth");
  showAuth();
}
