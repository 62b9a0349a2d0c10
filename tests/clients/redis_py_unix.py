# redis-py over the server's Unix socket (unixsocket): commands, a pub/sub round trip, and the client's flag U.
import sys
import redis

path = sys.argv[1]
r = redis.Redis(unix_socket_path=path)
assert r.ping()
r.set("k", "v")
assert r.get("k") == b"v", r.get("k")
p = r.pubsub()
p.subscribe("ch")
assert p.get_message(timeout=2)["type"] == "subscribe"
assert r.publish("ch", "hi") == 1
m = p.get_message(timeout=2)
assert m is not None and m["data"] == b"hi", m
info = r.client_info()
assert "U" in info["flags"] and info["addr"] == path + ":0", info
print("redis-py unix ok")
