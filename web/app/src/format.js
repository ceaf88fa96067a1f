// Dates and times as the reader's locale writes them.
const time = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });
const day = new Intl.DateTimeFormat(undefined, { day: "numeric", month: "short" });
const full = new Intl.DateTimeFormat(undefined, { dateStyle: "full", timeStyle: "short" });

function sameDay(a, b) {
  return a.toDateString() === b.toDateString();
}

// when is a message's time: the hour today, the day before.
export function when(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return "";
  return sameDay(d, new Date()) ? time.format(d) : `${day.format(d)}, ${time.format(d)}`;
}

// short is the conversation list's: the hour today, else the day.
export function short(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return "";
  return sameDay(d, new Date()) ? time.format(d) : day.format(d);
}

export function long(iso) {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? "" : full.format(d);
}

// clientId is a send's id for safe retries (api/channels.md): random,
// 32 hex characters. crypto.randomUUID exists only on https or localhost.
export function clientId() {
  const b = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}
