// End-to-end: a real `companyapi serve` process driven by the official
// phoenix JS client, as the seed app's clients use it.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join as pathJoin, resolve } from "node:path";
import { promisify } from "node:util";
import { execFile } from "node:child_process";
import { Socket, Presence, LongPoll } from "phoenix";
import WebSocket from "ws";

const bin = process.env.COMPANYAPI_BIN ?? resolve(import.meta.dirname, "../../bin/companyapi");
let server, base, dir;

before(async () => {
  dir = mkdtempSync(pathJoin(tmpdir(), "companyapi-e2e-"));
  server = spawn(bin, ["serve"], {
    env: { ...process.env, APP_ENV: "dev", ADDR: "127.0.0.1:0", DATABASE_URL: `sqlite://${pathJoin(dir, "e2e.db")}`, LOG_LEVEL: "warn", RATE_LIMIT_LOGIN: "0" },
    stdio: ["ignore", "pipe", "inherit"],
  });
  base = await new Promise((ok, fail) => {
    let out = "";
    const timer = setTimeout(() => fail(new Error(`server did not start: ${out}`)), 20000);
    server.stdout.on("data", (d) => {
      out += d;
      const m = out.match(/listening on (http:\/\/\S+)/);
      if (m) { clearTimeout(timer); ok(m[1]); }
    });
    server.on("exit", (code) => fail(new Error(`server exited ${code}: ${out}`)));
  });
});

after(async () => {
  for (const s of sockets) s.disconnect();
  if (server && server.exitCode === null) {
    const exited = new Promise((ok) => server.on("exit", ok));
    server.kill("SIGTERM");
    await exited;
  }
  rmSync(dir, { recursive: true, force: true });
});

async function api(method, path, body, token) {
  const headers = { "content-type": "application/json" };
  if (token) headers.authorization = `Bearer ${token}`;
  const res = await fetch(base + path, { method, headers, body: body && JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

async function passwordFor(email) {
  for (let i = 0; i < 100; i++) {
    const res = await fetch(base + "/sent_mails", { headers: { accept: "application/json" } });
    const mail = (await res.json()).find((m) => m.to === email);
    if (mail) return mail.text.match(/generated password (\S+?)\. /)[1];
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no mail to ${email}`);
}

async function newUser(name) {
  const email = `${name}@example.com`;
  const reg = await api("POST", "/api/users", { user: { name, subname: "Doe", email, job: "engineer" } });
  assert.equal(reg.status, 201);
  assert.equal(reg.body.password, undefined, "registration must not return the password");
  const login = await api("POST", "/api/login", { creds: { email, password: await passwordFor(email) } });
  assert.equal(login.status, 200);
  return { id: reg.body.id, token: login.body.data.token };
}

// connect opens a socket with the token in the query string, or with
// phoenix.js's authToken (the token in Sec-WebSocket-Protocol, or in
// X-Phoenix-AuthToken over LongPoll); longPoll forces phoenix.js's
// LongPoll transport, which Node 20 runs on its global fetch.
// Every socket a test opens, disconnected at the end so that node exits
// (a socket left open keeps its timers running).
const sockets = [];

function connect(token, { authToken = false, longPoll = false, ...opts } = {}) {
  const auth = authToken ? { authToken: token } : { params: { token } };
  const transport = longPoll ? LongPoll : WebSocket;
  const socket = new Socket(base.replace("http", "ws") + "/socket", { ...auth, transport, reconnectAfterMs: () => 100000, ...opts });
  socket.connect();
  sockets.push(socket);
  return socket;
}

function join(socket) {
  const channel = socket.channel("room:chat", {});
  return new Promise((ok, fail) => {
    channel.join().receive("ok", () => ok(channel)).receive("error", fail).receive("timeout", () => fail(new Error("join timeout")));
  });
}

function push(channel, event, payload) {
  return new Promise((ok, fail) => {
    channel.push(event, payload)
      .receive("ok", (r) => ok({ status: "ok", response: r }))
      .receive("error", (r) => ok({ status: "error", response: r }))
      .receive("timeout", () => fail(new Error(`${event} timed out`)));
  });
}

function nextPush(channel, event) {
  return new Promise((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`no ${event}`)), 5000);
    const ref = channel.on(event, (payload) => { clearTimeout(timer); channel.off(event, ref); ok(payload); });
  });
}

// chatScenario: two users chat over room:chat, both with connect's options
// opts; names keep each run's users apart.
async function chatScenario(names, opts) {
  const ann = await newUser(names[0]);
  const bob = await newUser(names[1]);
  const conv = await api("POST", "/api/conversations", { conversation: { recipient_id: bob.id } }, ann.token);
  assert.equal(conv.status, 201);
  const convId = conv.body.data.id;

  const annSocket = connect(ann.token, opts);
  const bobSocket = connect(bob.token, opts);
  const annChan = await join(annSocket);
  const bobChan = await join(bobSocket);
  if (opts.longPoll) {
    assert.ok(annSocket.conn instanceof LongPoll, "phoenix.js runs over LongPoll");
  }
  if (opts.authToken) {
    assert.ok(!annSocket.endPointURL().includes(ann.token), annSocket.endPointURL());
  }

  const bobGets = nextPush(bobChan, "receive_msg");
  const sent = await push(annChan, "send_msg", { user: bob.id, conv: convId, message: "Hi! This is message" });
  assert.equal(sent.status, "ok");
  assert.equal(sent.response.message.content, "Hi! This is message");
  const got = await bobGets;
  assert.deepEqual(got.message, sent.response.message);
  assert.equal(got.message.sender_id, ann.id);
  assert.equal(got.message.conversation_id, convId);

  const annGets = nextPush(annChan, "receive_msg");
  const reply = await push(bobChan, "send_msg", { user: ann.id, conv: convId, message: "This is a reply" });
  assert.equal(reply.status, "ok");
  assert.equal((await annGets).message.content, "This is a reply");

  // A message posted over REST is pushed too.
  const restGets = nextPush(bobChan, "receive_msg");
  const posted = await api("POST", `/api/conversations/${convId}/messages`, { message: { content: "over REST" } }, ann.token);
  assert.equal(posted.status, 201);
  assert.equal((await restGets).message.id, posted.body.data.id);

  // Refusals come back as error replies in REST's wording.
  const blank = await push(annChan, "send_msg", { user: bob.id, conv: convId, message: "   " });
  assert.equal(blank.status, "error");
  assert.deepEqual(blank.response.errors, { message: ["can't be blank"] });
  const wrongType = await push(annChan, "send_msg", { user: bob.id, conv: "x", message: "hi" });
  assert.equal(wrongType.status, "error");
  assert.ok(wrongType.response.errors.conv, JSON.stringify(wrongType.response));

  // Everything acknowledged is in the history, oldest first after a cursor.
  const history = await api("GET", `/api/conversations/${convId}/messages?after=${sent.response.message.id}`, null, bob.token);
  assert.equal(history.status, 200);
  assert.deepEqual(history.body.data.map((m) => m.content), ["This is a reply", "over REST"]);

  annSocket.disconnect();
  bobSocket.disconnect();
}

test("two users chat over room:chat with phoenix.js", () => chatScenario(["ann", "bob"], {}));

test("two users chat with phoenix.js forced to LongPoll", () => chatScenario(["lpann", "lpbob"], { longPoll: true }));

test("two users chat over LongPoll with authToken: the token never in the URL", () =>
  chatScenario(["lpanna", "lpbobby"], { longPoll: true, authToken: true }));

test("two users chat with authToken: the token never in the URL", async () => {
  const ann = await newUser("anna");
  const bob = await newUser("bobby");
  const conv = await api("POST", "/api/conversations", { conversation: { recipient_id: bob.id } }, ann.token);
  assert.equal(conv.status, 201);
  const convId = conv.body.data.id;

  const annSocket = connect(ann.token, { authToken: true });
  const bobSocket = connect(bob.token, { authToken: true });
  assert.ok(!annSocket.endPointURL().includes(ann.token), annSocket.endPointURL());
  const annChan = await join(annSocket);
  const bobChan = await join(bobSocket);
  assert.equal(annSocket.conn.protocol, "phoenix", "the server answers with the phoenix subprotocol");

  const bobGets = nextPush(bobChan, "receive_msg");
  const sent = await push(annChan, "send_msg", { user: bob.id, conv: convId, message: "sent with authToken" });
  assert.equal(sent.status, "ok");
  const got = await bobGets;
  assert.deepEqual(got.message, sent.response.message);
  assert.equal(got.message.sender_id, ann.id, "the socket is the token's user's");

  const annGets = nextPush(annChan, "receive_msg");
  const reply = await push(bobChan, "send_msg", { user: ann.id, conv: convId, message: "and answered" });
  assert.equal(reply.status, "ok");
  assert.equal((await annGets).message.content, "and answered");

  const history = await api("GET", `/api/conversations/${convId}/messages?after=0`, null, bob.token);
  assert.deepEqual(history.body.data.map((m) => m.content), ["sent with authToken", "and answered"]);
  annSocket.disconnect();
  bobSocket.disconnect();
});

test("a bad authToken is read and refused: 403 invalid token, not missing token", async () => {
  const answer = await new Promise((ok) => {
    const ws = new WebSocket(base.replace("http", "ws") + "/socket/websocket?vsn=2.0.0",
      ["phoenix", "base64url.bearer.phx." + btoa("nope").replace(/=/g, "")]);
    ws.on("unexpected-response", (_req, res) => {
      let body = "";
      res.on("data", (d) => { body += d; });
      res.on("end", () => ok({ status: res.statusCode, body: JSON.parse(body) }));
    });
    ws.on("open", () => ok("open"));
    ws.on("error", () => {});
  });
  assert.deepEqual(answer, { status: 403, body: { message: "invalid token" } });
});

// The Node examples of README.md and api/channels.md, run as written
// (the server's address put in for localhost:4000) with the walk-through's
// TOKEN, BOB and CONV.
for (const doc of ["README.md", "api/channels.md"]) {
  test(`the Node example of ${doc} runs as written`, async () => {
    const text = readFileSync(resolve(import.meta.dirname, "../..", doc), "utf8");
    const after = text.split("test/e2e runs this block")[1];
    assert.ok(after, `${doc} marks no block for test/e2e`);
    const code = after.split("```js\n")[1].split("```")[0].replaceAll("ws://localhost:4000", base.replace("http", "ws"));
    const ann = await newUser(`doc${doc.length}a`);
    const bob = await newUser(`doc${doc.length}b`);
    const conv = await api("POST", "/api/conversations", { conversation: { recipient_id: bob.id } }, ann.token);
    // Inside test/e2e so that "phoenix" and "ws" resolve to its node_modules.
    const tmp = mkdtempSync(pathJoin(import.meta.dirname, ".doc-example-"));
    try {
      writeFileSync(pathJoin(tmp, "chat.mjs"), code);
      const { stdout } = await promisify(execFile)(process.execPath, [pathJoin(tmp, "chat.mjs")], {
        env: { ...process.env, TOKEN: ann.token, BOB: String(bob.id), CONV: String(conv.body.data.id) },
        timeout: 15000,
      });
      const id = Number(stdout.match(/stored (\d+)/)?.[1]);
      assert.ok(id > 0, `no "stored <id>" in: ${stdout}`);
      const history = await api("GET", `/api/conversations/${conv.body.data.id}/messages?after=0`, null, bob.token);
      assert.deepEqual(history.body.data.map((m) => m.id), [id]);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });
}

test("a rejoin with cursors recovers what was missed, with a params function as channels.md shows", async () => {
  const ann = await newUser("rita");
  const bob = await newUser("sam");
  const conv = await api("POST", "/api/conversations", { conversation: { recipient_id: bob.id } }, ann.token);
  const convId = conv.body.data.id;
  const annChan = await join(connect(ann.token));

  const bobSocket = connect(bob.token);
  const cursors = {};
  const seen = [];
  const bobChan = bobSocket.channel("room:chat", () => ({ cursors }));
  bobChan.on("receive_msg", ({ message, prev_id }) => {
    const held = cursors[message.conversation_id] ?? null;
    assert.equal(prev_id, held, "pushes of one conversation chain with prev_id");
    cursors[message.conversation_id] = message.id;
    seen.push(message.content);
  });
  await new Promise((ok, fail) => bobChan.join().receive("ok", ok).receive("error", fail));

  const first = nextPush(bobChan, "receive_msg");
  await push(annChan, "send_msg", { user: bob.id, conv: convId, message: "before" });
  await first;
  bobSocket.disconnect();
  for (const text of ["while away 1", "while away 2"]) {
    assert.equal((await push(annChan, "send_msg", { user: bob.id, conv: convId, message: text })).status, "ok");
  }
  // phoenix.js rejoins by itself once the socket is back, with the
  // cursors the params function returns now.
  const rejoined = new Promise((ok) => bobChan.on("receive_msg", () => seen.length === 3 && ok()));
  bobSocket.connect();
  await rejoined;
  assert.deepEqual(seen, ["before", "while away 1", "while away 2"]);
  const live = nextPush(bobChan, "receive_msg");
  await push(annChan, "send_msg", { user: bob.id, conv: convId, message: "live again" });
  assert.equal((await live).message.content, "live again");
  assert.deepEqual(seen, ["before", "while away 1", "while away 2", "live again"]);
  bobSocket.disconnect();
});

test("presence, typing and read receipts with phoenix.js's Presence", async () => {
  const ann = await newUser("tina");
  const bob = await newUser("ulf");
  const stranger = await newUser("vera");
  const conv = await api("POST", "/api/conversations", { conversation: { recipient_id: bob.id } }, ann.token);
  const convId = conv.body.data.id;

  // ann watches presence with phoenix.js's own class.
  const annSocket = connect(ann.token);
  const annChan = annSocket.channel("room:chat", {});
  const presence = new Presence(annChan);
  const online = () => presence.list((id, { metas }) => `${id}:${metas.length}`).sort();
  let synced = () => {};
  presence.onSync(() => synced(online()));
  const waitOnline = (want) => new Promise((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`presence ${online()} never became ${want}`)), 5000);
    synced = (now) => { if (JSON.stringify(now) === JSON.stringify(want)) { clearTimeout(timer); ok(); } };
    synced(online());
  });
  await new Promise((ok, fail) => annChan.join().receive("ok", ok).receive("error", fail));
  await waitOnline([`${ann.id}:1`]);

  // bob comes online on two devices; a stranger stays invisible.
  const strangerSocket = connect(stranger.token);
  await join(strangerSocket);
  const bobSocket = connect(bob.token);
  const bobChan = await join(bobSocket);
  await waitOnline([`${ann.id}:1`, `${bob.id}:1`].sort());
  const bob2 = connect(bob.token);
  await join(bob2);
  await waitOnline([`${ann.id}:1`, `${bob.id}:2`].sort());

  // Typing and reading.
  const typing = nextPush(bobChan, "typing");
  assert.equal((await push(annChan, "typing", { conv: convId })).status, "ok");
  assert.deepEqual(await typing, { conversation_id: convId, user_id: ann.id });
  const sent = await push(bobChan, "send_msg", { user: ann.id, conv: convId, message: "read me" });
  const read = nextPush(bobChan, "read");
  assert.equal((await push(annChan, "read", { conv: convId, message_id: sent.response.message.id })).status, "ok");
  assert.deepEqual(await read, { conversation_id: convId, user_id: ann.id, message_id: sent.response.message.id });
  const list = await api("GET", "/api/conversations", null, bob.token);
  assert.equal(list.body.data[0].other_last_read_id, sent.response.message.id);

  // bob goes offline device by device.
  bob2.disconnect();
  await waitOnline([`${ann.id}:1`, `${bob.id}:1`].sort());
  bobSocket.disconnect();
  await waitOnline([`${ann.id}:1`]);
  annSocket.disconnect();
  strangerSocket.disconnect();
});

test("a new conversation reaches both participants' sockets", async () => {
  const ann = await newUser("wim");
  const bob = await newUser("xia");
  const annChan = await join(connect(ann.token));
  const bobChan = await join(connect(bob.token));
  const forBob = nextPush(bobChan, "conversation_created");
  const forAnn = nextPush(annChan, "conversation_created");
  const conv = await api("POST", "/api/conversations", { conversation: { recipient_id: bob.id } }, ann.token);
  assert.equal(conv.status, 201);
  assert.deepEqual(await forBob, conv.body.data);
  assert.equal((await forAnn).id, conv.body.data.id);
});

test("a third user cannot post into the conversation", async () => {
  const a = await newUser("carol");
  const b = await newUser("dave");
  const c = await newUser("eve");
  const conv = await api("POST", "/api/conversations", { conversation: { recipient_id: b.id } }, a.token);
  const socket = connect(c.token);
  const chan = await join(socket);
  const res = await push(chan, "send_msg", { user: b.id, conv: conv.body.data.id, message: "intruder" });
  assert.equal(res.status, "error");
  assert.equal(res.response.reason, "not found");
  socket.disconnect();
});

test("logging out closes that token's live socket", async () => {
  const u = await newUser("frank");
  const socket = connect(u.token);
  await join(socket);
  const closed = new Promise((ok) => socket.onClose((e) => ok(e.code)));
  const res = await api("POST", "/api/logout", null, u.token);
  assert.equal(res.status, 204);
  assert.equal(await closed, 1008);
  socket.disconnect();
});

test("a bad token is refused with 403 before the upgrade", async () => {
  const status = await new Promise((ok) => {
    const ws = new WebSocket(base.replace("http", "ws") + "/socket/websocket?vsn=2.0.0&token=nope");
    ws.on("unexpected-response", (_req, res) => ok(res.statusCode));
    ws.on("open", () => ok("open"));
    ws.on("error", () => {});
  });
  assert.equal(status, 403);
});

test("logging out ends that token's LongPoll session, and the new session phoenix.js opens is refused", async () => {
  const u = await newUser("gina");
  const socket = connect(u.token, { longPoll: true, reconnectAfterMs: () => 50 });
  await join(socket);
  const errors = [];
  const refused = new Promise((ok) => socket.onError((e) => { errors.push(e); if (e === 403) ok(); }));
  const res = await api("POST", "/api/logout", null, u.token);
  assert.equal(res.status, 204);
  await refused;
  // The waiting poll learned that the session is gone (410); the new
  // session, with the logged-out token, was refused (403).
  assert.deepEqual(errors.slice(0, 2), [410, 403]);
  socket.disconnect();
});

test("phoenix.js falls back to LongPoll when the WebSocket never opens (longPollFallbackMs)", async () => {
  const ann = await newUser("hana");
  const bob = await newUser("ivan");
  const conv = await api("POST", "/api/conversations", { conversation: { recipient_id: bob.id } }, ann.token);
  // A WebSocket that never opens nor fails, as behind a proxy that holds
  // the upgrade: phoenix.js gives up on it after longPollFallbackMs.
  class BlockedWebSocket {
    constructor() { this.readyState = 0; }
    send() { throw new Error("not open"); }
    close() { this.readyState = 3; }
  }
  const annSocket = connect(ann.token, { transport: BlockedWebSocket, longPollFallbackMs: 300 });
  const annChan = await join(annSocket);
  assert.ok(annSocket.conn instanceof LongPoll, "phoenix.js fell back to LongPoll");
  const bobChan = await join(connect(bob.token));
  const bobGets = nextPush(bobChan, "receive_msg");
  const sent = await push(annChan, "send_msg", { user: bob.id, conv: conv.body.data.id, message: "after the fallback" });
  assert.equal(sent.status, "ok");
  assert.deepEqual((await bobGets).message, sent.response.message);
  const annGets = nextPush(annChan, "receive_msg");
  assert.equal((await push(bobChan, "send_msg", { user: ann.id, conv: conv.body.data.id, message: "heard" })).status, "ok");
  assert.equal((await annGets).message.content, "heard");
  annSocket.disconnect();
});
