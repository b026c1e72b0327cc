"""Interoperability: Majordomo clients and workers written here from the specs (7/MDP,
8/MMI, 9/Titanic) — not with beian's C codec — work with beiand unchanged."""
import os
import sys
import threading
import time

import zmq

sys.path.insert(0, os.path.dirname(__file__))
from beian_it import MdpClient, Stack, check, require_binaries  # noqa: E402

require_binaries("beiand")
ctx = zmq.Context.instance()


def echo_worker(endpoint, service, stop, upper=False):
    """A spec-7 worker in the style of the guide's mdwrkapi: READY, then REQUEST → REPLY,
    answering HEARTBEATs."""
    s = ctx.socket(zmq.DEALER)
    s.linger = 0
    s.connect(endpoint)
    s.send_multipart([b"", b"MDPW01", b"\x01", service.encode()])
    last = time.time()
    while not stop.is_set():
        if s.poll(100):
            m = s.recv_multipart()
            assert m[0] == b"" and m[1] == b"MDPW01"
            if m[2] == b"\x02":
                client, body = m[3], m[5:]
                if upper:
                    body = [b.upper() for b in body]
                s.send_multipart([b"", b"MDPW01", b"\x03", client, b""] + body)
            elif m[2] == b"\x05":
                break
        if time.time() - last > 0.25:
            s.send_multipart([b"", b"MDPW01", b"\x04"])
            last = time.time()
    s.close()


st = Stack(heartbeat=250)
stop = threading.Event()
try:
    t = threading.Thread(target=echo_worker, args=(st.ep, "echo", stop))
    t.start()
    time.sleep(0.3)
    c = MdpClient(st.ep)
    check(c.call("mmi.service", ["echo"]) == [b"200"], "mmi.service: a registered service → 200")
    check(c.call("mmi.service", ["nothing"]) == [b"404"], "mmi.service: unknown service → 404")
    check(c.call("mmi.service", ["beian.submit"]) == [b"200"], "mmi.service: broker-internal services exist")
    check(c.call("mmi.other", ["x"]) == [b"501"], "other mmi.* → 501")
    check(c.call("echo", ["hello", "world"]) == [b"hello", b"world"], "DEALER client ↔ spec worker through beiand")

    # A REQ client as in the guide's mdcliapi (REQ adds the empty delimiter itself).
    req = ctx.socket(zmq.REQ)
    req.linger = 0
    req.connect(st.ep)
    req.send_multipart([b"MDPC01", b"echo", b"via REQ"])
    check(req.poll(5000) and req.recv_multipart() == [b"MDPC01", b"echo", b"via REQ"], "REQ client works")

    # Several requests queue and are answered in turn by one worker.
    for i in range(20):
        c.send("echo", [b"n%d" % i])
    got = [c.recv()[0] for _ in range(20)]
    check(sorted(got) == sorted(b"n%d" % i for i in range(20)), "20 pipelined requests all answered")

    # Titanic (spec 9): durable request/reply for any service.
    r = c.call("titanic.request", ["echo", "durable hello"])
    check(r[0] == b"200" and len(r[1]) == 32, "titanic.request → 200 + uuid")
    uuid = r[1]
    reply = None
    for _ in range(50):
        r = c.call("titanic.reply", [uuid])
        if r[0] == b"200":
            reply = r[1:]
            break
        check(r[0] == b"300", "titanic.reply pending → 300") if _ == 0 and r[0] != b"200" else None
        time.sleep(0.05)
    check(reply == [b"durable hello"], "titanic.reply → 200 + the service's reply")
    check(c.call("titanic.close", [uuid]) == [b"200"], "titanic.close → 200")
    check(c.call("titanic.reply", [uuid])[0] == b"400", "titanic.reply after close → 400 (unknown)")
    check(c.call("titanic.reply", ["0" * 32])[0] == b"400", "titanic.reply unknown uuid → 400")

    # Titanic to the beian API: the durable asynchronous way to submit an application.
    import json
    spec = json.dumps({"documents": [{"type": "id-card", "side": "front", "blob": 1}]})
    r = c.call("titanic.request", ["beian.submit", spec, b"card"])
    check(r[0] == b"200", "titanic.request for beian.submit accepted")
    r2 = c.call("titanic.reply", [r[1]])
    check(r2[0] == b"300", "beian job through Titanic is pending without workers")

    # A worker may not register for broker-internal services.
    rogue = ctx.socket(zmq.DEALER)
    rogue.linger = 0
    rogue.connect(st.ep)
    rogue.send_multipart([b"", b"MDPW01", b"\x01", b"beian.submit"])
    check(rogue.poll(2000) and rogue.recv_multipart()[2] == b"\x05", "READY for an internal service → DISCONNECT")
    rogue.send_multipart([b"", b"MDPW01", b"\x04"])
    check(rogue.poll(2000) and rogue.recv_multipart()[2] == b"\x05", "HEARTBEAT from an unknown worker → DISCONNECT")

    # The worker vanishes without DISCONNECT: the broker expires it by heartbeat silence;
    # requests then queue until a new worker comes.
    stop.set()
    t.join()
    time.sleep(1.2)
    c.send("echo", [b"after"])
    time.sleep(0.3)
    stop.clear()
    t = threading.Thread(target=echo_worker, args=(st.ep, "echo", stop, True))
    t.start()
    check(c.recv(5000) == [b"AFTER"], "a queued request is served by the next worker")
finally:
    stop.set()
    st.close()
print("all interop checks passed")
