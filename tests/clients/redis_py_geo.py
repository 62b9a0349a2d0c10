"""redis-py (python3-redis) geo commands against REDIS_PORT: users' positions in a presence index, found by
radius and by box, with redis-py's own parsing of WITHDIST / WITHCOORD / WITHHASH replies."""
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
    r.delete("presence", "near")
    assert r.geoadd("presence", [13.361389, 38.115556, "alice", 15.087269, 37.502669, "bob", 2.3522, 48.8566, "carol"]) == 3
    assert r.geoadd("presence", [13.361389, 38.115556, "alice"], nx=True) == 0
    assert r.geoadd("presence", [13.4, 38.1, "alice"], xx=True, ch=True) == 1

    (lon, lat), missing = r.geopos("presence", "bob", "nobody")
    assert missing is None
    assert abs(lon - 15.087269) < 1e-5 and abs(lat - 37.502669) < 1e-5, (lon, lat)
    assert r.geohash("presence", "bob") == ["sqdtr74hyu0"], r.geohash("presence", "bob")

    km = r.geodist("presence", "alice", "bob", unit="km")
    assert 160 < km < 170, km
    assert r.geodist("presence", "alice", "nobody") is None

    near = r.geosearch("presence", longitude=15, latitude=37, radius=200, unit="km", withdist=True, withcoord=True, withhash=True, sort="ASC")
    assert [n[0] for n in near] == [b"bob", b"alice"], near
    name, dist, hashed, (plon, plat) = near[0]
    assert 0 < dist < 100 and isinstance(hashed, int) and abs(plon - 15.087269) < 1e-5, near[0]

    boxed = r.geosearch("presence", member="alice", width=2000, height=2000, unit="km", sort="ASC", count=2)
    assert boxed == [b"alice", b"bob"], boxed
    assert r.geosearchstore("near", "presence", longitude=15, latitude=37, radius=500, unit="km", storedist=True) == 2
    scores = dict(r.zrange("near", 0, -1, withscores=True))
    assert set(scores) == {b"alice", b"bob"} and scores[b"bob"] < scores[b"alice"], scores
    assert r.georadiusbymember("presence", "carol", 10, unit="km") == [b"carol"]
    try:
        r.geoadd("presence", [200, 0, "nowhere"])
        raise AssertionError("an invalid longitude was accepted")
    except redis.ResponseError as e:
        assert "invalid longitude,latitude pair 200.000000,0.000000" in str(e), e
    r.delete("presence", "near")
print("redis-py geo ok")
