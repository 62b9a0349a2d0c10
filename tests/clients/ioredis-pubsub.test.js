// ioredis against the server under test (REDIS_PORT): subscriber mode, counts, buffers, patterns (seed 000).
const { test } = require("node:test");
const assert = require("node:assert");
const Redis = require("ioredis");

const port = Number(process.env.REDIS_PORT);
const connect = (opts = {}) => new Redis({ port, lazyConnect: false, ...opts });
const once = (emitter, event) => new Promise((resolve) => emitter.once(event, (...args) => resolve(args)));

test("subscribe reports the running count and delivers messages in publish order", async () => {
  const sub = connect();
  const pub = connect();
  try {
    const counts = [];
    await new Promise((resolve, reject) =>
      sub.subscribe("my-channel-1", "my-channel-2", (err, count) => (err ? reject(err) : resolve(counts.push(count)))),
    );
    assert.deepStrictEqual(counts, [2]);
    const got = [];
    const done = new Promise((resolve) =>
      sub.on("message", (channel, message) => {
        got.push(`${channel}:${message}`);
        if (got.length === 100) resolve();
      }),
    );
    for (let i = 0; i < 100; i++) {
      const receivers = await pub.publish(i % 2 ? "my-channel-1" : "my-channel-2", String(i));
      assert.strictEqual(receivers, 1);
    }
    await done;
    assert.deepStrictEqual(got, [...Array(100).keys()].map((i) => `${i % 2 ? "my-channel-1" : "my-channel-2"}:${i}`));
  } finally {
    sub.disconnect();
    pub.disconnect();
  }
});

test("messageBuffer carries binary payloads unchanged", async () => {
  const sub = connect();
  const pub = connect();
  try {
    await sub.subscribe("bin");
    const payload = Buffer.from([0, 255, 13, 10, 42, 128]);
    const received = once(sub, "messageBuffer");
    await pub.publish("bin", payload);
    const [channel, message] = await received;
    assert.ok(Buffer.isBuffer(channel) && Buffer.isBuffer(message));
    assert.strictEqual(channel.toString(), "bin");
    assert.ok(message.equals(payload));
  } finally {
    sub.disconnect();
    pub.disconnect();
  }
});

test("psubscribe pat?ern delivers pmessage and pmessageBuffer", async () => {
  const redis = connect();
  const pub = connect();
  try {
    const count = await new Promise((resolve, reject) => redis.psubscribe("pat?ern", (err, n) => (err ? reject(err) : resolve(n))));
    assert.strictEqual(count, 1);
    const pm = once(redis, "pmessage");
    const pmb = once(redis, "pmessageBuffer");
    assert.strictEqual(await pub.publish("patxern", "hello"), 1);
    assert.deepStrictEqual(await pm, ["pat?ern", "patxern", "hello"]);
    const [pattern, channel, message] = await pmb;
    assert.strictEqual(pattern.toString() + channel.toString() + message.toString(), "pat?ernpatxernhello");
    assert.strictEqual(await pub.publish("pattern-no", "x"), 0);
  } finally {
    redis.disconnect();
    pub.disconnect();
  }
});

test("unsubscribing everything returns the connection to normal mode", async () => {
  const sub = connect();
  try {
    await sub.subscribe("a", "b");
    await sub.psubscribe("c*");
    // (ioredis waits forever on an argument-less unsubscribe() while patterns remain, against real Redis
    // too, so the names are given.)
    assert.strictEqual(await sub.unsubscribe("a", "b"), 1);
    assert.strictEqual(await sub.punsubscribe("c*"), 0);
    assert.strictEqual(await sub.ping(), "PONG");
    assert.strictEqual(await sub.echo("back"), "back");
  } finally {
    sub.disconnect();
  }
});

test("pubsub introspection through ioredis", async () => {
  const sub = connect();
  const admin = connect();
  try {
    await sub.subscribe("intro-1", "intro-2");
    await sub.psubscribe("intro-*");
    assert.deepStrictEqual((await admin.pubsub("CHANNELS", "intro-*")).sort(), ["intro-1", "intro-2"]);
    assert.deepStrictEqual(await admin.pubsub("NUMSUB", "intro-1", "none"), ["intro-1", 1, "none", 0]);
    assert.ok((await admin.pubsub("NUMPAT")) >= 1);
  } finally {
    sub.disconnect();
    admin.disconnect();
  }
});
