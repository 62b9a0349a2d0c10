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

test("a library of functions: FUNCTION LOAD, FCALL in a pipeline and MULTI, FCALL_RO, LIST and DUMP/RESTORE", async () => {
  const redis = new Redis({ port });
  const sub = new Redis({ port });
  try {
    await redis.function("FLUSH");
    await redis.del("room:9:backlog");
    const code = `#!lua name=presence
redis.register_function('say', function(keys, args)
  redis.call('LPUSH', keys[1], args[1])
  return redis.call('PUBLISH', keys[2], args[1])
end)
redis.register_function{function_name='seen', callback=function(keys, args)
  return redis.call('LRANGE', keys[1], 0, -1)
end, flags={'no-writes'}}`;
    assert.strictEqual(await redis.function("LOAD", code), "presence");
    await assert.rejects(redis.function("LOAD", code), /Library 'presence' already exists/);
    assert.strictEqual(await redis.function("LOAD", "REPLACE", code), "presence");
    const got = [];
    await sub.subscribe("room:9");
    sub.on("message", (channel, message) => got.push(message));
    assert.strictEqual(await redis.fcall("say", 2, "room:9:backlog", "room:9", "hi"), 1);
    const piped = await redis.pipeline().fcall("say", 2, "room:9:backlog", "room:9", "p1").fcall_ro("seen", 1, "room:9:backlog").exec();
    assert.deepStrictEqual(piped, [[null, 1], [null, ["p1", "hi"]]]);
    const multi = await redis.multi().fcall("say", 2, "room:9:backlog", "room:9", "m1").fcall("nosuch", 0).exec();
    assert.deepStrictEqual(multi[0], [null, 1]);
    assert.match(multi[1][0].message, /^ERR Function not found$/);
    await assert.rejects(redis.fcall_ro("say", 2, "room:9:backlog", "room:9", "x"), /Can not execute a script with write flag using \*_ro command/);
    const [library] = await redis.function("LIST", "LIBRARYNAME", "pres*");
    assert.deepStrictEqual(library.slice(0, 4), ["library_name", "presence", "engine", "LUA"]);
    const payload = await redis.callBuffer("FUNCTION", "DUMP");
    await redis.function("FLUSH");
    await assert.rejects(redis.fcall("seen", 1, "room:9:backlog"), /Function not found/);
    assert.strictEqual(await redis.function("RESTORE", payload), "OK");
    assert.deepStrictEqual(await redis.fcall_ro("seen", 1, "room:9:backlog"), ["m1", "p1", "hi"]);
    await new Promise((r) => setTimeout(r, 100));
    assert.deepStrictEqual(got, ["hi", "p1", "m1"]);
  } finally {
    await redis.function("FLUSH");
    await redis.del("room:9:backlog");
    redis.disconnect();
    sub.disconnect();
  }
});
