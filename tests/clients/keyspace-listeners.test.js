// Keyspace-notification listeners as ioredis and node-redis (v5, RESP2 and RESP3) users write them, against
// REDIS_PORT. The test suite runs this file against our server and against real redis-server.
const { test } = require("node:test");
const assert = require("node:assert");
const Redis = require("ioredis");
const { createClient } = require("redis");

const port = Number(process.env.REDIS_PORT);
const url = `redis://127.0.0.1:${port}`;

/** Resolves once `count()` reaches `n`, or rejects after `ms` with what arrived so far. */
const until = (count, n, ms, what) =>
  new Promise((resolve, reject) => {
    const deadline = Date.now() + ms;
    const poll = () => (count() >= n ? resolve() : Date.now() > deadline ? reject(new Error(`${what()}`)) : setTimeout(poll, 5));
    poll();
  });

test("ioredis: an expiration listener hears every key that expires unread, once", async () => {
  const cmd = new Redis({ port });
  const sub = new Redis({ port });
  try {
    await cmd.flushall();
    await cmd.config("SET", "notify-keyspace-events", "Ex");
    const expired = [];
    sub.on("pmessage", (pattern, channel, key) => expired.push(`${pattern} ${channel} ${key}`));
    assert.strictEqual(await sub.psubscribe("__keyevent@0__:expired"), 1);
    const keys = [...Array(30).keys()].map((i) => `cache:${i}`);
    for (const [i, k] of keys.entries()) await cmd.set(k, "v", "PX", 20 + ((i * 37) % 250));
    await until(() => expired.length, 30, 5000, () => expired);
    await new Promise((r) => setTimeout(r, 300));
    assert.deepStrictEqual(expired.sort(), keys.map((k) => `__keyevent@0__:expired __keyevent@0__:expired ${k}`).sort());
    assert.strictEqual(await cmd.dbsize(), 0);
  } finally {
    sub.disconnect();
    cmd.disconnect();
  }
});

test("ioredis: a MULTI's keyspace events arrive in command order", async () => {
  const cmd = new Redis({ port });
  const sub = new Redis({ port });
  try {
    await cmd.config("SET", "notify-keyspace-events", "K$gl");
    const events = [];
    sub.on("message", (channel, event) => events.push(`${channel.split(":").slice(1).join(":")} ${event}`));
    await sub.subscribe("__keyspace@0__:room:1:backlog", "__keyspace@0__:room:1:last");
    const replies = await cmd
      .multi()
      .lpush("room:1:backlog", "hello")
      .ltrim("room:1:backlog", 0, 99)
      .set("room:1:last", "hello")
      .expire("room:1:last", 60)
      .publish("room:1", "hello")
      .del("room:1:last")
      .exec();
    assert.deepStrictEqual(replies, [[null, 1], [null, "OK"], [null, "OK"], [null, 1], [null, 0], [null, 1]]);
    await until(() => events.length, 5, 2000, () => events);
    await new Promise((r) => setTimeout(r, 100));
    assert.deepStrictEqual(events, [
      "room:1:backlog lpush",
      "room:1:backlog ltrim", // announced though nothing was trimmed, as Redis does
      "room:1:last set",
      "room:1:last expire",
      "room:1:last del",
    ]);
  } finally {
    sub.disconnect();
    cmd.disconnect();
  }
});

for (const RESP of [2, 3]) {
  test(`node-redis: pSubscribe to another database's keyevents (RESP${RESP})`, async () => {
    const client = createClient({ url, RESP, database: 5 });
    const sub = createClient({ url, RESP });
    await client.connect();
    await sub.connect();
    try {
      await client.configSet("notify-keyspace-events", "Egx");
      const events = [];
      await sub.pSubscribe("__keyevent@5__:*", (key, channel) => events.push(`${channel} ${key}`));
      await client.set("presence:alice", "online", { PX: 1000 }); // long enough to be renamed first on a loaded machine
      await client.set("presence:bob", "online");
      await client.expire("presence:bob", 0); // a TTL in the past deletes the key: "del", not "expired"
      await client.rename("presence:alice", "presence:carol");
      await until(() => events.length, 5, 6000, () => events);
      await new Promise((r) => setTimeout(r, 100));
      assert.deepStrictEqual(events, [
        "__keyevent@5__:expire presence:alice",
        "__keyevent@5__:del presence:bob",
        "__keyevent@5__:rename_from presence:alice",
        "__keyevent@5__:rename_to presence:carol",
        "__keyevent@5__:expired presence:carol",
      ]);
      assert.strictEqual(await client.dbSize(), 0);
    } finally {
      await sub.quit();
      await client.quit();
    }
  });
}
