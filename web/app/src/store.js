// What the signed-in page knows: the caller, the people, the conversations
// and who is online. Views read it; app.js changes it.
export class Store {
  constructor(me) {
    this.me = me;
    this.users = new Map([[me.id, me]]);
    this.convs = new Map();
    this.online = new Set();
    // conversation id → the other participant's typing timer
    this.typing = new Map();
    // The highest message id seen anywhere: the rejoin's "since".
    this.since = 0;
    this.convCursor = null;
  }

  other(conv) {
    return conv.sender_id === this.me.id ? conv.recipient_id : conv.sender_id;
  }

  name(userId) {
    const u = this.users.get(userId);
    return u ? `${u.name} ${u.subname}`.trim() : `User ${userId}`;
  }

  // putConv stores a conversation as the server sent it.
  putConv(conv) {
    this.convs.set(conv.id, conv);
    if (conv.last_message) this.since = Math.max(this.since, conv.last_message.id);
  }

  // sorted is the list's order: newest activity first.
  sorted() {
    const at = (c) => Date.parse(c.last_message?.date ?? c.inserted_at) || 0;
    return [...this.convs.values()].sort((a, b) => at(b) - at(a) || b.id - a.id);
  }

  unreadTotal() {
    let n = 0;
    for (const c of this.convs.values()) n += c.unread_count;
    return n;
  }

  // joinParams is what a (re)join of room:chat sends: per conversation the
  // last message id held, so the server pushes what was missed meanwhile
  // (api/channels.md, "After a reconnect"). At most 1 000 cursors, the most
  // recent; older conversations are covered by "since".
  joinParams() {
    const cursors = {};
    for (const c of this.sorted().slice(0, 1000)) cursors[c.id] = c.last_message?.id ?? 0;
    return { cursors, since: this.since };
  }

  // noteMessage records a message in its conversation's summary; it
  // returns false when the conversation already had it (or a newer one).
  noteMessage(m) {
    this.since = Math.max(this.since, m.id);
    const conv = this.convs.get(m.conversation_id);
    if (!conv || (conv.last_message && conv.last_message.id >= m.id)) return false;
    conv.last_message = m;
    if (m.sender_id === this.me.id) {
      // Sending marks the sender's side read up to the message.
      conv.last_read_id = Math.max(conv.last_read_id ?? 0, m.id);
      conv.unread_count = 0;
    } else if (m.id > (conv.last_read_id ?? 0)) {
      conv.unread_count += 1;
    }
    return true;
  }

  // noteRead applies a read mark; it returns true when the caller's own
  // unread count may now be wrong (read up to a message that is not the
  // last), so the conversation should be fetched again.
  noteRead(convId, userId, messageId) {
    const conv = this.convs.get(convId);
    if (!conv) return false;
    if (userId !== this.me.id) {
      conv.other_last_read_id = Math.max(conv.other_last_read_id ?? 0, messageId);
      return false;
    }
    if (messageId <= (conv.last_read_id ?? 0)) return false;
    conv.last_read_id = messageId;
    if (!conv.last_message || messageId >= conv.last_message.id) {
      conv.unread_count = 0;
      return false;
    }
    return true;
  }
}
