"""plain.py - the helper of plain.sh: a plain pyzmq publisher and
subscriber, nothing of herald's but what docs/protocol.md specifies.

usage: /usr/bin/python3 plain.py FRONTEND BACKEND CONTROL SUBSCRIBERS

Subscribes a SUB to everything, waits until the hub counts SUBSCRIBERS on
'event' (this one and the herald subscribers started beside it), proves
its publisher's path with a probe in the multipart layout, publishes the
PUBLICATIONS below and TERMINATE, and checks that its SUB received each,
verbatim, in order, and nothing else (no probe). Prints "PASS", exit 0;
else one line saying what differed, exit 1."""

import os
import sys
import time

import zmq

FRONTEND, BACKEND, CONTROL, SUBSCRIBERS = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
PUBLICATIONS = [
    [b"event", b"hello", b"world"],  # multipart: topic, then the payload's frames
    [b"event single frame"],  # one frame: topic, a space, payload
    [b"event", b"", b"after an empty frame"],
    [b"event"],
    [b"events\x00binary\xff"],
    [b"TERMINATE"],
]
ctx = zmq.Context()
ctx.linger = 0


def ask(*frames, timeout=5000):
    req = ctx.socket(zmq.REQ)
    req.connect(CONTROL)
    req.send_multipart(frames)
    if not req.poll(timeout):
        sys.exit(f"the hub did not answer {frames[0].decode()}")
    reply = req.recv_multipart()
    req.close()
    return reply


sub = ctx.socket(zmq.SUB)
sub.rcvtimeo = 5000
sub.connect(BACKEND)
sub.subscribe(b"")
end = time.monotonic() + 10
while ask(b"COUNT", b"event") != [b"OK", str(SUBSCRIBERS).encode()]:
    if time.monotonic() > end:
        sys.exit(f"the hub did not count {SUBSCRIBERS} subscribers to 'event'")

# The publisher's path, proven as docs/protocol.md says, in the multipart
# layout: [$herald/probe][nonce], sent until PROBE answers.
pub = ctx.socket(zmq.PUB)
pub.connect(FRONTEND)
nonce = os.urandom(16).hex().encode()
req = ctx.socket(zmq.REQ)
req.connect(CONTROL)
req.send_multipart([b"PROBE", nonce, b"5000"])
while not req.poll(10):
    pub.send_multipart([b"$herald/probe", nonce])
reply = req.recv_multipart()
if reply != [b"OK", b"probe seen"]:
    sys.exit(f"PROBE: {reply}")
for publication in PUBLICATIONS:
    pub.send_multipart(publication)

for expected in PUBLICATIONS:
    try:
        got = sub.recv_multipart()
    except zmq.Again:
        sys.exit(f"received nothing where {expected} was due")
    if got != expected:
        sys.exit(f"received {got}, expected {expected}")
if sub.poll(200):
    sys.exit(f"received more: {sub.recv_multipart()}")
print("PASS")
