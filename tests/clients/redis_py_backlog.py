"""redis-py (python3-redis) pipeline(transaction=True): the chat backlog recipe against REDIS_PORT."""
import os
import redis

r = redis.Redis(port=int(os.environ["REDIS_PORT"]))
p = r.pubsub()
p.subscribe("room:chatty")
assert p.get_message(timeout=5)["type"] == "subscribe"
for i in range(50):
    pipe = r.pipeline(transaction=True)
    pipe.lpush("room:chatty:backlog", f"redis-py {i}")
    pipe.publish("room:chatty", f"redis-py {i}")
    assert pipe.execute() == [i + 1, 1], "EXEC replies the list length and the receiver count"
for i in range(50):
    m = p.get_message(timeout=5)
    assert m is not None and m["type"] == "message" and m["data"] == f"redis-py {i}".encode(), m
assert r.lrange("room:chatty:backlog", 0, 1) == [b"redis-py 49", b"redis-py 48"]
# WATCH: a concurrent change makes the transaction fail, as in Redis.
with r.pipeline(transaction=True) as pipe:
    pipe.watch("room:chatty:backlog")
    r.lpush("room:chatty:backlog", "intruder")
    pipe.multi()
    pipe.lpush("room:chatty:backlog", "never")
    try:
        pipe.execute()
        raise AssertionError("EXEC should have failed")
    except redis.WatchError:
        pass
print("redis-py backlog ok")
