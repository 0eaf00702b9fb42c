"""python_client.py - the helper of python_client.sh: clients/python/herald.py's
API against a running hub, in one process.

usage: /usr/bin/python3 python_client.py FRONTEND BACKEND CONTROL UNUSED HUB_PID
  UNUSED: an endpoint where nothing listens.

Checks, each printing "ok: ..." when it holds:
  - ping, count and stats answer (stats is this hub's: its pid);
  - a Publisher and a Subscriber: events 1..3, then 6 (the publisher skips
    4 and 5), then 5 again: the subscriber reads each with its layout,
    publisher id and sequence, reports the gap 4..5 (lost 2) and the
    repeat; TERMINATE is flagged;
  - plain publications from a plain PUB (path proven with the multipart
    probe): a single frame and a multipart message are decoded as the
    protocol says, "TERMINATE x" is not TERMINATE, [TERMINATE][bye] is;
  - errors: WAIT for a count that never comes is Timeout, a control
    endpoint where nothing listens is Unreachable, an unknown verb is
    HubError, a reserved topic is ValueError;
  - "ERROR too many waiting requests; try again": with 1,024 WAITs parked
    by 64 other connections, wait_subscribers asks again every 100 ms and
    succeeds once they leave.
Prints "PASS" at the end, exit 0; the first check that fails prints
"FAIL: what: expected X, got Y", exit 1."""

import os
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "clients", "python"))

import zmq  # noqa: E402

import herald  # noqa: E402

FRONTEND, BACKEND, CONTROL, UNUSED, HUB_PID = sys.argv[1:6]
TIMEOUT = 10.0


def check(what, expected, got):
    if got != expected:
        print(f"FAIL: {what}: expected {expected!r}, got {got!r}", flush=True)
        sys.exit(1)
    print(f"ok: {what} = {got!r}", flush=True)


def raises(what, kind, call):
    try:
        call()
    except kind as error:
        print(f"ok: {what}: {kind.__name__}: {error}", flush=True)
        return
    except Exception as error:  # noqa: BLE001
        print(f"FAIL: {what}: expected {kind.__name__}, got {type(error).__name__}: {error}")
        sys.exit(1)
    print(f"FAIL: {what}: expected {kind.__name__}, nothing raised")
    sys.exit(1)


def control_answers():
    check("ping", "0.1.0", herald.ping(CONTROL, TIMEOUT))
    check("count before anyone subscribed", 0, herald.count("event", CONTROL, TIMEOUT))
    check("stats come from this hub", int(HUB_PID), herald.stats(CONTROL, TIMEOUT)["pid"])


def events_and_gaps(sub):
    pub = herald.Publisher(FRONTEND, CONTROL, timeout=TIMEOUT)
    check("wait_subscribers", 1, pub.wait_subscribers("event", 1, TIMEOUT))
    check("publisher.count", 1, pub.count("event"))
    for k in (1, 2, 3):
        check("sequence", k, pub.publish("event", f"THIS IS EVENT-{k}"))
    pub.sequence = 5  # skip 4 and 5: the subscriber must see a gap
    pub.publish("events", b"\x00binary\xff")
    pub.sequence = 4  # 5 again: a repeat
    pub.publish("event", b"again")
    pub.terminate()
    pub.close()
    pid = pub.publisher_id
    got = [sub.receive(TIMEOUT) for _ in range(6)]
    check("layouts", ["herald"] * 6, [m.layout for m in got])
    check("topics", [b"event"] * 3 + [b"events", b"event", b"TERMINATE"], [m.topic for m in got])
    check("payloads", [b"THIS IS EVENT-1", b"THIS IS EVENT-2", b"THIS IS EVENT-3",
                       b"\x00binary\xff", b"again", b"TERMINATE"], [m.payload for m in got])
    check("publisher ids", [pid] * 6, [m.publisher for m in got])
    check("sequences", [1, 2, 3, 6, 5, 6], [m.sequence for m in got])
    check("the gap, on the event after it", herald.Gap(pid, 4, 5), got[3].gap)
    check("gaps", [herald.Gap(pid, 4, 5)], sub.gaps)
    check("lost", 2, sub.lost)
    check("repeats", [(pid, 6, 5)], sub.repeats)
    check("terminate", [False] * 5 + [True], [m.terminate for m in got])


def plain_publications(sub):
    pub = zmq.Context.instance().socket(zmq.PUB)
    pub.linger = 1000
    pub.connect(FRONTEND)
    nonce = os.urandom(16).hex().encode()
    with herald.Control(CONTROL, TIMEOUT) as control:
        control.probe(nonce, time.monotonic() + TIMEOUT,
                      lambda: pub.send_multipart([b"$herald/probe", nonce]), "from a plain PUB")
    sent = [[b"event hello world"], [b"event", b"a", b"b c"], [b"TERMINATE x"], [b"eventual"],
            [b"TERMINATE", b"bye"]]
    for frames in sent:
        pub.send_multipart(frames)
    got = [sub.receive(TIMEOUT) for _ in sent]
    pub.close()
    check("plain layouts", ["frame", "multipart", "frame", "frame", "multipart"],
          [m.layout for m in got])
    check("plain topics", [b"event", b"event", b"TERMINATE", b"eventual", b"TERMINATE"],
          [m.topic for m in got])
    check("plain payloads", [b"hello world", b"a b c", b"x", b"", b"bye"], [m.payload for m in got])
    check("multipart frames", [b"a", b"b c"], got[1].frames)
    check("plain ids", [None] * 5, [m.publisher for m in got])
    check("plain TERMINATE", [False, False, False, False, True], [m.terminate for m in got])
    check("gaps after plain publications", 1, len(sub.gaps))


def errors():
    with herald.Publisher(FRONTEND, CONTROL, timeout=TIMEOUT) as pub:
        raises("a count that never comes", herald.Timeout,
               lambda: pub.wait_subscribers("nobody", 1, 0.3))
    raises("nothing listening", herald.Unreachable, lambda: herald.count("event", UNUSED, 0.3))
    with herald.Control(CONTROL, TIMEOUT) as control:
        raises("an unknown verb", herald.HubError, lambda: control.request("NOPE"))
    raises("a reserved topic", ValueError, lambda: herald.Subscriber(["$herald/x"], BACKEND, CONTROL))


def busy_hub():
    """1,024 WAITs parked by 64 connections fill the hub's table; a publisher
    then gets "try again" and must ask again until they leave."""
    ctx = zmq.Context.instance()
    parkers = []
    for _ in range(64):
        dealer = ctx.socket(zmq.DEALER)
        dealer.linger = 0
        dealer.connect(CONTROL)
        for _ in range(16):
            dealer.send_multipart([b"", b"WAIT", b"nobody", b"1", b"1", b"60000"])
        parkers.append(dealer)
    control = herald.Control(CONTROL, TIMEOUT)
    deadline = time.monotonic() + TIMEOUT
    while herald.stats(CONTROL, TIMEOUT)["control"]["waiting"] != 1024:
        if time.monotonic() > deadline:
            check("parked WAITs", 1024, herald.stats(CONTROL, TIMEOUT)["control"]["waiting"])
    print("ok: 1024 WAITs parked", flush=True)
    errors_before = control.stats()["control"]["errors"]
    outcome = {}

    def publisher():
        try:
            with herald.Publisher(FRONTEND, CONTROL, timeout=TIMEOUT) as pub:
                outcome["count"] = pub.wait_subscribers("event", 1, TIMEOUT)
        except Exception as error:  # noqa: BLE001
            outcome["error"] = error

    thread = threading.Thread(target=publisher)
    thread.start()
    # Once the hub has turned the publisher away, the parked WAITs leave.
    while control.stats()["control"]["errors"] == errors_before:
        if time.monotonic() > deadline:
            check("the hub answered ERROR", True, False)
    print("ok: the hub answered ERROR to the publisher", flush=True)
    for dealer in parkers:
        dealer.close()
    thread.join(2 * TIMEOUT)
    control.close()
    check("wait_subscribers past 'try again'", {"count": 1}, outcome)


def main():
    control_answers()
    sub = herald.Subscriber(["event"], BACKEND, CONTROL, timeout=TIMEOUT, name="api")
    sub.ready(TIMEOUT)
    check("count with the subscriber ready", 1, herald.count("event", CONTROL, TIMEOUT))
    events_and_gaps(sub)
    plain_publications(sub)
    errors()
    busy_hub()
    sub.close()
    with herald.Control(CONTROL, TIMEOUT) as control:
        check("count once it left", 0, control.wait_count("event", 0, 0, TIMEOUT))
    print("PASS", flush=True)


if __name__ == "__main__":
    main()
