// Socket.IO's Redis adapter (@socket.io/redis-adapter) against the server under test (REDIS_PORT): two Socket.IO
// servers in this process share rooms through it, as two nodes of a chat service would. The classic adapter
// (PSUBSCRIBE on "socket.io#/#*", msgpack payloads, request/response channels, PUBSUB NUMSUB) with ioredis and
// with node-redis; the sharded adapter (SSUBSCRIBE, SPUBLISH, PUBSUB SHARDNUMSUB) with node-redis.
const { test } = require("node:test");
const assert = require("node:assert");
const http = require("node:http");
const { Server } = require("socket.io");
const { io: connectClient } = require("socket.io-client");
const { createAdapter, createShardedAdapter } = require("@socket.io/redis-adapter");
const Redis = require("ioredis");
const { createClient } = require("redis");

const port = Number(process.env.REDIS_PORT);
const once = (emitter, event) => new Promise((resolve) => emitter.once(event, (...args) => resolve(args)));
function within(promise, ms, what) {
  let timer;
  const expiry = new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out: ${what}`)), ms)));
  return Promise.race([promise, expiry]).finally(() => clearTimeout(timer));
}

/** A Socket.IO server on an ephemeral port whose adapter is made by makeAdapter; every socket joins "room1". */
async function startNode(makeAdapter) {
  const httpServer = http.createServer();
  const io = new Server(httpServer, { adapter: await makeAdapter() });
  io.on("connection", (socket) => {
    socket.join("room1");
    socket.data.user = socket.handshake.auth.user;
  });
  await new Promise((resolve) => httpServer.listen(0, "127.0.0.1", resolve));
  return { io, url: `http://127.0.0.1:${httpServer.address().port}` };
}

async function ioredisAdapter(cleanup) {
  const pub = new Redis({ port });
  const sub = pub.duplicate();
  cleanup.push(() => pub.quit(), () => sub.quit());
  return createAdapter(pub, sub, { requestsTimeout: 3000 });
}

async function nodeRedisPair(cleanup) {
  const pub = createClient({ socket: { port, host: "127.0.0.1" } });
  const sub = pub.duplicate();
  await Promise.all([pub.connect(), sub.connect()]);
  cleanup.push(() => pub.close(), () => sub.close()); // after pending commands (the adapter's unsubscribe)
  return [pub, sub];
}

const nodeRedisAdapter = async (cleanup) => createAdapter(...(await nodeRedisPair(cleanup)), { requestsTimeout: 3000 });
const shardedAdapter = async (cleanup) => createShardedAdapter(...(await nodeRedisPair(cleanup)));

/**
 * Node A holds the client; node B broadcasts to its room (text and binary), asks every node for its sockets,
 * and sends a server-side event that A acknowledges. Every step must cross the Redis server under test.
 */
async function crossNodeScenario(makeAdapter, { fetchSockets, subscribed }) {
  const cleanup = [];
  try {
    const a = await startNode(() => makeAdapter(cleanup));
    const b = await startNode(() => makeAdapter(cleanup));
    cleanup.push(() => a.io.close(), () => b.io.close());
    a.io.on("ping-nodes", (n, ack) => ack(`a got ${n}`));

    const client = connectClient(a.url, { auth: { user: "ada" }, transports: ["websocket"] });
    cleanup.push(() => client.close());
    await within(once(client, "connect"), 5000, "client connect");
    // The socket is in room1 on A once A has handled the connection.
    await within(
      (async () => {
        while ((await a.io.in("room1").fetchSockets()).length === 0) await new Promise((r) => setTimeout(r, 10));
      })(),
      5000,
      "join on node A",
    );

    // The adapters subscribe without waiting for the server's confirmation; a PUBLISH made before A's
    // subscription is processed reaches nobody (at most once, as in Redis), so wait until the server shows it.
    const probe = new Redis({ port });
    cleanup.push(() => probe.quit());
    const [command, expected] = subscribed;
    await within(
      (async () => {
        while ((await probe.call(...command))[1] !== expected) await new Promise((r) => setTimeout(r, 10));
      })(),
      5000,
      "subscriptions of both nodes",
    );

    const got = [];
    const all = new Promise((resolve) =>
      client.on("chat", (text, bytes) => {
        got.push([text, Buffer.from(bytes)]);
        if (got.length === 20) resolve();
      }),
    );
    for (let i = 0; i < 20; i++) b.io.to("room1").emit("chat", `message ${i}`, Buffer.from([i, 0, 255, 13, 10]));
    await within(all, 5000, "broadcast from node B");
    assert.deepStrictEqual(
      got.map(([text, bytes]) => `${text}|${bytes.toString("hex")}`),
      [...Array(20).keys()].map((i) => `message ${i}|${Buffer.from([i, 0, 255, 13, 10]).toString("hex")}`),
    );

    // A broadcast to a room nobody is in reaches nobody.
    let stray = 0;
    client.on("elsewhere", () => stray++);
    b.io.to("room2").emit("elsewhere");

    if (fetchSockets) {
      const sockets = await within(b.io.in("room1").fetchSockets(), 5000, "fetchSockets from node B");
      assert.deepStrictEqual(
        sockets.map((s) => s.data.user),
        ["ada"],
      );
    }

    const replies = await within(b.io.serverSideEmitWithAck("ping-nodes", 7), 5000, "serverSideEmit");
    assert.deepStrictEqual(replies, ["a got 7"]);

    // Made after everything above: a message B sent to room2 would have arrived before it.
    const last = once(client, "last");
    b.io.to("room1").emit("last");
    await within(last, 5000, "last broadcast");
    assert.strictEqual(stray, 0);
  } finally {
    for (const f of cleanup.reverse()) {
      try {
        await f();
      } catch {
        // already closed
      }
    }
  }
}

// Each node's request channel subscription is made after its pattern subscription, on the same connection.
const bothClassicNodes = [["PUBSUB", "NUMSUB", "socket.io-request#/#"], 2];

test("classic adapter with ioredis: room broadcast, fetchSockets and serverSideEmit across nodes", () =>
  crossNodeScenario(ioredisAdapter, { fetchSockets: true, subscribed: bothClassicNodes }));

test("classic adapter with node-redis: room broadcast, fetchSockets and serverSideEmit across nodes", () =>
  crossNodeScenario(nodeRedisAdapter, { fetchSockets: true, subscribed: bothClassicNodes }));

test("sharded adapter with node-redis (SSUBSCRIBE, SPUBLISH, SHARDNUMSUB)", () =>
  crossNodeScenario(shardedAdapter, {
    fetchSockets: true,
    subscribed: [["PUBSUB", "SHARDNUMSUB", "socket.io#/#room1#"], 1], // A's room channel, made when its socket joined
  }));
