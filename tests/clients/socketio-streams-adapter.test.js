// Socket.IO's Redis Streams adapter (@socket.io/redis-streams-adapter) against the server under test
// (REDIS_PORT): two Socket.IO servers share rooms through one stream. Each node appends with
// XADD socket.io MAXLEN ~ 10000 * and reads with a blocking XREAD BLOCK 5000 COUNT 100 STREAMS socket.io <id>;
// connection state recovery keeps sessions with SET PX and GETDEL and replays what a client missed with XRANGE.
const { test } = require("node:test");
const assert = require("node:assert");
const http = require("node:http");
const { Server } = require("socket.io");
const { io: connectClient } = require("socket.io-client");
const { createAdapter } = require("@socket.io/redis-streams-adapter");
const Redis = require("ioredis");
const { createClient } = require("redis");

const port = Number(process.env.REDIS_PORT);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const once = (emitter, event) => new Promise((resolve) => emitter.once(event, (...args) => resolve(args)));
function within(promise, ms, what) {
  let timer;
  const expiry = new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out: ${what}`)), ms)));
  return Promise.race([promise, expiry]).finally(() => clearTimeout(timer));
}

/** Polls until check() holds; gives up (and stops polling) after ms. */
async function waitFor(check, ms, what) {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await sleep(10);
  }
}

async function ioredisClient(cleanup) {
  const client = new Redis({ port });
  cleanup.push(() => client.disconnect());
  return client;
}

async function nodeRedisClient(cleanup) {
  const client = createClient({ socket: { port, host: "127.0.0.1" } });
  await client.connect();
  cleanup.push(() => client.destroy());
  return client;
}

/**
 * A Socket.IO server whose adapter reads and writes the stream; every socket joins "room1". Its XREAD blocks
 * for 20 s: one that times out is sent again with "$", and what was added in between would be missed (the
 * adapter's own race, with Redis too), so no read may time out during a test; stopNodes wakes them instead.
 */
async function startNode(makeClient, cleanup, options = {}) {
  const httpServer = http.createServer();
  const io = new Server(httpServer, { adapter: createAdapter(await makeClient(cleanup), { blockTimeInMs: 20000 }), ...options });
  io.on("connection", (socket) => socket.join("room1"));
  await new Promise((resolve) => httpServer.listen(0, "127.0.0.1", resolve));
  cleanup.push(async () => {
    await io.close();
    // The closed adapter's reader disconnects once its XREAD returns: an entry without "nsp" (ignored) ends it.
    const waker = new Redis({ port });
    await waker.xadd("socket.io", "*", "wake", "1");
    await waker.quit();
  });
  return { io, url: `http://127.0.0.1:${httpServer.address().port}` };
}

/** The adapters read from "$": wait until both nodes' XREADs are blocked, so nothing appended is missed. */
const bothReading = (probe) => waitFor(async () => /blocked_clients:([2-9]|\d\d)/.test(await probe.info("clients")), 5000, "both nodes blocked in XREAD");

async function crossNodeScenario(makeClient) {
  const cleanup = [];
  try {
    const probe = new Redis({ port });
    cleanup.push(() => probe.quit());
    await probe.del("socket.io");
    const a = await startNode(makeClient, cleanup);
    const b = await startNode(makeClient, cleanup);
    a.io.on("ping-nodes", (n, ack) => ack(`a got ${n}`));
    const client = connectClient(a.url, { transports: ["websocket"] });
    cleanup.push(() => client.close());
    await within(once(client, "connect"), 5000, "client connect");
    await bothReading(probe);

    // B broadcasts to the room; the client, connected to A, receives it in order.
    const got = [];
    client.on("chat", (m) => got.push(m));
    for (let i = 0; i < 20; i++) b.io.to("room1").emit("chat", `m${i}`);
    await waitFor(() => got.length >= 20, 5000, "20 broadcasts");
    assert.deepStrictEqual(got, Array.from({ length: 20 }, (_, i) => `m${i}`));

    // B asks every node for its sockets (a request and its response through the stream).
    const sockets = await within(b.io.in("room1").fetchSockets(), 5000, "fetchSockets");
    assert.strictEqual(sockets.length, 1);
    assert.strictEqual(sockets[0].id, client.id);

    // A server-side event from B that A acknowledges.
    const replies = await within(b.io.serverSideEmitWithAck("ping-nodes", 7), 5000, "serverSideEmitWithAck");
    assert.deepStrictEqual(replies, ["a got 7"]);

    // The broadcasts went through the stream, one entry each (requests and responses go by PUBLISH).
    assert.strictEqual(await probe.type("socket.io"), "stream");
    assert.strictEqual(await probe.xlen("socket.io"), 20);
    const [[id, fields]] = await probe.xrange("socket.io", "-", "+", "COUNT", 1);
    assert.match(id, /^\d+-\d+$/);
    assert.ok(fields.includes("nsp") && fields.includes("uid"), `fields ${fields}`);
  } finally {
    for (const close of cleanup.reverse()) await close();
  }
}

test("ioredis: broadcasts, fetchSockets and acknowledged events cross two nodes through the stream", { timeout: 20000 }, () => crossNodeScenario(ioredisClient));

test("node-redis: broadcasts, fetchSockets and acknowledged events cross two nodes through the stream", { timeout: 20000 }, () => crossNodeScenario(nodeRedisClient));

test("connection state recovery: a client that drops gets what it missed from the stream", { timeout: 20000 }, async () => {
  const cleanup = [];
  try {
    const probe = new Redis({ port });
    cleanup.push(() => probe.quit());
    await probe.del("socket.io");
    const recovery = { connectionStateRecovery: { maxDisconnectionDuration: 10000 } };
    const a = await startNode(ioredisClient, cleanup, recovery);
    const b = await startNode(ioredisClient, cleanup, recovery);
    const client = connectClient(a.url, { transports: ["websocket"], reconnectionDelay: 50, reconnectionDelayMax: 50 });
    cleanup.push(() => client.close());
    const got = [];
    client.on("chat", (m) => got.push(m));
    await within(once(client, "connect"), 5000, "client connect");
    await bothReading(probe);
    b.io.to("room1").emit("chat", "before");
    await waitFor(() => got.length >= 1, 5000, "first message");

    // The transport drops; A keeps the session in Redis (SET sio:session:<id> PX ...) while B goes on broadcasting.
    const sessionKeys = () => probe.keys("sio:session:*");
    client.io.engine.close();
    await waitFor(async () => (await sessionKeys()).length > 0, 5000, "session stored");
    b.io.to("room1").emit("chat", "missed1");
    b.io.to("room1").emit("chat", "missed2");

    // On reconnecting, A takes the session back (GETDEL) and replays the stream from its offset (XRANGE).
    await within(once(client, "connect"), 5000, "reconnect");
    await waitFor(() => got.length >= 3, 5000, "missed messages");
    assert.strictEqual(client.recovered, true);
    assert.deepStrictEqual(got, ["before", "missed1", "missed2"]);
  } finally {
    for (const close of cleanup.reverse()) await close();
  }
});
