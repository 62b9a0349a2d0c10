"""redis-py (python3-redis) keyspace-notification listeners against REDIS_PORT, as its users write them:
key expiration listeners (keys nobody reads again, in two databases), a key's keyspace channel, a handler
thread over keyevent channels, and notifications switched off. Run by the test suite against our server and
against real redis-server, so every expectation here is Redis's behaviour."""
import os
import random
import time
import redis

port = int(os.environ["REDIS_PORT"])
r = redis.Redis(port=port)
r3 = redis.Redis(port=port, db=3)
r.flushall()


def drain(p, want, seconds):
    """Messages of pubsub p (subscribe confirmations skipped) until `want` arrived or `seconds` passed."""
    got, deadline = [], time.monotonic() + seconds
    while len(got) < want and time.monotonic() < deadline:
        m = p.get_message(ignore_subscribe_messages=True, timeout=0.1)
        if m is not None:
            got.append(m)
    return got


# The flags read back as Redis normalises them.
r.config_set("notify-keyspace-events", "Ex")
assert r.config_get("notify-keyspace-events") == {"notify-keyspace-events": "xE"}, r.config_get("notify-keyspace-events")

# An expiration listener: keys with short TTLs, never read again, each announced once by active expiry.
p = r.pubsub()
p.psubscribe("__keyevent@*__:expired")
assert p.get_message(timeout=1)["type"] == "psubscribe"
keys = [f"session:{i}" for i in range(40)]
for k in keys:
    r.set(k, "token", px=random.randint(20, 300))
r3.set("db3:key", "v", px=50)
got = drain(p, 41, 5)
assert len(got) == 41, got
assert all(m["type"] == "pmessage" and m["pattern"] == b"__keyevent@*__:expired" for m in got), got
db0 = sorted(m["data"].decode() for m in got if m["channel"] == b"__keyevent@0__:expired")
db3 = [m["data"] for m in got if m["channel"] == b"__keyevent@3__:expired"]
assert db0 == sorted(keys), db0
assert db3 == [b"db3:key"], got
assert r.dbsize() == 0 and r3.dbsize() == 0
assert drain(p, 1, 0.3) == []  # each key once
p.close()

# A key's own channel (K) with every event class (A): the events of its life, in order.
r.config_set("notify-keyspace-events", "KA")
p = r.pubsub()
p.subscribe("__keyspace@0__:user:1")
assert p.get_message(timeout=1)["type"] == "subscribe"
r.set("user:1", "a")
r.expire("user:1", 100)
r.persist("user:1")
r.append("user:1", "b")
r.incr("other")  # another key: not on this channel
r.rename("user:1", "user:2")
r.set("user:1", "5")
r.incrbyfloat("user:1", 1.5)
r.getdel("user:1")
got = drain(p, 8, 2)
assert [m["data"] for m in got] == [b"set", b"expire", b"persist", b"append", b"rename_from", b"set", b"incrbyfloat", b"del"], got
assert all(m["channel"] == b"__keyspace@0__:user:1" for m in got), got
p.close()

# Keyevent channels (E) with generic, string and expired events (g$x), read by redis-py's handler thread.
r.config_set("notify-keyspace-events", "Eg$x")
events = []
p = r.pubsub(ignore_subscribe_messages=True)
p.psubscribe(**{"__keyevent@0__:*": lambda m: events.append((m["channel"].decode().split(":", 1)[1], m["data"].decode()))})
worker = p.run_in_thread(sleep_time=0.01)
time.sleep(0.2)
r.set("a", "1")
r.lpush("list", "x")  # a list event: not in these classes
r.expire("a", 100)
r.copy("a", "b")
r.delete("a", "b", "missing")
r.set("c", "1", px=1)  # set, then expire (SET with a TTL announces both)
time.sleep(0.1)
assert r.get("c") is None  # expired: announced by the lookup, or by active expiry before it
deadline = time.monotonic() + 2
while len(events) < 8 and time.monotonic() < deadline:
    time.sleep(0.01)
worker.stop()
worker.join(2)
assert events == [("set", "a"), ("expire", "a"), ("copy_to", "b"), ("del", "a"), ("del", "b"), ("set", "c"), ("expire", "c"), ("expired", "c")], events
p.close()

# Switched off: a listener hears nothing.
r.config_set("notify-keyspace-events", "")
p = r.pubsub()
p.psubscribe("__key*__:*")
assert p.get_message(timeout=1)["type"] == "psubscribe"
r.set("quiet", "1", px=20)
r.delete("list")
time.sleep(0.2)
assert drain(p, 1, 0.3) == [], "notifications were off"
p.close()
print("redis-py keyspace ok")
