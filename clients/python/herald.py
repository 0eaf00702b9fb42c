"""herald.py - a Python client for a herald hub, on pyzmq alone.

Written from docs/protocol.md (event format 2) and nothing else: the event
frame, the control protocol, and the publisher's and the subscriber's
procedures that make "every counted subscriber receives every later event"
hold (docs/guarantees.md says why they work).

    pub = herald.Publisher()                   # PUB -> frontend, DEALER -> control
    pub.wait_subscribers("event", 3, timeout=30)   # prove the path, then WAIT
    pub.publish("event", b"hello")             # one frame, publisher id, sequence 1, 2, ...
    pub.terminate()                            # TERMINATE, the next sequence number
    pub.close()                                # prove the path again: all reached the hub

    sub = herald.Subscriber(["event"])         # SUB -> backend (heartbeats), + TERMINATE
    sub.ready(timeout=30)                      # two probe rounds: the hub has counted it
    msg = sub.receive(timeout=60)              # a Message; sub.gaps lists what was lost

    herald.stats()                             # the hub's STATS, parsed
    herald.count("event")                      # COUNT

Timeouts are in seconds (floats); None means no limit. Errors are
HeraldError subclasses: Timeout (the hub answered TIMEOUT, or nothing
arrived in time), Unreachable (no reply from the hub at all), HubError (an
ERROR reply), ConnectionLost (a publisher's connection dropped after it
proved its path, so its events cannot be vouched for).
"""

import json
import logging
import math
import os
import struct
import time
from dataclasses import dataclass, field
from typing import Callable, Dict, Iterable, List, Optional, Tuple, Union

import zmq
from zmq.utils.monitor import recv_monitor_message

__all__ = [
    "FRONTEND", "BACKEND", "CONTROL", "TERMINATE",
    "HeraldError", "Timeout", "Unreachable", "HubError", "ConnectionLost",
    "Control", "Publisher", "Subscriber", "Message", "Gap",
    "count", "stats", "ping", "encode_event", "decode",
]

# The hub's default endpoints, as clients reach them (docs/operations.md).
FRONTEND = "tcp://127.0.0.1:5559"
BACKEND = "tcp://127.0.0.1:5560"
CONTROL = "tcp://127.0.0.1:5561"

TERMINATE = b"TERMINATE"
MAGIC = 0x48  # 'H'
VERSION = 2  # the event format
HEADER = struct.Struct(">BBQQ")  # magic, version, publisher id, sequence: 18 bytes
RESERVED = b"$herald"
PROBE_TOPIC = b"$herald/probe"
SUBSCRIBER_PROBE = b"$herald/probe/"
AT_LEAST = 2**64 - 1  # WAIT's max: "at least min"
MAX_TIMEOUT_MS = 86_400_000  # one day, the most a request may ask for
MAX_ARGUMENT = 255  # topics and nonces, in control requests
PROBE_EVERY = 0.010  # a probe (or a probe subscription) every 10 ms
RETRY_AFTER = 0.100  # "try again": ask again after a pause
ANSWER_GRACE = 5.0  # a WAIT or PROBE is answered at its timeout: allow that much more
DEFAULT_TIMEOUT = 30.0  # herald's --wait-timeout
DEFAULT_HWM = 100_000  # herald's --hwm
DEFAULT_HEARTBEAT = 1.0  # herald's --heartbeat, in seconds

log = logging.getLogger("herald")

Topic = Union[str, bytes]
Deadline = Optional[float]  # time.monotonic() value, or None: no limit


class HeraldError(Exception):
    """Anything that went wrong talking to a herald hub."""


class Timeout(HeraldError):
    """The hub answered TIMEOUT, or what was waited for did not come in time."""


class Unreachable(HeraldError):
    """No reply from the hub within the client's own timeout."""


class HubError(HeraldError):
    """The hub answered ERROR."""


class ConnectionLost(HeraldError):
    """The publisher's connection to the frontend dropped after it proved its
    path: events sent around the drop may be lost, so success cannot be
    reported."""


def _bytes(value: Topic) -> bytes:
    return value.encode() if isinstance(value, str) else bytes(value)


def _topic(value: Topic, what: str = "topic") -> bytes:
    topic = _bytes(value)
    if b"\x00" in topic:
        raise ValueError(f"{what} {topic!r} contains a 0x00 byte")
    if topic.startswith(RESERVED):
        raise ValueError(f"{what} {topic!r} is reserved: topics starting with $herald belong to the hub")
    return topic


def _argument(value: Topic, what: str) -> bytes:
    data = _bytes(value)
    if len(data) > MAX_ARGUMENT:
        raise ValueError(f"{what} is {len(data)} bytes; a control request takes at most {MAX_ARGUMENT}")
    return data


def _nonce() -> bytes:
    """32 hexadecimal digits, 128 bits from the OS, new for every probe."""
    return os.urandom(16).hex().encode()


def _deadline(timeout: Optional[float]) -> Deadline:
    if timeout is None:
        return None
    if timeout < 0:
        raise ValueError(f"a timeout cannot be negative: {timeout}")
    return time.monotonic() + timeout


def _left(deadline: Deadline) -> Optional[float]:
    return None if deadline is None else max(0.0, deadline - time.monotonic())


def _text(data: bytes) -> str:
    return data.decode("utf-8", "backslashreplace")


def _drops(monitor) -> int:
    """How many disconnections the socket monitor has reported since last asked."""
    dropped = 0
    while monitor.poll(0):
        event = recv_monitor_message(monitor)
        if event["event"] == zmq.EVENT_DISCONNECTED:
            dropped += 1
            log.warning("the connection to %s dropped", _text(event["endpoint"]))
    return dropped


# -- control -----------------------------------------------------------------


class Control:
    """A control client: a DEALER socket to the hub's control endpoint, one
    request at a time. Requests that the hub answers at once (PING, COUNT,
    STATS) get `timeout` seconds for the reply; WAIT and PROBE get their own
    timeout plus 5 s, as the hub answers those only when it runs out."""

    def __init__(self, endpoint: str = CONTROL, timeout: Optional[float] = DEFAULT_TIMEOUT,
                 context: Optional[zmq.Context] = None):
        self.endpoint = endpoint
        self.timeout = timeout
        self._context = context or zmq.Context.instance()
        self._socket = None
        self._open()

    def _open(self) -> None:
        self._socket = self._context.socket(zmq.DEALER)
        self._socket.linger = 0
        self._socket.connect(self.endpoint)

    def close(self) -> None:
        if self._socket is not None:
            self._socket.close(linger=0)
            self._socket = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _exchange(self, frames: List[bytes], wait: Optional[float],
                  tick: Optional[Callable[[], None]] = None, what: str = "") -> Tuple[str, bytes]:
        """Send one request, return (status, value). Calls tick() every 10 ms
        while waiting. No reply within `wait` seconds: Unreachable, and the
        socket is replaced, so that a late reply is never taken for the next
        request's."""
        if self._socket is None:
            raise HeraldError("this control client is closed")
        self._socket.send_multipart([b""] + frames)
        start = time.monotonic()
        deadline = None if wait is None else start + wait
        next_tick = start
        told = not what
        while True:
            now = time.monotonic()
            if tick is not None and now >= next_tick:
                tick()
                next_tick = now + PROBE_EVERY
            if deadline is not None and now >= deadline:
                self.close()
                self._open()
                raise Unreachable(
                    f"no reply from the hub at {self.endpoint} to {frames[0].decode()} within "
                    f"{wait:.1f} s (is herald hub running there?)")
            if not told and now - start >= 0.5:
                log.info("waiting for the hub at %s %s", self.endpoint, what)
                told = True
            step = math.inf if deadline is None else deadline - now
            if tick is not None:
                step = min(step, max(0.0, next_tick - now))
            if not told:
                step = min(step, max(0.0, start + 0.5 - now))
            ms = None if step == math.inf else max(0, math.ceil(step * 1000))
            if self._socket.poll(ms):
                reply = self._socket.recv_multipart()
                if reply and reply[0] == b"":
                    reply = reply[1:]
                if len(reply) != 2:
                    raise HubError(f"the hub at {self.endpoint} sent a malformed reply to "
                                   f"{frames[0].decode()}: {reply!r}")
                return _text(reply[0]), reply[1]

    def request(self, verb: str, *args: Topic) -> bytes:
        """A request the hub answers at once: the value of its OK reply."""
        frames = [verb.encode()] + [_argument(a, "an argument") for a in args]
        status, value = self._exchange(frames, self.timeout)
        if status != "OK":
            raise HubError(f"{verb}: the hub at {self.endpoint} answered {status} {_text(value)}")
        return value

    def waiting(self, verb: str, args: List[bytes], deadline: Deadline,
                tick: Optional[Callable[[], None]] = None, what: str = "") -> Tuple[str, bytes]:
        """A WAIT or PROBE until `deadline` (None: none): its arguments, then
        the time left in ms. Asks again after an "ERROR ...; try again"
        (after 100 ms, ticking meanwhile), and, without a deadline, after
        each TIMEOUT, a day at a time. Returns (status, value): OK, or
        TIMEOUT once the deadline has passed; raises HubError on any other
        ERROR."""
        while True:
            left = _left(deadline)
            ms = MAX_TIMEOUT_MS if left is None else min(MAX_TIMEOUT_MS, math.floor(left * 1000))
            frames = [verb.encode()] + args + [str(ms).encode()]
            status, value = self._exchange(frames, ms / 1000 + ANSWER_GRACE, tick, what)
            if status == "OK":
                return status, value
            if status == "TIMEOUT":
                if deadline is not None and time.monotonic() >= deadline:
                    return status, value
                continue  # no limit, or our clock says there is time left: ask again
            if status == "ERROR" and value.endswith(b"try again"):
                if deadline is not None and time.monotonic() + RETRY_AFTER > deadline:
                    raise Timeout(f"{verb}: the hub at {self.endpoint} stayed busy until the "
                                  f"timeout: {_text(value)}")
                log.info("%s: the hub at %s says: %s", verb, self.endpoint, _text(value))
                pause = time.monotonic() + RETRY_AFTER
                while time.monotonic() < pause:
                    if tick is not None:
                        tick()
                    time.sleep(min(PROBE_EVERY, max(0.0, pause - time.monotonic())))
                continue
            raise HubError(f"{verb}: the hub at {self.endpoint} answered {status} {_text(value)}")

    def ping(self) -> str:
        """The hub's software version."""
        return _text(self.request("PING"))

    def count(self, topic: Topic) -> int:
        """How many subscribers an event on `topic` reaches now."""
        return int(self.request("COUNT", _argument(topic, "the topic")))

    def stats(self) -> dict:
        """The hub's counters (docs/operations.md#stats)."""
        return json.loads(self.request("STATS"))

    def wait_count(self, topic: Topic, minimum: int, maximum: int = AT_LEAST,
                   timeout: Optional[float] = DEFAULT_TIMEOUT) -> int:
        """Wait until minimum <= count(topic) <= maximum; return the count.
        Timeout if it does not come to that in time."""
        return self._wait_count(topic, minimum, maximum, _deadline(timeout), timeout)

    def _wait_count(self, topic: Topic, minimum: int, maximum: int, deadline: Deadline,
                    timeout: Optional[float]) -> int:
        if not 0 <= minimum <= maximum <= AT_LEAST:
            raise ValueError(f"WAIT needs 0 <= min <= max < 2^64, not {minimum}..{maximum}")
        name = _argument(topic, "the topic")
        wanted = f"at least {minimum}" if maximum == AT_LEAST else f"{minimum}..{maximum}"
        status, value = self.waiting(
            "WAIT", [name, str(minimum).encode(), str(maximum).encode()], deadline,
            what=f"to count {wanted} subscribers to {_text(name)!r}")
        if status != "OK":
            raise Timeout(f"the hub at {self.endpoint} counts {_text(value)} subscribers to "
                          f"{_text(name)!r}, not {wanted}, after {timeout or 0:g} s")
        return int(value)

    def probe(self, nonce: bytes, deadline: Deadline, tick: Callable[[], None],
              source: str) -> None:
        """PROBE nonce, calling tick() every 10 ms until the reply: returns
        once the hub saw the nonce; Timeout if it did not in time. `source`
        says where the probes come from, for messages."""
        status, value = self.waiting("PROBE", [_argument(nonce, "the nonce")], deadline, tick,
                                     f"to see a probe {source}")
        if status != "OK":
            raise Timeout(f"the hub at {self.endpoint} saw no probe {source} in time")


def ping(control: str = CONTROL, timeout: Optional[float] = DEFAULT_TIMEOUT) -> str:
    """The software version of the hub at `control`."""
    with Control(control, timeout) as client:
        return client.ping()


def count(topic: Topic, control: str = CONTROL, timeout: Optional[float] = DEFAULT_TIMEOUT) -> int:
    """The hub's subscriber count for `topic`."""
    with Control(control, timeout) as client:
        return client.count(topic)


def stats(control: str = CONTROL, timeout: Optional[float] = DEFAULT_TIMEOUT) -> dict:
    """The hub's STATS, parsed from its JSON."""
    with Control(control, timeout) as client:
        return client.stats()


# -- events ------------------------------------------------------------------


def encode_event(topic: bytes, publisher: int, sequence: int, payload: bytes = b"") -> bytes:
    """One herald event: topic, 0x00, the 18-byte header, the payload."""
    return topic + b"\x00" + HEADER.pack(MAGIC, VERSION, publisher, sequence) + payload


@dataclass
class Gap:
    """Events lost from one publisher: sequence numbers first..last."""
    publisher: int
    first: int
    last: int

    @property
    def lost(self) -> int:
        return self.last - self.first + 1


@dataclass
class Message:
    """What a subscriber received.

    layout: "herald" (an event: publisher and sequence are set), "frame" (a
    plain single frame: topic up to the first space or 0x00, payload after
    it) or "multipart" (topic the first frame, payload the others joined by
    one space; `frames` has them apart). terminate: this ends the run.
    gap: the events lost just before this one, from its publisher."""
    topic: bytes
    layout: str
    payload: bytes
    frames: List[bytes] = field(default_factory=list)
    publisher: Optional[int] = None
    sequence: Optional[int] = None
    terminate: bool = False
    gap: Optional[Gap] = None


def decode(frames: List[bytes]) -> Message:
    """A received message, in whichever layout it came."""
    if len(frames) > 1:
        return Message(topic=frames[0], layout="multipart", payload=b" ".join(frames[1:]),
                       frames=list(frames[1:]), terminate=frames[0] == TERMINATE)
    frame = frames[0]
    end = frame.find(b"\x00")
    if end >= 0 and len(frame) - end - 1 >= HEADER.size:
        magic, version, publisher, sequence = HEADER.unpack_from(frame, end + 1)
        if magic == MAGIC and version == VERSION:
            topic, payload = frame[:end], frame[end + 1 + HEADER.size:]
            return Message(topic=topic, layout="herald", payload=payload, frames=[payload],
                           publisher=publisher, sequence=sequence, terminate=topic == TERMINATE)
    cut = [i for i in (frame.find(b" "), end) if i >= 0]
    if cut:
        topic, payload = frame[:min(cut)], frame[min(cut) + 1:]
    else:
        topic, payload = frame, b""
    return Message(topic=topic, layout="frame", payload=payload, frames=[payload],
                   terminate=frame == TERMINATE)


# -- publisher ---------------------------------------------------------------


class Publisher:
    """Publishes herald events through the hub's frontend.

    A PUB socket (ZMQ_XPUB_NODROP, a send timeout, a socket monitor) to the
    frontend and a control client. Its publisher id is random for each
    Publisher; its events are numbered 1, 2, 3, ... whatever their topic,
    TERMINATE included."""

    def __init__(self, frontend: str = FRONTEND, control: str = CONTROL,
                 timeout: Optional[float] = DEFAULT_TIMEOUT, hwm: int = DEFAULT_HWM,
                 send_timeout: float = 10.0, context: Optional[zmq.Context] = None):
        self.frontend = frontend
        self.timeout = timeout
        self.publisher_id = int.from_bytes(os.urandom(8), "big") or 1
        self.sequence = 0  # the last sequence number sent
        self.proven = False
        self.dropped = 0  # disconnections since the path was proven
        self._context = context or zmq.Context.instance()
        self._pub = self._context.socket(zmq.PUB)
        self._pub.setsockopt(zmq.XPUB_NODROP, 1)
        self._pub.sndhwm = hwm
        self._pub.sndtimeo = max(1, int(send_timeout * 1000))
        self._pub.linger = 0
        self._send_timeout = send_timeout
        self._monitor = self._pub.get_monitor_socket(zmq.EVENT_DISCONNECTED)
        self._pub.connect(frontend)
        self.control = Control(control, timeout, self._context)

    def __enter__(self):
        return self

    def __exit__(self, kind, value, trace):
        self.close(prove=kind is None)

    def _probe(self, nonce: bytes) -> None:
        try:
            self._pub.send(encode_event(PROBE_TOPIC, 0, 0, nonce), zmq.NOBLOCK)
        except zmq.Again:
            pass  # a full queue: the next tick tries again

    def _prove(self, deadline: Deadline) -> int:
        """Prove the path: PROBE with a new nonce, a probe every 10 ms until
        the reply. Again if the socket monitor reported a drop meanwhile, as
        the probe may have crossed the connection that dropped (the monitor
        reports asynchronously). Returns the drops seen."""
        dropped = 0
        while True:
            nonce = _nonce()
            self.control.probe(nonce, deadline, lambda: self._probe(nonce),
                               f"from this publisher (is {self.frontend} the hub's frontend?)")
            now = _drops(self._monitor)
            if not now:
                return dropped
            dropped += now
            log.info("the connection to %s dropped while proving it; proving again", self.frontend)

    def prove(self, timeout: Optional[float] = DEFAULT_TIMEOUT) -> None:
        """Step 1: once this returns, every later event on this connection
        reaches the hub (Timeout if no probe got through)."""
        self._prove(_deadline(timeout))
        self.proven = True
        self.dropped = 0

    def wait_subscribers(self, topic: Topic, n: int,
                         timeout: Optional[float] = DEFAULT_TIMEOUT) -> int:
        """Prove the path, then wait until the hub counts at least n
        subscribers to `topic`, within `timeout` seconds in all. Every one
        of them receives every event published after this returns (within
        the limits of docs/guarantees.md). Returns the count."""
        deadline = _deadline(timeout)
        if not self.proven:
            self._prove(deadline)
            self.proven = True
            self.dropped = 0
        return self.control._wait_count(_topic(topic), n, AT_LEAST, deadline, timeout)

    def count(self, topic: Topic) -> int:
        """How many subscribers an event on `topic` would reach now."""
        return self.control.count(topic)

    def publish(self, topic: Topic, payload: Union[bytes, str] = b"") -> int:
        """Publish one event; returns its sequence number. Proves the path
        first if that was not done. Timeout if the hub takes nothing for
        send_timeout seconds."""
        name = _topic(topic)
        if not self.proven:
            self.prove(self.timeout)
        self.dropped += _drops(self._monitor)
        sequence = self.sequence + 1
        try:
            self._pub.send(encode_event(name, self.publisher_id, sequence, _bytes(payload)))
        except zmq.Again:
            raise Timeout(f"the hub at {self.frontend} took nothing for "
                          f"{self._send_timeout:g} s") from None
        self.sequence = sequence
        return sequence

    def terminate(self, payload: Union[bytes, str] = TERMINATE) -> int:
        """Publish TERMINATE (an event, with the next sequence number)."""
        return self.publish(TERMINATE, payload)

    def close(self, prove: bool = True) -> None:
        """Prove the path again, with a new nonce: the probe travels behind
        every event, so returning means every one reached the hub. Then
        close. ConnectionLost if the connection dropped since the path was
        first proven; Timeout or Unreachable if the proof failed. With
        prove=False, just close (what is still queued is given send_timeout
        to leave)."""
        if self._pub is None:
            return
        try:
            if prove:
                self.dropped += _drops(self._monitor)
                self.dropped += self._prove(_deadline(self.timeout))
                if self.proven and self.dropped:
                    raise ConnectionLost(
                        f"the connection to {self.frontend} dropped {self.dropped} time(s) after "
                        f"the path was proven: events sent around that may be lost")
            else:
                self._pub.linger = int(self._send_timeout * 1000)
        finally:
            self._pub.disable_monitor()
            self._monitor.close(linger=0)
            self._pub.close()
            self._pub = None
            self.control.close()


# -- subscriber --------------------------------------------------------------


class Subscriber:
    """Receives from the hub's backend: a SUB socket that pings the hub every
    `heartbeat` seconds (no heartbeat timeout, no TTL), subscribed to its
    topics (prefixes, as ZeroMQ matches) and to TERMINATE, and a control
    client for its proof. Follows each publisher's sequence numbers: a jump
    is a Gap, logged, appended to `gaps` and added to `lost`; a number not
    above the last one (a duplicate, or a reused publisher id) is logged and
    appended to `repeats`, and followed from."""

    def __init__(self, topics: Iterable[Topic] = ("event",), backend: str = BACKEND,
                 control: str = CONTROL, timeout: Optional[float] = DEFAULT_TIMEOUT,
                 heartbeat: float = DEFAULT_HEARTBEAT, hwm: int = DEFAULT_HWM,
                 name: str = "subscriber", context: Optional[zmq.Context] = None):
        if isinstance(topics, (str, bytes)):
            topics = [topics]
        self.topics = [_topic(t) for t in topics]
        self.backend = backend
        self.timeout = timeout
        self.name = name
        self.gaps: List[Gap] = []
        self.lost = 0
        self.repeats: List[Tuple[int, int, int]] = []  # (publisher, last seen, got)
        self.received = 0
        self._last: Dict[int, int] = {}
        self._context = context or zmq.Context.instance()
        self._sub = self._context.socket(zmq.SUB)
        self._sub.linger = 0
        self._sub.rcvhwm = hwm
        if heartbeat:
            self._sub.setsockopt(zmq.HEARTBEAT_IVL, max(1, int(heartbeat * 1000)))
            # libzmq takes the interval as the timeout unless told otherwise:
            # no timeout means 0, said explicitly.
            self._sub.setsockopt(zmq.HEARTBEAT_TIMEOUT, 0)
            self._sub.setsockopt(zmq.HEARTBEAT_TTL, 0)
        self._monitor = self._sub.get_monitor_socket(zmq.EVENT_DISCONNECTED)
        self._sub.connect(backend)
        for topic in self.topics + [TERMINATE]:
            self._sub.subscribe(topic)
        self.control = Control(control, timeout, self._context)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def subscribe(self, topic: Topic) -> None:
        """Subscribe to one more topic; ready() again proves it counted."""
        name = _topic(topic)
        self._sub.subscribe(name)
        self.topics.append(name)

    def unsubscribe(self, topic: Topic) -> None:
        name = _topic(topic)
        self._sub.unsubscribe(name)
        self.topics.remove(name)

    def _round(self, deadline: Deadline) -> None:
        nonce = _nonce()
        probe = SUBSCRIBER_PROBE + nonce
        held = 0

        def tick():
            nonlocal held
            self._sub.subscribe(probe)
            held += 1

        tick()
        try:
            self.control.probe(nonce, deadline, tick,
                               f"from {self.name} (is {self.backend} the hub's backend?)")
        finally:
            # libzmq sends only the last unsubscribe of a topic: one per subscribe.
            for _ in range(held):
                self._sub.unsubscribe(probe)

    def ready(self, timeout: Optional[float] = DEFAULT_TIMEOUT) -> None:
        """Prove that the hub has counted this subscriber: from then on every
        event the hub forwards on its topics is queued for it. Two probe
        rounds, started over if the connection dropped meanwhile. Timeout if
        it was not counted in time."""
        deadline = _deadline(timeout)
        _drops(self._monitor)
        while True:
            self._round(deadline)  # the connection is up
            self._round(deadline)  # sent after the topics: they are counted
            if not _drops(self._monitor):
                return
            log.info("%s: the connection to %s dropped while proving it; starting over",
                     self.name, self.backend)

    def count(self, topic: Topic) -> int:
        return self.control.count(topic)

    def receive(self, timeout: Optional[float] = None) -> Message:
        """The next message, decoded; Timeout if none came within `timeout`
        seconds (None: wait for ever)."""
        if self._sub is None:
            raise HeraldError(f"{self.name} is closed")
        ms = None if timeout is None else max(0, math.ceil(timeout * 1000))
        if not self._sub.poll(ms):
            raise Timeout(f"{self.name} heard nothing for {timeout:g} s from the hub at {self.backend}")
        message = decode(self._sub.recv_multipart())
        self.received += 1
        if message.layout == "herald":
            self._follow(message)
        return message

    def _follow(self, message: Message) -> None:
        publisher, sequence = message.publisher, message.sequence
        last = self._last.get(publisher)
        self._last[publisher] = sequence
        if last is None:
            return  # the first event seen from a publisher starts its sequence
        if sequence > last + 1:
            gap = Gap(publisher, last + 1, sequence - 1)
            message.gap = gap
            self.gaps.append(gap)
            self.lost += gap.lost
            log.warning("%s lost %d events from publisher %016x (sequence %d..%d)",
                        self.name, gap.lost, publisher, gap.first, gap.last)
        elif sequence <= last:
            self.repeats.append((publisher, last, sequence))
            log.warning("%s got sequence %d from publisher %016x after %d: a duplicate, "
                        "or a publisher id used again", self.name, sequence, publisher, last)

    def close(self) -> None:
        """Leave: closing the socket unsubscribes, and the count drops."""
        if self._sub is None:
            return
        self._sub.disable_monitor()
        self._monitor.close(linger=0)
        self._sub.close(linger=0)
        self._sub = None
        self.control.close()
