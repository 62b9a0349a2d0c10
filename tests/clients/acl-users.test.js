// ACL users with ioredis and node-redis against the server under test (REDIS_PORT): a chat service's own user,
// allowed its rooms' keys and channels only, connects with a username and password, records and publishes,
// subscribes, and is refused everything else with NOPERM; a wrong password is refused at connect.
const { test, before, after } = require("node:test");
const assert = require("node:assert");
const Redis = require("ioredis");
const { createClient } = require("redis");

const port = Number(process.env.REDIS_PORT);
const admin = new Redis({ port });
const once = (emitter, event) => new Promise((resolve) => emitter.once(event, (...args) => resolve(args)));

before(async () => {
  // (INFO for ioredis's ready check, CLIENT for node-redis's handshake, HELLO is always allowed.)
  await admin.call("ACL", "SETUSER", "chat", "reset", "on", ">s3cret", "~room:*", "&room:*",
    "+@pubsub", "+@list", "+multi", "+exec", "+ping", "+info", "+client", "+acl|whoami");
  await admin.del("room:a:backlog", "secret");
});

after(async () => {
  await admin.call("ACL", "DELUSER", "chat");
  await admin.del("room:a:backlog");
  admin.disconnect();
});

test("ioredis: a user records, publishes and subscribes within its rooms only", async () => {
  const pub = new Redis({ port, username: "chat", password: "s3cret" });
  const sub = new Redis({ port, username: "chat", password: "s3cret" });
  try {
    assert.strictEqual(await pub.call("ACL", "WHOAMI"), "chat");
    await sub.subscribe("room:a");
    const message = once(sub, "message");
    const replies = await pub.multi().lpush("room:a:backlog", "hello").publish("room:a", "hello").exec();
    assert.deepStrictEqual(replies, [[null, 1], [null, 1]]);
    assert.deepStrictEqual(await message, ["room:a", "hello"]);
    assert.deepStrictEqual(await pub.lrange("room:a:backlog", 0, -1), ["hello"]);
    await assert.rejects(pub.get("room:a:backlog"), /^ReplyError: NOPERM this user has no permissions to run the 'get' command/);
    await assert.rejects(pub.lpush("secret", "x"), /NOPERM this user has no permissions to access one of the keys used as arguments/);
    await assert.rejects(pub.publish("ops", "x"), /NOPERM this user has no permissions to access one of the channels used as arguments/);
    await assert.rejects(sub.subscribe("ops"), /NOPERM/);
    await sub.psubscribe("room:*"); // a pattern the user was given, as it was given
    await assert.rejects(sub.psubscribe("room:a*"), /NOPERM/, "a pattern is compared with the user's as a string, not matched");
  } finally {
    pub.disconnect();
    sub.disconnect();
  }
});

test("ioredis: a wrong password is refused at connect", async () => {
  const client = new Redis({ port, username: "chat", password: "wrong", retryStrategy: () => null });
  const [error] = await once(client, "error");
  assert.match(String(error), /WRONGPASS invalid username-password pair or user is disabled/);
  client.disconnect();
});

for (const RESP of [2, 3]) {
  test(`node-redis: a user connects with its password and is held to its rooms (RESP${RESP})`, async () => {
    const client = createClient({ url: `redis://127.0.0.1:${port}`, username: "chat", password: "s3cret", RESP });
    await client.connect();
    try {
      assert.strictEqual(await client.sendCommand(["ACL", "WHOAMI"]), "chat");
      assert.strictEqual(await client.lPush("room:a:backlog", `resp${RESP}`), RESP === 2 ? 2 : 3);
      await assert.rejects(client.get("room:a:backlog"), /NOPERM/);
      await assert.rejects(client.publish("ops", "x"), /NOPERM/);
    } finally {
      await client.quit();
    }
  });
}
