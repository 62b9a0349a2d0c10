// ioredis against the server under test (REDIS_PORT): blocking pops as a work queue and with timeouts.
const { test } = require("node:test");
const assert = require("node:assert");
const Redis = require("ioredis");

const port = Number(process.env.REDIS_PORT);
const connect = () => new Redis({ port, lazyConnect: false });

test("workers blocked in BRPOP each take distinct jobs, every job exactly once", async () => {
  const workers = [connect(), connect(), connect()];
  const producer = connect();
  try {
    await producer.del("jobs");
    const taken = [];
    const work = workers.map(async (w, i) => {
      for (;;) {
        const got = await w.brpop("jobs", 2); // [key, job], or null after 2 s without jobs
        if (got === null) return;
        assert.strictEqual(got[0], "jobs");
        taken.push(`${got[1]}@${i}`);
      }
    });
    // Let every worker block first, then push one job at a time and in batches.
    await new Promise((r) => setTimeout(r, 200));
    const info = await producer.info("clients");
    assert.match(info, /blocked_clients:3\r\n/);
    for (let i = 0; i < 20; i++) await producer.lpush("jobs", `job${i}`);
    await producer.lpush("jobs", ...Array.from({ length: 20 }, (_, i) => `job${20 + i}`));
    await Promise.all(work);
    const jobs = taken.map((t) => t.split("@")[0]).sort();
    assert.deepStrictEqual(jobs, Array.from({ length: 40 }, (_, i) => `job${i}`).sort());
    assert.ok(new Set(taken.map((t) => t.split("@")[1])).size > 1, "more than one worker took jobs");
    assert.strictEqual(await producer.exists("jobs"), 0);
  } finally {
    for (const w of workers) w.disconnect();
    producer.disconnect();
  }
});

test("BLMOVE and BZPOPMIN time out with null, and are served by a later push", async () => {
  const a = connect();
  const b = connect();
  try {
    await b.del("src", "dst", "z");
    const started = Date.now();
    assert.strictEqual(await a.blmove("src", "dst", "LEFT", "RIGHT", 0.2), null);
    assert.ok(Date.now() - started >= 190, "waited for the timeout");
    const moved = a.blmove("src", "dst", "LEFT", "RIGHT", 0);
    await new Promise((r) => setTimeout(r, 100));
    await b.rpush("src", "m1", "m2");
    assert.strictEqual(await moved, "m1");
    assert.deepStrictEqual(await b.lrange("dst", 0, -1), ["m1"]);
    assert.strictEqual(await a.bzpopmin("z", 0.1), null);
    const popped = a.bzpopmin("z", 0);
    await new Promise((r) => setTimeout(r, 100));
    await b.zadd("z", 2, "two", 1, "one");
    assert.deepStrictEqual(await popped, ["z", "one", "1"]);
  } finally {
    a.disconnect();
    b.disconnect();
  }
});

test("commands pipelined behind a blocked BLPOP run after it, in order", async () => {
  const a = connect();
  const b = connect();
  try {
    await b.del("q", "n");
    const results = a.pipeline().blpop("q", 0).incr("n").get("n").exec();
    await new Promise((r) => setTimeout(r, 150));
    assert.strictEqual(await b.get("n"), null, "nothing behind the BLPOP ran yet");
    await b.rpush("q", "v");
    assert.deepStrictEqual(await results, [[null, ["q", "v"]], [null, 1], [null, "1"]]);
  } finally {
    a.disconnect();
    b.disconnect();
  }
});
