"""redis-py (python3-redis) consumer groups against REDIS_PORT: a work queue on a stream.

Three workers share group "workers" with XREADGROUP BLOCK and XACK what they processed; a fourth reads
jobs and dies without acknowledging them; a rescuer takes those over with XAUTOCLAIM once they have been
idle long enough. Every job must be processed exactly once, and nothing left pending.
"""
import os
import threading
import time
import redis

port = int(os.environ["REDIS_PORT"])
r = redis.Redis(port=port)
r.delete("jobs")
r.xgroup_create("jobs", "workers", id="$", mkstream=True)
assert r.xinfo_groups("jobs")[0]["name"] == b"workers"

# The worker that dies: it takes 5 jobs and never acknowledges them.
for i in range(5):
    r.xadd("jobs", {"job": f"early {i}"})
taken = r.xreadgroup("workers", "doomed", {"jobs": ">"}, count=5)
assert len(taken[0][1]) == 5, taken
doomed_ids = [entry_id for entry_id, _ in taken[0][1]]
pending = r.xpending("jobs", "workers")
assert pending["pending"] == 5 and pending["consumers"] == [{"name": b"doomed", "pending": 5}], pending

done = []
lock = threading.Lock()


def work(name):
    c = redis.Redis(port=port)
    while True:
        reply = c.xreadgroup("workers", name, {"jobs": ">"}, count=3, block=500)
        if not reply:
            return  # half a second without a job: the queue is drained
        for entry_id, fields in reply[0][1]:
            with lock:
                done.append(fields[b"job"].decode())
            assert c.xack("jobs", "workers", entry_id) == 1


workers = [threading.Thread(target=work, args=(f"w{n}",)) for n in range(3)]
for w in workers:
    w.start()
time.sleep(0.1)
for i in range(60):
    r.xadd("jobs", {"job": f"job {i}"})
for w in workers:
    w.join(10)
    assert not w.is_alive(), "a worker was left blocked"
assert sorted(done) == sorted(f"job {i}" for i in range(60)), done

# The rescuer claims what the dead worker held once it has been idle for 200 ms, 2 at a time.
assert r.xautoclaim("jobs", "workers", "rescuer", min_idle_time=60000, start_id="0-0")[1] == []
time.sleep(0.25)
rescued = []
cursor = "0-0"
while True:
    cursor, entries, *deleted = r.xautoclaim("jobs", "workers", "rescuer", min_idle_time=200, start_id=cursor, count=2)
    for entry_id, fields in entries:
        rescued.append(entry_id)
        assert r.xack("jobs", "workers", entry_id) == 1
    if cursor in (b"0-0", "0-0"):
        break
assert rescued == doomed_ids, (rescued, doomed_ids)

detail = r.xpending_range("jobs", "workers", min="-", max="+", count=10)
assert detail == [], detail
consumers = {c["name"]: c["pending"] for c in r.xinfo_consumers("jobs", "workers")}
assert consumers[b"doomed"] == 0 and consumers[b"rescuer"] == 0, consumers
group = r.xinfo_groups("jobs")[0]
assert group["pending"] == 0 and group["last-delivered-id"] == r.xinfo_stream("jobs")["last-generated-id"], group
assert r.xgroup_delconsumer("jobs", "workers", "doomed") == 0
assert r.xgroup_destroy("jobs", "workers") == 1
print("redis-py stream groups ok")
