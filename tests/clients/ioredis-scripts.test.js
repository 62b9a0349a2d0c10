// ioredis against the server under test (REDIS_PORT): Lua scripts as custom commands (defineCommand), the way
// chat and presence services use them: an atomic "record and publish" and a presence sweep.
const { test } = require("node:test");
const assert = require("node:assert");
const Redis = require("ioredis");

const port = Number(process.env.REDIS_PORT);

test("defineCommand records and publishes a chat message atomically, and reloads after SCRIPT FLUSH", async () => {
  const redis = new Redis({ port });
  const sub = new Redis({ port });
  try {
    await redis.del("room:7:backlog");
    redis.defineCommand("say", {
      numberOfKeys: 1,
      lua: `
        local n = redis.call('LPUSH', KEYS[1], ARGV[2])
        redis.call('LTRIM', KEYS[1], 0, tonumber(ARGV[3]) - 1)
        local receivers = redis.call('PUBLISH', ARGV[1], ARGV[2])
        return {n, receivers}`,
    });
    const got = [];
    await sub.subscribe("room:7");
    sub.on("message", (channel, message) => got.push(`${channel}:${message}`));
    assert.deepStrictEqual(await redis.say("room:7:backlog", "room:7", "hello", 2), [1, 1]);
    await redis.script("FLUSH"); // ioredis's EVALSHA now gets NOSCRIPT and sends EVAL
    assert.deepStrictEqual(await redis.say("room:7:backlog", "room:7", "again", 2), [2, 1]);
    assert.deepStrictEqual(await redis.say("room:7:backlog", "room:7", "third", 2), [3, 1]); // LPUSH counts before LTRIM
    assert.deepStrictEqual(await redis.lrange("room:7:backlog", 0, -1), ["third", "again"]);
    await new Promise((r) => setTimeout(r, 100));
    assert.deepStrictEqual(got, ["room:7:hello", "room:7:again", "room:7:third"]);
  } finally {
    redis.disconnect();
    sub.disconnect();
  }
});

test("scripts in a pipeline and in MULTI, with redis.call errors surfaced per command", async () => {
  const redis = new Redis({ port });
  try {
    await redis.del("presence", "counter");
    redis.defineCommand("touch", {
      numberOfKeys: 1,
      lua: "return redis.call('ZADD', KEYS[1], ARGV[1], ARGV[2])",
    });
    redis.defineCommand("sweep", {
      numberOfKeys: 1,
      lua: `
        local gone = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
        if #gone > 0 then redis.call('ZREM', KEYS[1], unpack(gone)) end
        return gone`,
    });
    const piped = await redis.pipeline().touch("presence", 10, "ann").touch("presence", 20, "bo").touch("presence", 30, "cy").exec();
    assert.deepStrictEqual(piped, [[null, 1], [null, 1], [null, 1]]);
    const multi = await redis.multi().sweep("presence", 20).zcard("presence").exec();
    assert.deepStrictEqual(multi, [[null, ["ann", "bo"]], [null, 1]]);
    await redis.set("counter", "not a number");
    const mixed = await redis.pipeline().eval("return redis.call('INCR', KEYS[1])", 1, "counter").eval("return 1 + 1", 0).exec();
    assert.match(mixed[0][0].message, /^ERR value is not an integer or out of range script: [0-9a-f]{40}, on @user_script:1\.$/);
    assert.deepStrictEqual(mixed[1], [null, 2]);
  } finally {
    redis.disconnect();
  }
});

test("EVAL_RO refuses a write; a script sees only the keys it is given", async () => {
  const redis = new Redis({ port });
  try {
    await redis.set("k", "v");
    assert.strictEqual(await redis.eval_ro("return redis.call('GET', KEYS[1])", 1, "k"), "v");
    await assert.rejects(redis.eval_ro("return redis.call('SET', KEYS[1], 'x')", 1, "k"), /Write commands are not allowed from read-only scripts/);
    assert.deepStrictEqual(await redis.eval("return {KEYS[1], ARGV[1], #KEYS, #ARGV}", 1, "a", "b"), ["a", "b", 1, 1]);
  } finally {
    redis.disconnect();
  }
});
