"""redis-py (python3-redis) Lua scripting against REDIS_PORT: its distributed Lock (Lua scripts run with EVALSHA,
loaded again after SCRIPT FLUSH), a rate limiter registered with register_script, scripts in a pipeline, and
cjson inside a script, in RESP2 and RESP3."""
import os
import redis

port = int(os.environ["REDIS_PORT"])
for protocol in (2, 3):
    try:
        r = redis.Redis(port=port, protocol=protocol)
    except TypeError:  # redis-py before 5.0 speaks RESP2 only
        if protocol == 3:
            continue
        r = redis.Redis(port=port)
    r.delete("room:1:lock", "rate:alice", "doc")
    r.script_flush()

    # redis-py's Lock: acquire, a second holder is refused, extend, release; its scripts are cached by SHA1.
    lock = r.lock("room:1:lock", timeout=10, blocking=False)
    assert lock.acquire(), "the lock was not acquired"
    other = r.lock("room:1:lock", timeout=10, blocking=False)
    assert not other.acquire(), "a second holder acquired the lock"
    assert lock.owned() and not other.owned()
    assert lock.extend(5)
    assert 10 < r.pttl("room:1:lock") <= 15000, r.pttl("room:1:lock")
    assert lock.reacquire()
    r.script_flush()  # the next call gets NOSCRIPT, and redis-py loads the script again
    lock.release()
    assert r.exists("room:1:lock") == 0
    try:
        lock.release()
        raise AssertionError("a released lock was released again")
    except redis.exceptions.LockError:
        pass
    assert other.acquire()
    other.release()

    # A fixed-window rate limiter: INCR, EXPIRE on the first hit, refuse past the limit.
    limiter = r.register_script("""
        local n = redis.call('INCR', KEYS[1])
        if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
        if n > tonumber(ARGV[1]) then return {0, n} end
        return {1, n}
    """)
    results = [limiter(keys=["rate:alice"], args=[3, 60000]) for _ in range(5)]
    assert results == [[1, 1], [1, 2], [1, 3], [0, 4], [0, 5]], results
    assert 0 < r.pttl("rate:alice") <= 60000
    assert r.script_exists(limiter.sha) == [True]

    # Scripts in a transaction pipeline: EVALSHA queued, run by EXEC in order.
    pipe = r.pipeline(transaction=True)
    limiter(keys=["rate:bob"], args=[1, 1000], client=pipe)
    limiter(keys=["rate:bob"], args=[1, 1000], client=pipe)
    pipe.get("rate:bob")
    assert pipe.execute() == [[1, 1], [0, 2], b"2"]
    r.delete("rate:bob")

    # cjson inside a script: a JSON document's field updated in place.
    r.set("doc", '{"name":"room 1","members":3}')
    updated = r.eval("""
        local doc = cjson.decode(redis.call('GET', KEYS[1]))
        doc.members = doc.members + tonumber(ARGV[1])
        redis.call('SET', KEYS[1], cjson.encode(doc))
        return doc.members
    """, 1, "doc", 2)
    assert updated == 5, updated
    assert r.eval("return cjson.decode(redis.call('GET', KEYS[1])).name", 1, "doc") == b"room 1"

    # Errors: a script's error and a command's error raised from it.
    try:
        r.eval("return redis.call('INCR', KEYS[1])", 1, "doc")
        raise AssertionError("INCR of a JSON text succeeded")
    except redis.ResponseError as e:
        assert str(e).startswith("value is not an integer or out of range script: "), str(e)
    try:
        r.evalsha("0" * 40, 0)
        raise AssertionError("an unknown SHA1 ran")
    except redis.exceptions.NoScriptError:
        pass
    r.delete("room:1:lock", "rate:alice", "doc")
print("redis-py scripts ok")
