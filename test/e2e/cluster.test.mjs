// End-to-end, several nodes: two `companyapi serve` processes on one fresh
// PostgreSQL database behave as one server to phoenix.js clients (issues 10
// and 11). Ann and Bob talk from different nodes and see each other come
// online, type, read and go offline; Bob comes back on the other node and
// recovers what he missed; a new conversation, a logout and a node's SIGTERM
// reach the other node, and the stopped node's successor sees who is online.
// It runs once with the default broker (PostgreSQL LISTEN/NOTIFY) and once
// with NATS when a nats-server binary is on PATH.
//
// PostgreSQL is found as the Go store tests find it (internal/storetest):
// TEST_DATABASE_URL, else 127.0.0.1:5432 as user postgres, then root; `make
// test-e2e` runs under internal/storetest/with-postgres.sh, which exports
// TEST_DATABASE_URL. Each run creates its own database with psql and drops
// it after. Without PostgreSQL the suite is skipped, loudly; with CI=true or
// REQUIRE_POSTGRES=1 (which with-postgres.sh sets) it fails instead. Without
// psql it is skipped too, but fails with CI=true.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import net from "node:net";
import { resolve } from "node:path";
import { promisify } from "node:util";
import { Socket, Presence } from "phoenix";
import WebSocket from "ws";

const bin = process.env.COMPANYAPI_BIN ?? resolve(import.meta.dirname, "../../bin/companyapi");
const natsBin = process.env.NATS_SERVER ?? "nats-server";
const run = promisify(execFile);
// WAIT bounds every wait for something a client should see; the waits end
// as soon as it is seen.
const WAIT = 10_000;

// --- PostgreSQL, through psql --------------------------------------------


function redact(url) {
  try {
    const u = new URL(url);
    if (u.password) u.password = "xxxxx";
    return u.toString();
  } catch {
    return "(unparsable URL)";
  }
}

async function psql(url, ...commands) {
  const args = [url, "-X", "-v", "ON_ERROR_STOP=1", "-Atq"];
  for (const c of commands) args.push("-c", c);
  const { stdout } = await run("psql", args, { env: { ...process.env, PGCONNECT_TIMEOUT: "5" }, timeout: 60_000 });
  return stdout.trim();
}

// findPostgres returns {url} of a server where this role may create
// databases, or {reason} why there is none.
async function findPostgres() {
  const candidates = process.env.TEST_DATABASE_URL
    ? [process.env.TEST_DATABASE_URL]
    : ["postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable", "postgres://root@127.0.0.1:5432/postgres?sslmode=disable"];
  const errors = [];
  for (const url of candidates) {
    try {
      if ((await psql(url, "SELECT rolcreatedb OR rolsuper FROM pg_roles WHERE rolname = current_user")) === "t") return { url };
      errors.push(`${redact(url)}: role may not create databases`);
    } catch (err) {
      if (err.code === "ENOENT") return { reason: "psql is not on PATH (this test creates its database with it)", noPsql: true };
      errors.push(`${redact(url)}: ${(err.stderr || err.message).trim().replace(/\s+/g, " ")}`);
    }
  }
  return { reason: errors.join("; ") };
}

// createDatabase serialises with the Go tests' creates (the same advisory
// lock as internal/storetest) and retries a busy template1.
async function createDatabase(serverURL, name) {
  for (let attempt = 1; ; attempt++) {
    try {
      await psql(serverURL, "SELECT pg_advisory_lock(7310052281)", `CREATE DATABASE "${name}"`);
      const u = new URL(serverURL);
      u.pathname = "/" + name;
      return u.toString();
    } catch (err) {
      const busy = /being accessed by other users|duplicate key/.test(err.stderr ?? "");
      if (!busy || attempt === 10) throw new Error(`create database ${name} on ${redact(serverURL)}: ${(err.stderr || err.message).trim()}`);
      await new Promise((r) => setTimeout(r, attempt * 100));
    }
  }
}

const pg = await findPostgres();
const required = process.env.CI === "true" || (process.env.REQUIRE_POSTGRES === "1" && !pg.noPsql);
const hasNats = await run(natsBin, ["--version"]).then(() => true, () => false);

// --- processes -------------------------------------------------------------

const children = new Set();
process.on("exit", () => {
  for (const c of children) c.kill("SIGKILL");
});

// startNode starts `companyapi serve` and resolves once it listens. Its
// environment is only what it needs, so that nothing set in the caller's
// (SMTP_URL, BROKER_URL, …) changes what is tested.
function startNode(name, settings) {
  const env = { PATH: process.env.PATH ?? "/usr/bin:/bin" };
  for (const k of ["HOME", "TMPDIR"]) if (process.env[k]) env[k] = process.env[k];
  const proc = spawn(bin, ["serve"], {
    env: {
      ...env, APP_ENV: "dev", ADDR: "127.0.0.1:0", NODE_NAME: name, LOG_LEVEL: "warn",
      RATE_LIMIT_LOGIN: "0", RATE_LIMIT_SEND: "0", DB_MAX_CONNS: "8", ...settings,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.add(proc);
  const exited = new Promise((ok) => proc.on("exit", (code, signal) => { children.delete(proc); ok(code ?? signal); }));
  prefixLines(proc.stderr, `[node ${name}] `);
  return new Promise((ok, fail) => {
    let out = "";
    const timer = setTimeout(() => fail(new Error(`node ${name} did not start within 60 s: ${out}`)), 60_000);
    proc.stdout.on("data", (d) => {
      out += d;
      const m = out.match(/listening on (http:\/\/\S+)/);
      if (m) {
        clearTimeout(timer);
        const u = new URL(m[1]);
        ok({
          name, base: m[1], host: u.hostname, port: Number(u.port),
          // stop sends SIGTERM and resolves with the exit code.
          stop: () => { if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGTERM"); return exited; },
        });
      }
    });
    exited.then((code) => { clearTimeout(timer); fail(new Error(`node ${name} exited ${code}: ${out}`)); });
  });
}

function prefixLines(stream, prefix) {
  let rest = "";
  stream.on("data", (d) => {
    const lines = (rest + d).split("\n");
    rest = lines.pop();
    for (const l of lines) process.stderr.write(prefix + l + "\n");
  });
  stream.on("end", () => rest && process.stderr.write(prefix + rest + "\n"));
}

// startNats runs a nats-server on a free port of its choosing.
function startNats() {
  const proc = spawn(natsBin, ["-a", "127.0.0.1", "-p", "-1"], { stdio: ["ignore", "ignore", "pipe"] });
  children.add(proc);
  const exited = new Promise((ok) => proc.on("exit", () => { children.delete(proc); ok(); }));
  return new Promise((ok, fail) => {
    let log = "";
    const timer = setTimeout(() => fail(new Error(`nats-server did not start: ${log}`)), 20_000);
    proc.stderr.on("data", (d) => {
      log += d;
      const m = log.match(/Listening for client connections on (\S+:\d+)/);
      if (m) {
        clearTimeout(timer);
        ok({ url: `nats://${m[1]}`, stop: () => { proc.kill("SIGTERM"); return exited; } });
      }
    });
    proc.on("error", (err) => { clearTimeout(timer); fail(err); });
  });
}

// balancer is a TCP proxy to one node at a time, as a load balancer without
// sticky sessions: a client's next connection may land on another node.
async function balancer(target) {
  const conns = new Set();
  const lb = { target };
  const server = net.createServer((client) => {
    const upstream = net.connect(lb.target.port, lb.target.host);
    conns.add(client);
    const end = () => { conns.delete(client); client.destroy(); upstream.destroy(); };
    for (const s of [client, upstream]) { s.on("error", end); s.on("close", end); }
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise((ok) => server.listen(0, "127.0.0.1", ok));
  lb.base = `http://127.0.0.1:${server.address().port}`;
  lb.close = () => { for (const c of conns) c.destroy(); server.close(); };
  return lb;
}

// --- REST ------------------------------------------------------------------

async function api(node, method, path, body, token) {
  const headers = { "content-type": "application/json" };
  if (token) headers.authorization = `Bearer ${token}`;
  const res = await fetch(node.base + path, { method, headers, body: body && JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

// passwordFor reads the welcome mail from node's /sent_mails: the dev
// mailbox is a table, so any node shows the mails every node sent.
async function passwordFor(node, email) {
  const deadline = Date.now() + WAIT;
  while (Date.now() < deadline) {
    const res = await fetch(node.base + "/sent_mails", { headers: { accept: "application/json" } });
    const mail = (await res.json()).find((m) => m.to === email);
    if (mail) return mail.text.match(/generated password (\S+?)\. /)[1];
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no mail to ${email} in ${node.name}'s /sent_mails within ${WAIT} ms`);
}

async function login(node, user) {
  const res = await api(node, "POST", "/api/login", { creds: { email: user.email, password: user.password } });
  assert.equal(res.status, 200, `login on ${node.name}: ${JSON.stringify(res.body)}`);
  return res.body.data.token;
}

// newUser registers on one node, reads the password from another's
// mailbox and logs in on the first.
async function newUser(name, registerOn, mailFrom) {
  const email = `${name}@example.com`;
  const reg = await api(registerOn, "POST", "/api/users", { user: { name, subname: "Doe", email, job: "engineer" } });
  assert.equal(reg.status, 201, JSON.stringify(reg.body));
  const user = { id: reg.body.id, email, password: await passwordFor(mailFrom, email) };
  user.token = await login(registerOn, user);
  return user;
}

async function openConversation(node, from, to) {
  const res = await api(node, "POST", "/api/conversations", { conversation: { recipient_id: to.id } }, from.token);
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return res.body.data.id;
}

// conversationOf is the conversation as user sees it over REST on node.
async function conversationOf(node, user, conv) {
  const res = await api(node, "GET", "/api/conversations", null, user.token);
  assert.equal(res.status, 200);
  const c = res.body.data.find((c) => c.id === conv);
  assert.ok(c, `conversation ${conv} not in ${JSON.stringify(res.body)}`);
  return c;
}

async function markRead(node, user, conv, messageId) {
  const res = await api(node, "PUT", `/api/conversations/${conv}/read`, { message_id: messageId }, user.token);
  assert.equal(res.status, 204, JSON.stringify(res.body));
}

// --- phoenix.js clients ------------------------------------------------------

const sockets = [];

// client is one device: a phoenix.js socket to target (a node or the
// balancer) with room:chat joined through a params function that carries
// its cursors, as api/channels.md shows, and phoenix.js's Presence. What it
// receives is recorded; until() waits for a condition on it, checked at
// every event.
function client(target, token, { reconnect = false } = {}) {
  const waiters = new Set();
  const c = { cursors: {}, messages: [], gaps: [], joins: [], joinErrors: [], typing: [], reads: [], created: [], closes: [] };
  c.poke = () => { for (const w of [...waiters]) w(); };
  c.until = (pred, what, ms = WAIT) => new Promise((ok, fail) => {
    const check = () => {
      let v;
      try { v = pred(); } catch (err) { done(); fail(err); return; }
      if (v) { done(); ok(v); }
    };
    const timer = setTimeout(() => {
      waiters.delete(check);
      fail(new Error(`${typeof what === "function" ? what() : what}: not within ${ms} ms`));
    }, ms);
    const done = () => { clearTimeout(timer); waiters.delete(check); };
    waiters.add(check);
    check();
  });

  // Without reconnect the test decides when a socket comes back.
  const opts = { params: { token }, transport: WebSocket, ...(reconnect ? {} : { reconnectAfterMs: () => 100_000 }) };
  c.socket = new Socket(target.base.replace("http", "ws") + "/socket", opts);
  sockets.push(c.socket);
  c.chan = c.socket.channel("room:chat", () => ({ cursors: c.cursors }));
  c.presence = new Presence(c.chan);
  c.presence.onSync(c.poke);
  c.chan.on("receive_msg", ({ message, prev_id }) => {
    const held = c.cursors[message.conversation_id] ?? null;
    if (prev_id !== held) c.gaps.push({ id: message.id, prev_id, held });
    c.cursors[message.conversation_id] = Math.max(held ?? 0, message.id);
    c.messages.push(message);
    c.poke();
  });
  c.chan.on("typing", (p) => { c.typing.push(p); c.poke(); });
  c.chan.on("read", (p) => { c.reads.push(p); c.poke(); });
  c.chan.on("conversation_created", (p) => { c.created.push(p); c.poke(); });
  c.socket.onClose((e) => { c.closes.push({ code: e.code, reason: e.reason }); c.poke(); });
  c.socket.connect();
  // The hooks stay on the join push: every rejoin's reply lands here too.
  c.chan.join().receive("ok", (r) => { c.joins.push(r); c.poke(); }).receive("error", (r) => { c.joinErrors.push(r); c.poke(); });

  c.joined = (n = 1) => c.until(() => {
    assert.deepEqual(c.joinErrors, [], "join refused");
    return c.joins.length >= n;
  }, `join #${n}`);
  // online lists "<user id>:<devices>" as phoenix.js's Presence has it.
  c.online = () => c.presence.list((id, { metas }) => `${id}:${metas.length}`).sort();
  c.refs = (userId) => c.presence.list((id, { metas }) => (id === String(userId) ? metas.map((m) => m.phx_ref) : [])).flat();
  c.sees = (...want) => {
    want = want.sort();
    return c.until(() => JSON.stringify(c.online()) === JSON.stringify(want), () => `presence ${JSON.stringify(c.online())} never became ${JSON.stringify(want)}`);
  };
  c.push = (event, payload) => new Promise((ok, fail) => {
    c.chan.push(event, payload)
      .receive("ok", (r) => ok({ status: "ok", response: r }))
      .receive("error", (r) => ok({ status: "error", response: r }))
      .receive("timeout", () => fail(new Error(`${event} timed out`)));
  });
  // send stores a message; the device holds it, so its cursor moves too.
  c.send = async (to, conv, text) => {
    const r = await c.push("send_msg", { user: to.id, conv, message: text });
    assert.equal(r.status, "ok", JSON.stringify(r.response));
    c.cursors[conv] = Math.max(c.cursors[conv] ?? 0, r.response.message.id);
    return r.response.message;
  };
  c.gets = (message) => c.until(() => c.messages.some((m) => m.id === message.id), `message ${message.id} ("${message.content}")`);
  c.getsRead = (want) => c.until(() => c.reads.some((r) => JSON.stringify(r) === JSON.stringify(want)), `read push ${JSON.stringify(want)}`);
  return c;
}

function ping(c) {
  return new Promise((ok, fail) => {
    const timer = setTimeout(() => fail(new Error("no answer to a heartbeat")), WAIT);
    if (!c.socket.ping((rtt) => { clearTimeout(timer); ok(rtt); })) { clearTimeout(timer); fail(new Error("socket not connected")); }
  });
}

// --- the scenario, once per broker ---------------------------------------------

for (const broker of ["postgres", "nats"]) {
  let skip = false;
  if (pg.noPsql && !required) {
    skip = `${pg.reason}. *** Install the PostgreSQL client (Debian: postgresql-client); CI=true turns this skip into a failure`;
  } else if (!pg.url && !required) {
    skip = `no PostgreSQL: ${pg.reason}. *** Run it with PostgreSQL: make test-e2e (under internal/storetest/with-postgres.sh), ` +
      "or set TEST_DATABASE_URL; CI=true or REQUIRE_POSTGRES=1 turns this skip into a failure";
  } else if (broker === "nats" && !hasNats) {
    skip = `no ${natsBin} on PATH (the Go system tests cover NATS with an embedded server)`;
  }

  describe(`two nodes on one PostgreSQL database, ${broker} broker`, { skip }, () => {
    let serverURL, dbName, settings, nats, a, b, b2, lb;

    before(async () => {
      if (!pg.url) throw new Error(`PostgreSQL required (CI=true or REQUIRE_POSTGRES=1) but none found: ${pg.reason}`);
      serverURL = pg.url;
      dbName = `companyapi_e2e_${randomBytes(6).toString("hex")}`;
      settings = { DATABASE_URL: await createDatabase(serverURL, dbName), JWT_SECRET: randomBytes(24).toString("hex") };
      if (broker === "nats") {
        nats = await startNats();
        settings.BROKER_URL = nats.url;
      }
      // One after the other: the first applies the migrations.
      a = await startNode(`e2e-${broker}-a`, settings);
      b = await startNode(`e2e-${broker}-b`, settings);
      lb = await balancer(b);
    });

    after(async () => {
      for (const s of sockets.splice(0)) s.disconnect();
      await Promise.all([a, b, b2].filter(Boolean).map((n) => n.stop()));
      lb?.close();
      await nats?.stop();
      if (dbName) await psql(serverURL, `DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`);
    });

    test("Ann on node a, Bob on node b: presence, typing, messages and reads cross; Bob goes offline, comes back on node a and recovers what he missed", { timeout: 60_000 }, async () => {
      const ann = await newUser("ann", a, b);
      const bob = await newUser("bob", b, a);
      const conv = await openConversation(a, ann, bob);
      const annC = client(a, ann.token);
      await annC.joined();
      lb.target = b;
      const bobC = client(lb, bob.token);
      await bobC.joined();
      const both = [`${ann.id}:1`, `${bob.id}:1`];
      await annC.sees(...both);
      await bobC.sees(...both);

      // Typing, from a to b.
      assert.equal((await annC.push("typing", { conv })).status, "ok");
      await bobC.until(() => bobC.typing.length > 0, "bob's typing push");
      assert.deepEqual(bobC.typing, [{ conversation_id: conv, user_id: ann.id }]);

      // A message from a to b: unread for Bob, as node a tells him too.
      const m1 = await annC.send(bob, conv, "hello from node a");
      await bobC.gets(m1);
      assert.deepEqual(bobC.messages, [m1]);
      let bobView = await conversationOf(a, bob, conv);
      assert.equal(bobView.unread_count, 1);
      assert.equal(bobView.last_read_id, null);

      // Bob reads it over his socket on b; Ann on a gets the receipt.
      assert.equal((await bobC.push("read", { conv, message_id: m1.id })).status, "ok");
      await annC.getsRead({ conversation_id: conv, user_id: bob.id, message_id: m1.id });
      bobView = await conversationOf(a, bob, conv);
      assert.equal(bobView.unread_count, 0);
      assert.equal(bobView.last_read_id, m1.id);
      const annView = await conversationOf(b, ann, conv);
      assert.equal(annView.other_last_read_id, m1.id);
      assert.equal(annView.unread_count, 0);

      // A reply from b to a, which Ann reads over REST on a: Bob's socket
      // on b gets the receipt, and so does hers.
      const m2 = await bobC.send(ann, conv, "hello from node b");
      await annC.gets(m2);
      assert.deepEqual(annC.messages, [m2]);
      await markRead(a, ann, conv, m2.id);
      const annRead = { conversation_id: conv, user_id: ann.id, message_id: m2.id };
      await bobC.getsRead(annRead);
      await annC.getsRead(annRead);

      // Bob goes offline: Ann's presence drops him.
      bobC.socket.disconnect();
      await annC.sees(`${ann.id}:1`);

      // While he is away Ann sends three; node b counts them unread.
      const away = [];
      for (const text of ["while away 1", "while away 2", "while away 3"]) away.push(await annC.send(bob, conv, text));
      bobView = await conversationOf(b, bob, conv);
      assert.equal(bobView.unread_count, 3);
      assert.equal(bobView.last_read_id, m2.id, "sending marked his side read");
      assert.equal((await api(b, "GET", "/api/users/me", null, bob.token)).body.data.unread_total, 3);

      // He comes back through the balancer, on node a this time: phoenix.js
      // rejoins by itself with the cursors the params function returns now,
      // and gets exactly what he missed, in order, before anything live.
      lb.target = a;
      bobC.socket.connect();
      await bobC.joined(2);
      const rejoin = bobC.joins[1];
      assert.equal(rejoin.recovered, 3, JSON.stringify(rejoin));
      assert.deepEqual(rejoin.truncated, []);
      assert.deepEqual(rejoin.read_marks[conv], { [ann.id]: away[2].id, [bob.id]: m2.id }, JSON.stringify(rejoin));
      await bobC.until(() => bobC.messages.length >= 4, () => `recovery: bob holds ${JSON.stringify(bobC.messages.map((m) => m.content))}`);
      assert.deepEqual(bobC.messages.map((m) => m.id), [m1.id, ...away.map((m) => m.id)]);
      assert.deepEqual(bobC.messages.slice(1), away);
      assert.deepEqual(bobC.gaps, []);
      await bobC.sees(...both);
      await annC.sees(...both);

      // Unread over REST: 3 until he reads, on node b, then 0 everywhere;
      // Ann's socket and his own (on a) get the receipt.
      assert.equal((await conversationOf(b, bob, conv)).unread_count, 3);
      await markRead(b, bob, conv, away[2].id);
      const bobRead = { conversation_id: conv, user_id: bob.id, message_id: away[2].id };
      await annC.getsRead(bobRead);
      await bobC.getsRead(bobRead);
      bobView = await conversationOf(a, bob, conv);
      assert.equal(bobView.unread_count, 0);
      assert.equal(bobView.last_read_id, away[2].id);
      assert.equal((await api(a, "GET", "/api/users/me", null, bob.token)).body.data.unread_total, 0);
      assert.equal((await conversationOf(b, ann, conv)).other_last_read_id, away[2].id);

      // Live again: the next message follows the recovered ones, and no
      // recovered one came twice.
      const live = await annC.send(bob, conv, "live again");
      await bobC.gets(live);
      assert.deepEqual(bobC.messages.map((m) => m.content), ["hello from node a", "while away 1", "while away 2", "while away 3", "live again"]);
      assert.deepEqual(bobC.gaps, []);
      assert.deepEqual(annC.gaps, []);
      bobC.socket.disconnect();
      annC.socket.disconnect();
    });

    test("a user with devices on both nodes stays present until the last one leaves", { timeout: 60_000 }, async () => {
      const lea = await newUser("lea", a, b);
      const max = await newUser("max", b, a);
      await openConversation(b, max, lea);
      const leaC = client(a, lea.token);
      await leaC.joined();
      const onB = client(b, max.token);
      await onB.joined();
      await leaC.sees(`${lea.id}:1`, `${max.id}:1`);
      const [refB] = leaC.refs(max.id);
      const onA = client(a, max.token);
      await onA.joined();
      await leaC.sees(`${lea.id}:1`, `${max.id}:2`);
      await onB.sees(`${lea.id}:1`, `${max.id}:2`);

      onA.socket.disconnect();
      await leaC.sees(`${lea.id}:1`, `${max.id}:1`);
      assert.deepEqual(leaC.refs(max.id), [refB], "the device left on node b is the one present");
      await onB.sees(`${lea.id}:1`, `${max.id}:1`);
      onB.socket.disconnect();
      await leaC.sees(`${lea.id}:1`);
      leaC.socket.disconnect();
    });

    test("a conversation opened while both are online brings them into each other's presence on both nodes", { timeout: 60_000 }, async () => {
      const nia = await newUser("nia", a, b);
      const oto = await newUser("oto", b, a);
      const niaC = client(a, nia.token);
      const otoC = client(b, oto.token);
      await niaC.joined();
      await otoC.joined();
      await niaC.sees(`${nia.id}:1`);
      await otoC.sees(`${oto.id}:1`);
      // Opened over REST on node b, where nia has no socket.
      const conv = await openConversation(b, nia, oto);
      for (const c of [niaC, otoC]) await c.until(() => c.created.some((x) => x.id === conv), "conversation_created");
      await niaC.sees(`${nia.id}:1`, `${oto.id}:1`);
      await otoC.sees(`${nia.id}:1`, `${oto.id}:1`);
      niaC.socket.disconnect();
      await otoC.sees(`${oto.id}:1`);
      otoC.socket.disconnect();
    });

    test("logging out on node a closes that token's socket on node b, and only that one", { timeout: 60_000 }, async () => {
      const kai = await newUser("kai", a, b);
      const otherToken = await login(a, kai);
      const out = client(b, kai.token);
      const stays = client(b, otherToken);
      await out.joined();
      await stays.joined();
      assert.equal((await api(a, "POST", "/api/logout", null, kai.token)).status, 204);
      await out.until(() => out.closes.length > 0, "the logged-out token's socket on node b closing");
      out.socket.disconnect();
      assert.deepEqual(out.closes[0], { code: 1008, reason: "logged out" });
      assert.equal((await api(b, "GET", "/api/users/me", null, kai.token)).status, 401);
      await ping(stays);
      assert.deepEqual(stays.closes, []);
      stays.socket.disconnect();
    });

    // Last: it replaces node b.
    test("a deploy: node b stops (SIGTERM), its devices leave node a's presence at once and come back on node a; its successor sees who is online", { timeout: 60_000 }, async (t) => {
      const hal = await newUser("hal", a, b);
      const ivy = await newUser("ivy", b, a);
      const conv = await openConversation(b, ivy, hal);
      const halC = client(a, hal.token);
      await halC.joined();
      lb.target = b;
      const ivyC = client(lb, ivy.token, { reconnect: true });
      await ivyC.joined();
      await halC.sees(`${hal.id}:1`, `${ivy.id}:1`);
      const [onB] = halC.refs(ivy.id);
      const before = await halC.send(ivy, conv, "before the deploy");
      await ivyC.gets(before);

      // The balancer takes node b out first, then it gets SIGTERM. It
      // announces that it leaves: node a drops its devices well before the
      // 15 s in which it would find the node dead by its missing heartbeats.
      lb.target = a;
      const start = performance.now();
      const exited = b.stop();
      await halC.until(() => !halC.refs(ivy.id).includes(onB),
        () => `ivy's device on the stopped node b is still in node a's presence: ${JSON.stringify(halC.presence.state)}`, 8_000);
      const left = Math.round(performance.now() - start);
      assert.equal(await exited, 0, "node b's exit code after SIGTERM");
      const stopped = Math.round(performance.now() - start);

      // Her phoenix.js reconnects through the balancer, to node a, and
      // rejoins with her cursors.
      await ivyC.joined(2);
      assert.equal(ivyC.joins[1].recovered, 0);
      await halC.until(() => halC.refs(ivy.id).length === 1, "ivy online again, on node a");
      const afterDeploy = await halC.send(ivy, conv, "after the deploy");
      await ivyC.gets(afterDeploy);
      assert.deepEqual(ivyC.messages.map((m) => m.content), ["before the deploy", "after the deploy"]);
      assert.deepEqual(ivyC.gaps, []);
      assert.deepEqual(ivyC.closes.map((c) => c.code), [1001]);
      t.diagnostic(`${broker}: node b's device left node a's presence ${left} ms after SIGTERM; node b exited after ${stopped} ms`);

      // Node b's successor starts: a device on it sees who is on node a,
      // and node a sees it.
      b2 = await startNode(`e2e-${broker}-b2`, settings);
      const ivy2 = client(b2, ivy.token);
      await ivy2.joined();
      await ivy2.sees(`${hal.id}:1`, `${ivy.id}:2`);
      await halC.sees(`${hal.id}:1`, `${ivy.id}:2`);
      const onB2 = ivy2.refs(ivy.id).filter((r) => !halC.refs(ivy.id).includes(r));
      assert.deepEqual(onB2, [], "node a and node b's successor agree on ivy's devices");
      const toBoth = await halC.send(ivy, conv, "to both devices");
      await ivy2.gets(toBoth);
      await ivyC.gets(toBoth);
      ivy2.socket.disconnect();
      await halC.sees(`${hal.id}:1`, `${ivy.id}:1`);
      ivyC.socket.disconnect();
      halC.socket.disconnect();
    });
  });
}
