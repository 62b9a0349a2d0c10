"""redis-py (python3-redis) with an ACL user against REDIS_PORT: a service's own user with a password, held to
its keys; a transaction (pipeline) whose queued command is refused is discarded whole (EXECABORT); AUTH with a
wrong password raises; the user's connections are closed when it is deleted."""
import os
import redis

port = int(os.environ["REDIS_PORT"])
admin = redis.Redis(port=port)
admin.acl_setuser("svc", enabled=True, reset=True, passwords=["+pw"], keys=["cache:*"],
                  commands=["+get", "+set", "+del", "+multi", "+exec", "+ping", "+acl|whoami"])
admin.delete("cache:a", "other")
try:
    r = redis.Redis(port=port, username="svc", password="pw")
    assert r.execute_command("ACL", "WHOAMI") == b"svc"
    assert r.set("cache:a", "1") is True
    assert r.get("cache:a") == b"1"
    try:
        r.set("other", "1")
        raise AssertionError("a key outside the user's patterns was written")
    except redis.exceptions.NoPermissionError as e:
        assert "no permissions to access one of the keys" in str(e), e
    try:
        r.incr("cache:a")  # (redis-py sends INCRBY)
        raise AssertionError("a command the user does not have ran")
    except redis.exceptions.NoPermissionError as e:
        assert "no permissions to run the 'incrby' command" in str(e), e

    pipe = r.pipeline(transaction=True)
    pipe.set("cache:a", "2").set("other", "2")
    try:
        pipe.execute()
        raise AssertionError("a transaction with a refused command ran")
    except redis.exceptions.ResponseError as e:
        assert "(SET other 2) of pipeline caused error: this user has no permissions to access one of the keys" in str(e), e
    assert admin.get("cache:a") == b"1" and admin.get("other") is None, "nothing of the transaction ran"

    info = admin.acl_getuser("svc")
    assert info["enabled"] is True and info["keys"] == ["~cache:*"], info

    try:
        redis.Redis(port=port, username="svc", password="wrong").ping()
        raise AssertionError("a wrong password was accepted")
    except (redis.exceptions.AuthenticationError, redis.exceptions.ResponseError) as e:
        assert "WRONGPASS" in str(e) or isinstance(e, redis.exceptions.AuthenticationError), e

    assert admin.acl_deluser("svc") == 1
    try:
        r.ping()
        r.ping()
        raise AssertionError("a deleted user's connection still runs commands")
    except (redis.exceptions.ConnectionError, redis.exceptions.AuthenticationError, redis.exceptions.ResponseError) as e:
        # closed; redis-py reconnects once, and the user is gone: WRONGPASS
        assert isinstance(e, redis.exceptions.ConnectionError) or "WRONGPASS" in str(e), e
    print("redis-py acl ok")
finally:
    admin.acl_deluser("svc")
    admin.delete("cache:a", "other")
