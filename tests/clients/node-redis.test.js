// node-redis (v5) against the server under test (REDIS_PORT): its connect handshake (CLIENT SETINFO,
// SETNAME), commands, and pub/sub over RESP2 and RESP3.
const { test } = require("node:test");
const assert = require("node:assert");
const { createClient } = require("redis");

const url = `redis://127.0.0.1:${process.env.REDIS_PORT}`;

for (const RESP of [2, 3]) {
  test(`connects and runs commands (RESP${RESP})`, async () => {
    const client = createClient({ url, RESP, name: `node-redis-${RESP}` });
    await client.connect();
    try {
      assert.strictEqual(await client.ping(), "PONG");
      assert.strictEqual(await client.echo("hi"), "hi");
      assert.strictEqual(await client.clientGetName(), `node-redis-${RESP}`);
      const info = await client.sendCommand(["CLIENT", "INFO"]);
      assert.match(String(info), /lib-name=node-redis/);
      assert.match(String(info), new RegExp(`resp=${RESP}`));
    } finally {
      await client.quit();
    }
  });

  test(`subscribe, pSubscribe and publish (RESP${RESP})`, async () => {
    const pub = createClient({ url, RESP });
    const sub = pub.duplicate();
    await pub.connect();
    await sub.connect();
    try {
      const got = [];
      let done;
      const all = new Promise((resolve) => (done = resolve));
      await sub.subscribe("room:chatty", (message, channel) => {
        got.push(`${channel} ${message}`);
        if (got.length === 3) done();
      });
      await sub.pSubscribe("room:*", (message, channel) => {
        got.push(`* ${channel} ${message}`);
        if (got.length === 3) done();
      });
      assert.strictEqual(await pub.publish("room:chatty", "Hello there!"), 2);
      assert.strictEqual(await pub.publish("room:other", "hey"), 1);
      await all;
      assert.deepStrictEqual(got.sort(), ["* room:chatty Hello there!", "* room:other hey", "room:chatty Hello there!"]);
      await sub.unsubscribe("room:chatty");
      await sub.pUnsubscribe("room:*");
      assert.strictEqual(await pub.publish("room:chatty", "gone"), 0);
    } finally {
      await sub.quit();
      await pub.quit();
    }
  });
}
