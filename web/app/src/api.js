// The REST API (api/openapi.yaml), same origin, JSON both ways.
import { session } from "./session.js";

export class ApiError extends Error {
  constructor(status, body, headers) {
    // The API's own word ("not found", "token revoked"), or the login's
    // {"data": "invalid email or password"}.
    const word = body?.message ?? (typeof body?.data === "string" ? body.data : "");
    super(word || `HTTP ${status}`);
    this.status = status;
    this.word = word;
    this.fields = body?.errors ?? null;
    this.retryAfter = Number(headers?.get("retry-after")) || 0;
  }
}

let sessionLost = () => {};

// onSessionLost(fn): fn(word) runs when an authenticated request is
// answered 401 — the token expired, was logged out or ended by a password
// change elsewhere.
export function onSessionLost(fn) {
  sessionLost = fn;
}

// api(method, path, body?, {auth}) resolves to {data, headers, status} or
// rejects with an ApiError (status 0: the server could not be reached).
export async function api(method, path, body, { auth = true } = {}) {
  const headers = { accept: "application/json" };
  if (body !== undefined) headers["content-type"] = "application/json";
  const token = auth ? session.token : null;
  if (token) headers.authorization = `Bearer ${token}`;
  let res;
  try {
    res = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: "no-store",
      credentials: "omit",
    });
  } catch {
    throw new ApiError(0, { message: "network" });
  }
  const text = await res.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!res.ok) {
    const err = new ApiError(res.status, data, res.headers);
    if (res.status === 401 && token) sessionLost(err.word);
    throw err;
  }
  return { data, headers: res.headers, status: res.status };
}

// describe turns an error into a sentence for a person.
export function describe(err) {
  if (!(err instanceof ApiError)) return "Something went wrong in this page. Reload it and try again.";
  switch (err.status) {
    case 0:
      return "Cannot reach the server. Check your connection and try again.";
    case 413:
      return "That is too long.";
    case 429:
      return `Too many attempts. Try again in ${err.retryAfter || 60} seconds.`;
    case 503:
      return "The server is busy. Try again in a moment.";
    case 500:
      return "Something went wrong on the server. Try again.";
    default:
      return err.word ? sentence(err.word) : `The server answered ${err.status}.`;
  }
}

function sentence(word) {
  return word.charAt(0).toUpperCase() + word.slice(1) + (/[.!?]$/.test(word) ? "" : ".");
}
