"""redis-py (python3-redis) blocking pops against REDIS_PORT: a consumer thread in BLPOP, timeouts, BZPOPMAX."""
import os
import threading
import time
import redis

port = int(os.environ["REDIS_PORT"])
r = redis.Redis(port=port)
r.delete("q", "z", "src", "dst")

got = []
def consume():
    c = redis.Redis(port=port)
    while True:
        item = c.blpop(["q"], timeout=1)  # (key, value), or None after a second without items
        if item is None:
            return
        got.append(item)

worker = threading.Thread(target=consume)
worker.start()
time.sleep(0.2)
for i in range(25):
    r.rpush("q", f"item {i}")
worker.join(10)
assert not worker.is_alive(), "the consumer timed out and returned"
assert got == [(b"q", f"item {i}".encode()) for i in range(25)], got

started = time.monotonic()
assert r.brpop(["nothing"], timeout=0.3) is None
assert time.monotonic() - started >= 0.29
assert r.blmove("src", "dst", 0.1, "LEFT", "RIGHT") is None
r.zadd("z", {"a": 1, "b": 2})
assert r.bzpopmax(["z"], timeout=0) == (b"z", b"b", 2.0)
assert r.lmpop(1, "nothing", direction="LEFT") is None
r.rpush("src", "x", "y")
assert r.lmpop(2, "nothing", "src", direction="RIGHT", count=5) == [b"src", [b"y", b"x"]]
print("redis-py blocking ok")
