"""redis-py (python3-redis) Lua scripting against REDIS_PORT: its distributed Lock (Lua scripts run with EVALSHA,
loaded again after SCRIPT FLUSH), a rate limiter registered with register_script, scripts in a pipeline, cjson
inside a script, and a library of functions (FUNCTION LOAD, FCALL, FCALL_RO, LIST, DUMP and RESTORE), in RESP2
and RESP3."""
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

    # A chat library of functions: post records and publishes in one call, history reads without writing.
    r.function_flush()
    chat = """#!lua name=chat
local function post(keys, args)
    redis.call('LPUSH', keys[1], args[1])
    redis.call('LTRIM', keys[1], 0, tonumber(args[2]) - 1)
    return redis.call('PUBLISH', keys[2], args[1])
end
redis.register_function('chat_post', post)
redis.register_function{function_name='chat_history', callback=function(keys, args)
    return redis.call('LRANGE', keys[1], 0, tonumber(args[1]) - 1)
end, flags={'no-writes'}, description='the last N messages'}
"""
    assert r.function_load(chat) in (b"chat", "chat")
    sub = r.pubsub()
    sub.subscribe("room:1")
    assert sub.get_message(timeout=5)["type"] == "subscribe"
    assert [r.fcall("chat_post", 2, "room:1:backlog", "room:1", f"m{i}", 3) for i in range(5)] == [1] * 5
    got = [sub.get_message(timeout=5)["data"] for _ in range(5)]
    assert got == [b"m0", b"m1", b"m2", b"m3", b"m4"], got
    sub.close()
    assert r.fcall_ro("chat_history", 1, "room:1:backlog", 10) == [b"m4", b"m3", b"m2"]
    try:
        r.fcall_ro("chat_post", 2, "room:1:backlog", "room:1", "x", 3)
        raise AssertionError("FCALL_RO ran a function that writes")
    except redis.ResponseError as e:
        assert "Can not execute a script with write flag using *_ro command" in str(e), str(e)
    listed = r.function_list(library="ch*")
    assert len(listed) == 1, listed
    library = listed[0] if isinstance(listed[0], dict) else dict(zip(listed[0][::2], listed[0][1::2]))
    assert library[b"library_name"] in (b"chat", "chat"), library
    # In a transaction pipeline, and after FUNCTION DUMP, FLUSH and RESTORE.
    pipe = r.pipeline(transaction=True)
    pipe.fcall("chat_post", 2, "room:1:backlog", "room:1", "m5", 3)
    pipe.fcall_ro("chat_history", 1, "room:1:backlog", 1)
    assert pipe.execute() == [0, [b"m5"]]
    payload = r.function_dump()
    r.function_flush()
    try:
        r.fcall("chat_post", 2, "room:1:backlog", "room:1", "x", 3)
        raise AssertionError("a flushed function ran")
    except redis.ResponseError as e:
        assert str(e) == "Function not found", str(e)
    assert r.function_restore(payload) in (True, b"OK", "OK")
    assert r.fcall_ro("chat_history", 1, "room:1:backlog", 2) == [b"m5", b"m4"]
    r.function_flush()
    r.delete("room:1:backlog")
print("redis-py scripts ok")
