// The signed-out screen: log in, register, and reset a forgotten password.
import { $, el, say, show } from "./dom.js";
import { api } from "./api.js";
import { busy, clearErrors, fieldError, showError, values } from "./forms.js";
import { session } from "./session.js";

const FORMS = ["login-form", "register-form", "forgot-form", "reset-form"];

// The dev mailbox (/sent_mails) exists only in dev, where it holds the
// mails instead of sending them; the page links to it when it answers.
let mailbox = null;
function hasMailbox() {
  mailbox ??= fetch("/sent_mails", { headers: { accept: "application/json" }, credentials: "omit" })
    .then((res) => res.ok)
    .catch(() => false);
  return mailbox;
}

async function mailboxLink() {
  if (!(await hasMailbox())) return null;
  return el("span", {}, " In dev it is in the ",
    el("a", { href: "/sent_mails", target: "_blank", rel: "noopener", id: "mailbox-link" }, "dev mailbox"), ".");
}

// showForm shows one of the forms, focusing its first empty input.
export function showForm(id) {
  for (const f of FORMS) show($(`#${f}`), f === id);
  const form = $(`#${id}`);
  clearErrors(form);
  const empty = [...form.querySelectorAll("input")].find((i) => !i.value) ?? form.querySelector("input");
  empty?.focus();
}

function notice(...parts) {
  say($("#auth-notice"), ...parts);
}

// showAuth shows the signed-out screen, with a notice (why the session
// ended, say) when there is one.
export function showAuth(message) {
  notice(message ?? "");
  showForm("login-form");
}

export function initAuth({ onLoggedIn }) {
  for (const button of document.querySelectorAll("#auth [data-show]")) {
    button.addEventListener("click", () => {
      notice("");
      showForm(button.dataset.show);
    });
  }

  const login = $("#login-form");
  login.addEventListener("submit", (e) => {
    e.preventDefault();
    clearErrors(login);
    const { email, password } = values(login);
    if (!email || !password) {
      say($(".error", login), "Enter your email and password.");
      return;
    }
    busy(login, async () => {
      try {
        const { data } = await api("POST", "/api/login", { creds: { email, password } }, { auth: false });
        session.set(data.data.token);
        login.reset();
        notice("");
        onLoggedIn();
      } catch (err) {
        if (err.status === 401) say($(".error", login), "Wrong email or password.");
        else showError(login, "login", err);
      }
    });
  });

  const register = $("#register-form");
  register.addEventListener("submit", (e) => {
    e.preventDefault();
    clearErrors(register);
    const user = values(register);
    const missing = Object.keys(user).filter((k) => !user[k].trim());
    if (missing.length) {
      register.querySelector(`#register-${missing[0]}`).focus();
      for (const k of missing) fieldError(register, "register", k, ["can't be blank"]);
      return;
    }
    busy(register, async () => {
      try {
        const { data } = await api("POST", "/api/users", { user }, { auth: false });
        register.reset();
        $("#login-email").value = data.email;
        showForm("login-form");
        notice(`Account created for ${data.email}. Your password is on its way by mail.`, await mailboxLink());
      } catch (err) {
        showError(register, "register", err);
      }
    });
  });

  const forgot = $("#forgot-form");
  forgot.addEventListener("submit", (e) => {
    e.preventDefault();
    clearErrors(forgot);
    const { email } = values(forgot);
    if (!email.trim()) {
      fieldError(forgot, "forgot", "email", ["can't be blank"]);
      return;
    }
    busy(forgot, async () => {
      try {
        const { data } = await api("POST", "/api/password_resets", { email }, { auth: false });
        showForm("reset-form");
        notice(data?.message ? `${data.message}.` : "A reset mail is on its way.", await mailboxLink());
      } catch (err) {
        if (err.status === 404) say($(".error", forgot), "This server does not offer password resets yet.");
        else showError(forgot, "forgot", err);
      }
    });
  });

  const reset = $("#reset-form");
  reset.addEventListener("submit", (e) => {
    e.preventDefault();
    clearErrors(reset);
    const token = values(reset).token.trim();
    const { password } = values(reset);
    if (!token) {
      say($(".error", reset), "Paste the token from the mail.");
      return;
    }
    busy(reset, async () => {
      try {
        await api("PUT", `/api/password_resets/${encodeURIComponent(token)}`, { password }, { auth: false });
        reset.reset();
        showForm("login-form");
        notice("Your new password is set. Log in with it.");
      } catch (err) {
        if (err.status === 404) say($(".error", reset), "This token is unknown, used, replaced by a newer one or expired. Ask for a new one.");
        else showError(reset, "reset", err);
      }
    });
  });
}
