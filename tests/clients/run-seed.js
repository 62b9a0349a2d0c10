// Runs the ioredis guide's publisher.js and subscriber.js (tests/clients/seed, verbatim from the seed
// document) against REDIS_PORT for a few seconds and checks what the subscriber printed.
const { spawn } = require("child_process");
const assert = require("assert");
const path = require("path");

function start(file) {
  const child = spawn(process.execPath, ["-r", path.join(__dirname, "port-hook.js"), path.join(__dirname, "seed", file)], {
    env: process.env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.out = "";
  child.stdout.on("data", (d) => (child.out += d));
  child.stderr.on("data", (d) => (child.out += d));
  return child;
}

// Event-driven rather than timed, so a loaded machine cannot make it flaky: the publisher starts once the
// subscriber has confirmed its subscription, runs until it has printed three publishes, and the subscriber
// then gets 800 ms for the last one to arrive. 20 s is the overall deadline.
function waitFor(cond, what, then) {
  const deadline = Date.now() + 20000;
  const timer = setInterval(() => {
    if (cond()) {
      clearInterval(timer);
      then();
    } else if (Date.now() > deadline) {
      clearInterval(timer);
      sub.kill();
      if (pub) pub.kill();
      assert.fail(`timed out waiting for ${what}:\n${sub.out}\n${pub ? pub.out : ""}`);
    }
  }, 20);
}

const publishedLines = (out) => out.split("\n").map((l) => /^Published \{ foo: ([0-9.e-]+) \} to (my-channel-[12])$/.exec(l)).filter(Boolean);
const sub = start("subscriber.js");
let pub = null;
waitFor(() => /Subscribed successfully!/.test(sub.out), "the subscription", () => {
  pub = start("publisher.js");
  waitFor(() => publishedLines(pub.out).length >= 3, "three publishes", () => {
    // The third PUBLISH is printed as it is sent: give it 300 ms to leave (the next comes a second later).
    setTimeout(() => pub.kill(), 300);
    setTimeout(() => {
      sub.kill();
      // Node prints the object with %s as "{ foo: 0.123 }".
      const published = publishedLines(pub.out);
      const received = sub.out.split("\n").filter((l) => l.startsWith("Received "));
      const buffers = sub.out.split("\n").filter((l) => l.startsWith("<Buffer "));
      console.log(sub.out);
      assert.match(sub.out, /Subscribed successfully! This client is currently subscribed to 2 channels\./);
      assert.ok(published.length >= 3, `publisher printed ${published.length} lines:\n${pub.out}`);
      assert.strictEqual(received.length, published.length, "every published message is received once");
      received.forEach((line, i) => {
        const m = /^Received (\{.*\}) from (my-channel-[12])$/.exec(line);
        assert.ok(m, line);
        // Same values, same channels, same order as published.
        assert.strictEqual(JSON.parse(m[1]).foo, Number(published[i][1]));
        assert.strictEqual(m[2], published[i][2]);
      });
      // messageBuffer fires for every message too, with channel and message as Buffers.
      assert.strictEqual(buffers.length, published.length);
      console.log(`seed ok: ${published.length} published, ${received.length} received`);
    }, 800);
  });
});
