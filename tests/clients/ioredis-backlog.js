// ioredis multi(): the chat backlog recipe (seed 001) against the server under test (REDIS_PORT).
// A subscriber must receive every message, and each EXEC replies [[null, backlog length], [null, receivers]].
const assert = require("node:assert");
const Redis = require("ioredis");

const port = Number(process.env.REDIS_PORT);
(async () => {
  const sub = new Redis({ port });
  const pub = new Redis({ port });
  await sub.subscribe("room:chatty");
  const got = [];
  const all = new Promise((resolve) => sub.on("message", (ch, msg) => { got.push(msg); if (got.length === 50) resolve(); }));
  for (let i = 0; i < 50; i++) {
    const res = await pub.multi().lpush("room:chatty:backlog", `ioredis ${i}`).publish("room:chatty", `ioredis ${i}`).exec();
    assert.deepStrictEqual(res, [[null, i + 1], [null, 1]]);
  }
  await all;
  assert.deepStrictEqual(got, Array.from({ length: 50 }, (_, i) => `ioredis ${i}`));
  const last = await pub.lrange("room:chatty:backlog", 0, 2);
  assert.deepStrictEqual(last, ["ioredis 49", "ioredis 48", "ioredis 47"]);
  sub.disconnect();
  pub.disconnect();
  console.log("ioredis backlog ok");
})().catch((e) => { console.error(e); process.exit(1); });
