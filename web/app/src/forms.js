// Form plumbing shared by the account forms: errors next to their fields,
// one general error, a busy submit button.
import { $, say } from "./dom.js";
import { describe } from "./api.js";

// Field names the API uses, as a person reads them.
const LABELS = {
  name: "First name",
  subname: "Last name",
  email: "Email",
  job: "Job",
  password: "Password",
  current: "Current password",
  new: "New password",
  confirm: "New password, again",
};

export function clearErrors(form) {
  for (const span of form.querySelectorAll(".field-error")) span.textContent = "";
  for (const input of form.querySelectorAll("[aria-invalid]")) input.removeAttribute("aria-invalid");
  say($(".error", form));
}

// fieldError shows messages under the field with id `${prefix}-${field}`,
// or in the form's general error when it has no such field.
export function fieldError(form, prefix, field, messages) {
  const text = `${LABELS[field] ?? field} ${messages.join(", ")}.`;
  const input = form.querySelector(`#${prefix}-${field}`);
  const span = form.querySelector(`#${prefix}-${field}-error`);
  if (input && span) {
    span.textContent = text;
    input.setAttribute("aria-invalid", "true");
    input.setAttribute("aria-describedby", span.id);
    return input;
  }
  const general = $(".error", form);
  say(general, general.textContent ? `${general.textContent} ${text}` : text);
  return null;
}

// showError shows an API error: a 422's fields one by one, anything else
// as one sentence. It focuses the first invalid field.
export function showError(form, prefix, err) {
  if (err?.status === 422 && err.fields) {
    let first = null;
    for (const [field, messages] of Object.entries(err.fields)) {
      first ??= fieldError(form, prefix, field, messages);
    }
    first?.focus();
    return;
  }
  say($(".error", form), describe(err));
}

// busy disables the form's submit button while a request runs.
export async function busy(form, work) {
  const button = form.querySelector("button[type=submit]");
  button.disabled = true;
  form.setAttribute("aria-busy", "true");
  try {
    return await work();
  } finally {
    button.disabled = false;
    form.removeAttribute("aria-busy");
  }
}

export function values(form) {
  return Object.fromEntries(new FormData(form));
}
