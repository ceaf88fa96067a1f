// The account menu: change the password, log out.
import { $ } from "./dom.js";
import { api } from "./api.js";
import { busy, clearErrors, fieldError, showError, values } from "./forms.js";
import { session } from "./session.js";

export function initAccount({ live, onLogout, toast, signal }) {
  const dialog = $("#password-dialog");
  const form = $("#password-form");
  $("#password-open").addEventListener("click", () => {
    $("#account").open = false;
    form.reset();
    clearErrors(form);
    dialog.showModal();
    $("#password-current").focus();
  }, { signal });
  $("#password-cancel").addEventListener("click", () => dialog.close(), { signal });

  form.addEventListener("submit", (e) => {
    e.preventDefault();
    clearErrors(form);
    const { current, new: next, confirm } = values(form);
    if (!current) return void fieldError(form, "password", "current", ["can't be blank"])?.focus();
    if (next.length < 12) return void fieldError(form, "password", "new", ["should be at least 12 character(s)"])?.focus();
    if (next !== confirm) return void fieldError(form, "password", "confirm", ["does not match"])?.focus();
    busy(form, async () => {
      // The change closes every socket of the account ("signed out"),
      // this one too: close it first, on purpose, and reopen it with the
      // new token from the answer.
      live.pause();
      try {
        const { headers } = await api("PUT", "/api/users/me/password", { password: { current, new: next } });
        const token = headers.get("authorization")?.replace(/^Bearer\s+/i, "");
        if (token) session.set(token);
        dialog.close();
        toast("Password changed. Your other devices were signed out.");
      } catch (err) {
        if (err.status === 422 && err.fields?.current) {
          fieldError(form, "password", "current", ["is wrong"])?.focus();
        } else {
          showError(form, "password", err);
        }
      } finally {
        live.resume();
      }
    });
  }, { signal });

  $("#logout").addEventListener("click", async () => {
    $("#account").open = false;
    live.stop();
    try {
      await api("POST", "/api/logout");
    } catch {
      // Ended or unreachable: this tab forgets the token either way.
    }
    onLogout();
  }, { signal });
}
