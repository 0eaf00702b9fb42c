"""federation_hostile.py - the helper of federation_hostile.sh: one case of
a careless or hostile peer on a hub's federation port (a fake hub below),
or above a hub (a fake upstream), against two real hubs.

usage: /usr/bin/python3 federation_hostile.py CASE
  in the environment: ROOT_FRONTEND, ROOT_BACKEND, ROOT_CONTROL,
  ROOT_FEDERATION (the hub attacked), LEAF_BACKEND, LEAF_CONTROL,
  LEAF_FEDERATION (a real hub joined below it), FAKE_UPSTREAM (where the
  "upstream" case binds the fake hub above the root), ROOT_PID.

The link protocol is docs/federation.md's, "The link protocol". What is
checked, in every case: the hubs answer, a hub below that plays by the
rules stays joined and is never told anything meant for another, counts
stay exact (a topic's count is the number of subscribers holding a prefix
of it, the federation's whole), and a subscriber reads exactly the
publications expected, nothing of the garbage.

Prints "ok CASE: ..." for each check that held and "PASS CASE" at the end,
exit 0; the first check that does not hold prints "FAIL CASE: stage: what:
expected X, got Y", exit 1; any other error exits 2.

Nothing here waits on time: a hub has read everything a fake sent once it
answered what the fake sent last on the same connection (a probe, echoed
down; a HELLO, welcomed); a hub below has read everything the hub above
sent before a record it counts; a subscriber has read everything before a
marker publication. Deadlines only bound how long a wait may fail."""

import json
import os
import struct
import sys
import time
import traceback

try:
    import zmq
    from zmq.utils.monitor import recv_monitor_message
except ImportError:
    sys.exit(77)

DEADLINE_MS = 10000  # for a hub to reach a state, or a message to come
REPLY_MS = 5000  # for a hub to answer one request

CASE = sys.argv[1]
ENV = os.environ
ctx = zmq.Context()
ctx.linger = 0
markers = 0


class Failed(Exception):
    pass


def check(stage, what, expected, got):
    if got != expected:
        raise Failed(f"{stage}: {what}: expected {expected!r}, got {got!r}")
    print(f"ok {CASE}: {stage}: {what} = {got!r}", flush=True)


def marker():
    global markers
    markers += 1
    return b"~mark/%d" % markers


# --- the hubs, by their control endpoints -------------------------------


class Hub:
    def __init__(self, name, control):
        self.name, self.control, self.req = name, control, None

    def ask(self, *frames):
        if self.req is None:
            self.req = ctx.socket(zmq.REQ)
            self.req.connect(self.control)
        self.req.rcvtimeo = REPLY_MS + DEADLINE_MS
        self.req.send_multipart([f if isinstance(f, bytes) else f.encode() for f in frames])
        try:
            status, value = self.req.recv_multipart()
        except zmq.Again:
            self.req.close()
            self.req = None
            raise Failed(f"{self.name} did not answer {frames[0]}")
        return status.decode(), value.decode()

    def count(self, topic):
        status, value = self.ask("COUNT", topic)
        if status != "OK":
            raise Failed(f"{self.name}: COUNT {topic!r}: {status} {value}")
        return int(value)

    def wait(self, stage, topic, expected):
        """WAIT until the count of topic is expected: the hub answers when
        it is."""
        status, value = self.ask("WAIT", topic, str(expected), str(expected), str(DEADLINE_MS))
        check(stage, f"{self.name}: count of {topic!r}", expected, int(value))

    def stats(self):
        status, value = self.ask("STATS")
        if status != "OK":
            raise Failed(f"{self.name}: STATS: {status} {value}")
        return json.loads(value)

    def fed(self):
        return self.stats()["federation"]

    def id(self):
        return int(self.fed()["id"], 16)

    def answers(self, stage):
        """The hub answers PING within REPLY_MS."""
        req = ctx.socket(zmq.REQ)
        req.connect(self.control)
        req.send(b"PING")
        status = req.recv_multipart()[0] if req.poll(REPLY_MS) else b"no answer"
        req.close()
        check(stage, f"{self.name} answers PING within {REPLY_MS} ms", b"OK", status)


root = Hub("root", ENV["ROOT_CONTROL"])
leaf = Hub("leaf", ENV["LEAF_CONTROL"])


def link_states(hub):
    return sorted((link["hub"], link["state"]) for link in hub.fed()["links"])


def wait_links(stage, hub, expected):
    """The hub's links are expected (hub ids and states), read again and
    again until they are or the deadline passes: links leave as the hub
    reads their connections' ends, and no request waits for that."""
    end = time.monotonic() + DEADLINE_MS / 1000
    got = link_states(hub)
    while got != expected and time.monotonic() < end:
        got = link_states(hub)
    check(stage, f"{hub.name}: links", expected, got)


def leaf_unharmed(stage, root_id, leaf_id):
    """The real leaf is still joined below the root, with nothing lost:
    its upstream joined, no resync, the root shows its link joined."""
    fed = leaf.fed()
    check(stage, "leaf: upstream state", "joined", fed["upstream"]["state"])
    check(stage, "leaf: upstream hub", f"{root_id:016x}", fed["upstream"]["hub"])
    check(stage, "leaf: resyncs", 0, fed["resyncs"])
    states = dict(link_states(root))
    check(stage, "root: the leaf's link", "joined", states.get(f"{leaf_id:016x}"))


# --- subscribers ------------------------------------------------------------


def subscriber(hub_backend, *topics):
    sock = ctx.socket(zmq.SUB)
    sock.rcvtimeo = DEADLINE_MS
    for topic in topics:
        sock.subscribe(topic)
    sock.connect(hub_backend)
    return sock


def read_until(sock, *last):
    """Every message sock reads until it has read each of last (single
    frames, in any order: they may come by different paths), each message
    as a list of frames, last not included."""
    got, waiting = [], set(last)
    while waiting:
        try:
            frames = sock.recv_multipart()
        except zmq.Again:
            raise Failed(f"a subscriber did not read {sorted(waiting)!r} after {got!r}")
        if len(frames) == 1 and frames[0] in waiting:
            waiting.discard(frames[0])
        else:
            got.append(frames)
    return got


# --- the link protocol --------------------------------------------------------

DOWN = b"$herald/fed"


def u64(value):
    return struct.pack(">Q", value)


def record(op, origin, serial, prefix, size=None):
    """A record (op, origin, serial, prefix); size: the prefix size it
    claims, if not its own."""
    claimed = len(prefix) if size is None else size
    return bytes([op]) + u64(origin) + u64(serial) + struct.pack(">H", claimed) + prefix


def table(seq, *records):
    return b"T" + u64(seq) + b"".join(records)


def multipart(*frames, count=None):
    body = struct.pack(">I", len(frames) if count is None else count)
    for frame in frames:
        body += struct.pack(">I", len(frame)) + frame
    return b"M" + body


def fresh_id():
    while True:
        value = struct.unpack(">Q", os.urandom(8))[0]
        if value:
            return value


def parse_down(frame):
    """(topic, kind, body) of a control message down, or None."""
    end = frame.find(b"\0")
    if end < 0 or not frame.startswith(DOWN) or end + 1 >= len(frame):
        return None
    return frame[:end], frame[end + 1 : end + 2], frame[end + 2 :]


class Below:
    """A fake hub below: an XSUB on a federation port that subscribes to
    the topics a hub below takes (for every hub, and for its own id)."""

    def __init__(self, federation, own=None, connect=True):
        self.own = own or fresh_id()
        self.sock = ctx.socket(zmq.XSUB)
        self.sock.rcvtimeo = DEADLINE_MS
        self.sock.sndhwm = 0
        self.sock.send(b"\x01" + DOWN)
        self.sock.send(b"\x01" + self.topic())
        self.seq = 0
        self.sent = 0
        self.federation = federation
        if connect:
            self.connect()

    def topic(self, to=None):
        return DOWN + b"/%016x" % (to or self.own)

    def connect(self):
        events = zmq.EVENT_HANDSHAKE_SUCCEEDED | zmq.EVENT_DISCONNECTED
        self.monitor = self.sock.get_monitor_socket(events)
        self.sock.connect(self.federation)
        if not self.monitor.poll(REPLY_MS):
            raise Failed(f"a fake hub could not connect to {self.federation}")
        recv_monitor_message(self.monitor)

    def disconnected(self):
        """True once the hub closed the connection."""
        while self.monitor.poll(DEADLINE_MS):
            if recv_monitor_message(self.monitor)["event"] == zmq.EVENT_DISCONNECTED:
                return True
        return False

    def send(self, *messages):
        for message in messages:
            # The hub counts the publications (E, M) each link sent since
            # its HELLO, and checks each probe against it.
            if message[:1] == b"H" and len(message) >= 9:
                self.sent = 0
            elif message[:1] in (b"E", b"M"):
                self.sent += 1
            self.sock.send(message)

    def expect(self, kind, topic=None, body=None):
        """Read until a control message of kind (to topic, with body if
        given) comes; returns its body. Others are skipped."""
        topic = topic or self.topic()
        end = time.monotonic() + DEADLINE_MS / 1000
        while time.monotonic() < end:
            try:
                frames = self.sock.recv_multipart()
            except zmq.Again:
                break
            parsed = parse_down(frames[0]) if len(frames) == 1 else None
            if parsed and parsed[:2] == (topic, kind) and body in (None, parsed[2]):
                return parsed[2]
        raise Failed(f"fake hub {self.own:016x}: no {kind!r} on {topic!r}")

    def refusal(self):
        """How a refused HELLO ended: "told" (REFUSED under its own id)
        or "disconnected"."""
        poller = zmq.Poller()
        poller.register(self.sock, zmq.POLLIN)
        poller.register(self.monitor, zmq.POLLIN)
        end = time.monotonic() + DEADLINE_MS / 1000
        while time.monotonic() < end:
            ready = dict(poller.poll(max(1, int((end - time.monotonic()) * 1000))))
            if self.monitor in ready:
                if recv_monitor_message(self.monitor)["event"] == zmq.EVENT_DISCONNECTED:
                    return "disconnected"
            if self.sock in ready:
                frames = self.sock.recv_multipart()
                parsed = parse_down(frames[0]) if len(frames) == 1 else None
                if parsed and parsed[:2] == (self.topic(), b"R"):
                    return "told"
        raise Failed(f"fake hub {self.own:016x}: neither told nor disconnected")

    def hello(self, *ids):
        """HELLO with ids (its own alone if none), and the hub's whole
        table up to DONE: the hub has read everything sent before."""
        self.send(b"H" + b"".join(u64(i) for i in (ids or (self.own,))))
        self.seq = 0
        self.expect(b"W")
        self.expect(b"K")

    def table(self, *records):
        self.seq += 1
        self.send(table(self.seq, *records))

    def sync(self):
        """A probe, echoed by the root to every hub below: the hub has read
        everything this fake sent before (only once it joined)."""
        nonce = os.urandom(16)
        self.send(b"P" + u64(self.sent) + nonce)
        self.expect(b"P", DOWN, b"\x01" + nonce)  # every publication before it arrived

    def close(self):
        self.sock.disable_monitor()
        self.monitor.close()
        self.sock.close()


def mark_leaf(stage, below):
    """A record of a marker from a joined fake, counted at the leaf: the
    leaf has read everything the root sent it before. Then released."""
    topic = marker()
    base = leaf.count(topic)  # the subscribers of everything
    below.table(record(1, below.own, 1 << 40, topic))
    leaf.wait(stage, topic, base + 1)
    below.table(record(0, below.own, 1 << 40, topic))
    leaf.wait(stage, topic, base)


def settle_subscribers(stage, *subs):
    """Both hubs count these subscribers (of everything) before the case."""
    for hub in (root, leaf):
        hub.wait(stage, "~anything", len(subs))


# --- cases: a fake hub below the root -------------------------------------------


def case_garbage():
    """Garbage of every kind before HELLO, and truncated or lying messages
    of every kind after: nothing counted, nothing delivered but what is a
    publication, exactly."""
    root_id, leaf_id = root.id(), leaf.id()
    subs = [subscriber(ENV["ROOT_BACKEND"], b""), subscriber(ENV["LEAF_BACKEND"], b"")]
    settle_subscribers("start", *subs)
    fake = Below(ENV["ROOT_FEDERATION"])
    # Before HELLO: nothing counts, however well formed.
    fake.send(
        b"",
        b"H",
        b"H" + b"\x07" * 7,
        b"U" + u64(fake.own),
        table(1, record(1, fake.own, 1, b"event")),
        b"T",
        b"E" + b"event before hello",
        multipart(b"event", b"before hello"),
        b"P" + b"nonce",
        b"L" + u64(99),
        b"Z" * 100,
        b"\x02event",
        b"\xff" * 3,
    )
    fake.hello()
    fed = root.fed()
    check("before HELLO", "root: events from below", 0, fed["events_from_below"])
    check("before HELLO", "root: foreign records", 0, fed["foreign_records"])
    check("before HELLO", "root: subtree subscribers", 2, fed["subtree_subscribers"])
    check("before HELLO", "root: count of 'event'", 2, root.count("event"))
    # After HELLO: each kind short or lying. TABLE 1 holds one whole record,
    # then one whose prefix runs past the end; TABLE 2 a cut record head;
    # TABLE 3 ops that are none.
    fake.send(b"H", b"H" + u64(fake.own) + b"\x02" * 3)  # a HELLO again, and 3 bytes past its ids
    fake.expect(b"W")
    fake.expect(b"K")
    own = fake.own
    fake.send(
        b"U",
        b"U" + b"\x05" * 5,
        b"T" + b"\x00" * 7,
        b"L" + b"\x01" * 3,
        b"L",
        b"E",  # a publication of one empty frame
        b"P",  # a probe of an empty nonce: echoed, answers nobody
        b"M",
        b"M\x00\x00\x00",
        multipart(count=0),
        multipart(b"event lies", count=2),
        multipart(b"event", b"lies", count=3),
        multipart(b"event", b"lies", count=0xFFFFFFFF),
        b"M" + struct.pack(">II", 1, 0xFFFFFFFF) + b"event",
        b"M" + struct.pack(">II", 1, 100) + b"event short",
        b"M" + struct.pack(">II", 2, 5) + b"event" + struct.pack(">I", 10) + b"x",
        multipart(b"event whole"),
        table(1, record(1, own, 1, b"event"), record(1, own, 2, b"event", size=300)),
        table(2, record(1, own, 3, b"event")[:10]),
        table(3, record(4, own, 4, b"event"), record(255, own, 5, b"event")),
        b"E" + b"~end",
    )
    fake.seq = 3
    for index, sub in enumerate(subs):
        got = read_until(sub, b"~end")
        check("after HELLO", f"subscriber {index + 1} read", [[b""], [b"event whole"]], got)
    fake.sync()
    fed = root.fed()
    check("after HELLO", "root: events from below", 3, fed["events_from_below"])
    check("after HELLO", "root: foreign records (ops 4 and 255)", 2, fed["foreign_records"])
    check("after HELLO", "root: resyncs", 0, fed["resyncs"])
    check("after HELLO", "root: count of 'event'", 3, root.count("event"))
    check("after HELLO", "root: subtree subscribers", 3, fed["subtree_subscribers"])
    link = [l for l in fed["links"] if l["hub"] == f"{own:016x}"]
    link = [(l["state"], l["hubs"], l["subscribers"]) for l in link]
    check("after HELLO", "root: the fake's link", [("joined", 1, 1)], link)
    mark_leaf("after HELLO", fake)
    leaf.wait("after HELLO", "event", 3)
    leaf_unharmed("after HELLO", root_id, leaf_id)
    fake.close()
    root.wait("fake gone", "event", 2)
    leaf.wait("fake gone", "event", 2)
    for sub in subs:
        sub.close()


def case_records():
    """Records for origins that are not the link's: counted nowhere; a
    fake's records never touch another hub's subscribers."""
    root_id, leaf_id = root.id(), leaf.id()
    subs = [subscriber(ENV["ROOT_BACKEND"], b"event"), subscriber(ENV["LEAF_BACKEND"], b"event")]
    for hub in (root, leaf):
        hub.wait("start", "event", 2)
    fake = Below(ENV["ROOT_FEDERATION"])
    other = fresh_id()
    fake.hello(fake.own, other)
    stranger = fresh_id()
    fake.table(
        record(1, fake.own, 1, b"event"),
        record(1, other, 1, b"event"),
        record(1, other, 1, b"ev"),  # the same subscriber, another prefix
        record(1, root_id, 1, b"event"),  # the root's own
        record(1, leaf_id, 1, b"event"),  # the leaf's, by another link
        record(1, stranger, 1, b"event"),  # nobody's
        record(1, fake.own, 2, b"e" * 2000),  # over --max-topic-size
        record(1, fake.own, 1, b"event"),  # again: unchanged
    )
    fake.sync()
    fed = root.fed()
    check("records", "root: foreign records", 3, fed["foreign_records"])
    check("records", "root: count of 'event'", 4, root.count("event"))
    link = [l["subscribers"] for l in fed["links"] if l["hub"] == f"{fake.own:016x}"]
    check("records", "root: the fake's subscribers (not the oversize one)", [2], link)
    check("records", "root: subtree subscribers", 4, fed["subtree_subscribers"])
    mark_leaf("records", fake)
    check("records", "leaf: count of 'event'", 4, leaf.count("event"))
    # Gone and lost, of its own and of others: only its own go.
    fake.table(
        record(3, leaf_id, 0, b""),
        record(2, root_id, 1, b""),
        record(3, root_id, 0, b""),
        record(3, other, 0, b""),
        record(2, fake.own, 1, b""),
    )
    fake.sync()
    check("gone", "root: foreign records", 6, root.fed()["foreign_records"])
    check("gone", "root: count of 'event'", 2, root.count("event"))
    mark_leaf("gone", fake)
    check("gone", "leaf: count of 'event'", 2, leaf.count("event"))
    # HUBS that take in the leaf: refused, told under its own id, which is
    # its alone; the leaf is untouched.
    fake.table(record(1, fake.own, 7, b"event"))
    fake.send(b"U" + u64(fake.own) + u64(leaf_id))
    fake.expect(b"R")
    root.wait("refused", "event", 2)
    link = dict(link_states(root))[f"{fake.own:016x}"]
    check("refused", "root: the fake's link", "refused", link)
    leaf_unharmed("refused", root_id, leaf_id)
    fake.close()
    for sub in subs:
        sub.close()
    for hub in (root, leaf):
        hub.wait("end", "event", 0)


def case_resync():
    """A sequence gap asks the link for its whole table again: no table it
    sends counts until its next HELLO, which starts it over."""
    root_id, leaf_id = root.id(), leaf.id()
    subs = [subscriber(ENV["ROOT_BACKEND"], b""), subscriber(ENV["LEAF_BACKEND"], b"")]
    settle_subscribers("start", *subs)
    fake = Below(ENV["ROOT_FEDERATION"])
    fake.hello()
    fake.table(record(1, fake.own, 1, b"event"))
    fake.sync()
    root.wait("joined", "event", 3)
    fake.send(table(3, record(1, fake.own, 3, b"event")))
    fake.expect(b"Y")
    check("gap", "root: resyncs", 1, root.fed()["resyncs"])
    # Until HELLO: late tables and hub lists are not taken; publications
    # are (only the table was cut: a publication lost here would fail the
    # publisher's next probe instead).
    fake.send(
        table(2, record(1, fake.own, 2, b"event")),
        table(1, record(1, fake.own, 4, b"event")),
        b"E" + b"event after the gap",
        b"U" + u64(fake.own) + u64(leaf_id),
    )
    fake.hello()
    fed = root.fed()
    check("HELLO again", "root: resyncs", 1, fed["resyncs"])
    check("HELLO again", "root: events from below", 1, fed["events_from_below"])
    check("HELLO again", "root: count of 'event' (the fake's dropped)", 2, root.count("event"))
    fake.table(record(1, fake.own, 5, b"event"))
    fake.send(b"E" + b"~end")
    for index, sub in enumerate(subs):
        check(
            "HELLO again",
            f"subscriber {index + 1} read",
            [[b"event after the gap"]],
            read_until(sub, b"~end"),
        )
    root.wait("HELLO again", "event", 3)
    # The same sequence number twice is a gap too.
    fake.send(table(1, record(1, fake.own, 6, b"event")))
    fake.expect(b"Y")
    check("repeat", "root: resyncs", 2, root.fed()["resyncs"])
    check("repeat", "root: count of 'event'", 3, root.count("event"))
    fake.hello()
    mark_leaf("end", fake)
    check("end", "leaf: count of 'event'", 2, leaf.count("event"))
    leaf_unharmed("end", root_id, leaf_id)
    fake.close()
    for sub in subs:
        sub.close()


def case_claims():
    """HELLOs claiming ids that are not the sender's to claim: the leaf's,
    the root's own, 0, a loop. The leaf (with a subscriber of everything,
    whose interest brings it what is addressed to other hubs) stays
    joined, and is told nothing; a claimer is told why under its own id
    only when that id is its alone, else disconnected."""
    root_id, leaf_id = root.id(), leaf.id()
    subs = [subscriber(ENV["LEAF_BACKEND"], b""), subscriber(ENV["LEAF_BACKEND"], b"event")]
    settle_subscribers("start", subs[0])
    root.wait("start", "event", 2)
    # A fake that plays by the rules, but for naming itself thrice: one hub.
    witness = Below(ENV["ROOT_FEDERATION"])
    witness.hello(witness.own, witness.own, witness.own)
    links = root.fed()["links"]
    link = [(l["state"], l["hubs"]) for l in links if l["hub"] == f"{witness.own:016x}"]
    check("thrice", "root: its link", [("joined", 1)], link)
    peers = [witness]

    def claim(stage, own, *ids, outcome):
        fake = Below(ENV["ROOT_FEDERATION"], own)
        peers.append(fake)
        fake.send(b"H" + b"".join(u64(i) for i in ids))
        got = fake.refusal()
        mark_leaf(stage, witness)
        leaf_unharmed(stage, root_id, leaf_id)
        check(stage, "the claimer", outcome, got)

    claim("the leaf's id", leaf_id, leaf_id, outcome="disconnected")
    claim("the leaf's id in a loop", leaf_id, leaf_id, root_id, outcome="disconnected")
    claim("the root's id", root_id, root_id, outcome="disconnected")
    loop = fresh_id()
    claim("a loop", loop, loop, root_id, outcome="told")
    # Id 0, first or later: not a HELLO at all; a HELLO after them is.
    zero = Below(ENV["ROOT_FEDERATION"])
    peers.append(zero)
    zero.send(b"H" + u64(0), b"H" + u64(0) + u64(root_id), b"H" + u64(zero.own) + u64(0))
    zero.hello()
    mark_leaf("id 0", witness)
    leaf_unharmed("id 0", root_id, leaf_id)
    check("claims", "root: count of 'event'", 2, root.count("event"))
    check("claims", "leaf: count of 'event'", 2, leaf.count("event"))
    for fake in peers:
        fake.close()
    for sub in subs:
        sub.close()


def case_reserved():
    """Publications on reserved topics from below, at the root and through
    the leaf: no subscriber reads one, and no hub takes one for a control
    message."""
    root_id, leaf_id = root.id(), leaf.id()
    subs = [subscriber(ENV["ROOT_BACKEND"], b""), subscriber(ENV["LEAF_BACKEND"], b"")]
    settle_subscribers("start", *subs)
    root_fake = Below(ENV["ROOT_FEDERATION"])
    root_fake.hello()
    leaf_fake = Below(ENV["LEAF_FEDERATION"])
    leaf_fake.hello()
    to_leaf = DOWN + b"/%016x" % leaf_id
    welcome = b"\0W" + u64(fresh_id()) + u64(0)
    forged = [
        DOWN + b"\0R" + b"you are refused",
        to_leaf + b"\0R" + b"you are refused",
        to_leaf + b"\0Y",
        to_leaf + welcome,
        DOWN + b"\0T" + u64(1) + record(1, fresh_id(), 1, b"event"),
        b"$herald\0" + b"H\x02" + b"\0" * 16,
        b"$herald/probe\0H\x02" + u64(7) + u64(1) + b"nonce",
    ]
    messages = [b"E" + m for m in forged]
    messages += [multipart(m) for m in forged]
    messages += [multipart(DOWN, b"\0R" + b"you are refused"), multipart(to_leaf + b"\0Y", b"")]
    root_fake.send(*messages)
    leaf_fake.send(*messages)
    root_fake.send(b"E" + b"~end/root")
    leaf_fake.send(b"E" + b"~end/leaf")
    for index, sub in enumerate(subs):
        got = read_until(sub, b"~end/root", b"~end/leaf")
        check("reserved", f"subscriber {index + 1} read", [], got)
    invalid = root.stats()["messages"]["invalid"]
    check("reserved", "root: invalid publications", 2 * len(messages), invalid)
    mark_leaf("reserved", root_fake)
    leaf_unharmed("reserved", root_id, leaf_id)
    below_leaf = [(f"{leaf_fake.own:016x}", "joined")]
    check("reserved", "leaf: its own link below", below_leaf, link_states(leaf))
    root_fake.close()
    leaf_fake.close()
    for sub in subs:
        sub.close()


def case_multipart():
    """Messages up of several frames are none of the link protocol's: each
    is dropped whole, whatever its frames hold, and the hub never waits
    for a rest that will not come."""
    root_id, leaf_id = root.id(), leaf.id()
    subs = [subscriber(ENV["ROOT_BACKEND"], b"")]
    root.wait("start", "~anything", 1)
    fake = Below(ENV["ROOT_FEDERATION"])
    fake.send(b"\x01held")
    fake.sock.send_multipart([b"H" + u64(fake.own), b"more"])
    # Ending in a subscription held already, which the XPUB would drop.
    fake.sock.send_multipart([b"E" + b"event 1", b"\x01held"])
    root.answers("a rest that never comes")
    fake.hello()
    fake.sock.send_multipart([b"E" + b"event 2", b"\x01held"])
    root.answers("a rest that never comes, joined")
    fake.sock.send_multipart([b"E" + b"event 3", b"frame"])
    fake.sock.send_multipart([table(1, record(1, fake.own, 1, b"event")), b""])
    fake.sock.send_multipart([multipart(b"event 4"), b"x", b"y"])
    fake.sock.send_multipart([b"P" + b"nonce", b"x"])
    fake.send(b"E" + b"~end")
    check("multipart", "subscriber read", [], read_until(subs[0], b"~end"))
    fake.sync()
    fed = root.fed()
    check("multipart", "root: events from below", 1, fed["events_from_below"])
    check("multipart", "root: count of 'event'", 1, root.count("event"))
    fake.table(record(1, fake.own, 1, b"event"))  # sequence 1: the first counted
    root.wait("multipart", "event", 2)
    leaf_unharmed("multipart", root_id, leaf_id)
    fake.close()
    subs[0].close()


def case_ids():
    """A hub below claiming a subtree of 250,000 hubs, and a table of
    80,000 records for none of them; another such hub: each answered at
    once, the hub never held still."""
    root_id, leaf_id = root.id(), leaf.id()
    many = 250000
    first = Below(ENV["ROOT_FEDERATION"])
    ids = [first.own] + [fresh_id() for _ in range(many - 1)]
    start = time.monotonic()
    first.hello(*ids)
    foreign = [record(1, fresh_id(), serial, b"event") for serial in range(80000)]
    first.table(*foreign)
    first.sync()
    second = Below(ENV["ROOT_FEDERATION"])
    second.hello(second.own, *[fresh_id() for _ in range(many - 1)])
    second.send(table(1, *foreign))
    second.sync()
    elapsed = time.monotonic() - start
    print(f"ok {CASE}: two hubs of {many} ids, {len(foreign)} records each: {elapsed:.2f} s")
    fed = root.fed()
    check("ids", "root: foreign records", 2 * len(foreign), fed["foreign_records"])
    hubs = sorted(l["hubs"] for l in fed["links"] if l["hub"] != f"{leaf_id:016x}")
    check("ids", "root: hubs of each fake", [many, many], hubs)
    check("ids", "handled within 10 s", True, elapsed < 10)
    # Both leave: their links go, and the leaf stays.
    first.close()
    second.close()
    wait_links("ids", root, [(f"{leaf_id:016x}", "joined")])
    leaf_unharmed("ids", root_id, leaf_id)


def case_huge():
    """A TABLE just under the federation port's frame limit, of 90,000 of
    the link's own subscribers: all counted, at the root and the leaf, and
    none once it left; then one over the limit: disconnected."""
    root_id, leaf_id = root.id(), leaf.id()
    fake = Below(ENV["ROOT_FEDERATION"])
    fake.hello()
    records = [record(1, fake.own, serial, b"huge") for serial in range(90000)]
    fake.table(*records)
    root.wait("huge", "huge", 90000)
    leaf.wait("huge", "huge", 90000)
    fake.close()
    root.wait("gone", "huge", 0)
    leaf.wait("gone", "huge", 0)
    big = Below(ENV["ROOT_FEDERATION"])
    big.hello()
    big.send(table(1, record(1, big.own, 1, b"huge")) + b"\0" * (4 << 20))
    check("over the limit", "disconnected", True, big.disconnected())
    big.close()
    check("over the limit", "root: count of 'huge'", 0, root.count("huge"))
    leaf_unharmed("huge", root_id, leaf_id)


def case_churn():
    """200 fake hubs that connect and leave in five ways, some mid-table:
    none is left counted, or listed."""
    root_id, leaf_id = root.id(), leaf.id()
    subs = [subscriber(ENV["ROOT_BACKEND"], b"event"), subscriber(ENV["LEAF_BACKEND"], b"event")]
    root.wait("start", "event", 2)
    for index in range(200):
        way = index % 5
        fake = Below(ENV["ROOT_FEDERATION"])
        if way >= 1:
            fake.send(b"H" + u64(fake.own))
        if way >= 2:
            fake.send(table(1, *[record(1, fake.own, serial, b"event") for serial in range(50)]))
        if way >= 3:
            fake.send(b"E" + b"~churn")
        if way == 4:
            fake.expect(b"K")  # welcomed: its records are counted, or about to be
        fake.close()
    for hub in (root, leaf):
        hub.wait("churned", "event", 2)
    wait_links("churned", root, [(f"{leaf_id:016x}", "joined")])
    check("churned", "root: subtree subscribers", 2, root.fed()["subtree_subscribers"])
    leaf_unharmed("churned", root_id, leaf_id)
    for sub in subs:
        sub.close()


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise Failed(f"no VmRSS for {pid}")


def case_slow():
    """A fake hub below that takes every publication and reads none: the
    root (--hwm 100, --no-drop-slow) drops for it at the queue limit, and
    neither waits for it nor grows; a real subscriber reads every one."""
    root_id, leaf_id = root.id(), leaf.id()
    pid = int(ENV["ROOT_PID"])
    fake = Below(ENV["ROOT_FEDERATION"], connect=False)
    fake.sock.rcvhwm = 1
    fake.sock.rcvbuf = 4096
    fake.send(b"\x01")
    fake.connect()
    fake.hello()
    fake.sync()
    sub = subscriber(ENV["ROOT_BACKEND"], b"slow")
    root.wait("start", "slow", 1)
    before = rss_kb(pid)
    pub = ctx.socket(zmq.PUB)
    pub.sndhwm = 0
    pub.connect(ENV["ROOT_FRONTEND"])
    # The frontend subscribes to everything once connected: a probe proves
    # the path (docs/protocol.md), in the multipart layout.
    nonce = os.urandom(8).hex()
    req = ctx.socket(zmq.REQ)
    req.connect(ENV["ROOT_CONTROL"])
    req.send_multipart([b"PROBE", nonce.encode(), b"%d" % DEADLINE_MS])
    while not req.poll(10):
        pub.send_multipart([b"$herald/probe", nonce.encode()])
    check("start", "probe", b"OK", req.recv_multipart()[0])
    req.close()
    events, size = 3000, 65536
    payload = b"x" * size
    for index in range(events):
        pub.send_multipart([b"slow", b"%d" % index + payload])
    pub.send_multipart([b"slow", b"~end"])
    got = 0
    while True:
        try:
            frames = sub.recv_multipart()
        except zmq.Again:
            raise Failed(f"the subscriber stopped after {got} publications")
        if frames[1] == b"~end":
            break
        if not frames[1].startswith(b"%d" % got):
            raise Failed(f"publication {got} out of order")
        got += 1
    check("slow", "the subscriber read", events, got)
    grown = rss_kb(pid) - before
    print(f"ok {CASE}: the root grew by {grown} kB for {events * size // 1024} kB published")
    check("slow", "root grew by less than 64 MB", True, grown < 65536)
    fake.sock.rcvtimeo = 0
    root.answers("slow")
    link = dict(link_states(root))[f"{fake.own:016x}"]
    check("slow", "root: its link to the fake", "joined", link)
    leaf_unharmed("slow", root_id, leaf_id)
    pub.close()
    sub.close()
    fake.close()


# --- the case of a fake hub above the root ------------------------------------------


class Above:
    """A fake upstream: an XPUB the root joins below (--upstream). It
    keeps the root's subtree as the root sends it up (HELLO starts it
    over, TABLEs change it), welcomes the root with it as the whole
    federation's table, and sends later TABLEs down as a root above
    would."""

    def __init__(self, endpoint):
        self.sock = ctx.socket(zmq.XPUB)
        self.sock.rcvtimeo = DEADLINE_MS
        self.sock.sndhwm = 0
        self.sock.bind(endpoint)
        self.own = fresh_id()
        self.seq = 10
        self.held = {}  # (origin, serial) -> prefixes, of the root's subtree
        self.pending = []  # records read since the last welcome or reflect
        self.hellos = 0

    def take(self, frame):
        kind = frame[:1]
        if kind == b"H":
            self.hellos += 1
            self.held, self.pending = {}, []
        elif kind == b"T":
            at = 9
            while at + 19 <= len(frame):
                op, origin, serial, size = struct.unpack(">BQQH", frame[at : at + 19])
                prefix = frame[at + 19 : at + 19 + size]
                self.pending.append(frame[at : at + 19 + size])
                at += 19 + size
                prefixes = self.held.setdefault((origin, serial), set())
                if op == 1:
                    prefixes.add(prefix)
                elif op == 0:
                    prefixes.discard(prefix)
                else:
                    raise Failed(f"the root sent op {op} up")
                if not prefixes:
                    del self.held[(origin, serial)]

    def read(self, until):
        """Read what the root sends up until until() holds."""
        while not until():
            try:
                self.take(self.sock.recv())
            except zmq.Again:
                raise Failed(
                    f"the root sent up {self.hellos} HELLOs and {len(self.held)} subscribers"
                )

    def subscribers(self, count, hellos=None):
        """Read until the root's subtree holds count subscribers (after
        that many HELLOs)."""
        self.read(lambda: len(self.held) == count and (hellos is None or self.hellos == hellos))

    def down(self, kind, body=b"", to=None):
        topic = DOWN + (b"/%016x" % to if to else b"")
        self.sock.send(topic + b"\0" + kind + body)

    def welcome(self, to):
        """WELCOME, the whole table (the root's subtree, and a subscriber
        of this hub's own holding a marker), DONE; returns once the root
        counts from it."""
        self.down(b"W", u64(self.own) + u64(self.seq), to)
        topic = marker()
        records = [record(1, self.own, 1, topic)]
        for (origin, serial), prefixes in self.held.items():
            records += [record(1, origin, serial, prefix) for prefix in prefixes]
        self.down(b"T", u64(0) + b"".join(records), to)
        self.down(b"K", b"", to)
        self.pending = []
        root.wait("welcomed", topic, len(self.held) + 1)
        self.marker = topic

    def reflect(self):
        """What the root sent up since, down to every hub."""
        self.seq += 1
        self.down(b"T", u64(self.seq) + b"".join(self.pending))
        self.pending = []


def case_upstream():
    """A hub above the root that sends garbage, lies and control messages
    meant for others; the root keeps its counts and its leaf, which is
    never told any of it; once it is gone, the root counts alone again."""
    root_id, leaf_id = root.id(), leaf.id()
    above = Above(ENV["FAKE_UPSTREAM"])
    subs = [subscriber(ENV["ROOT_BACKEND"], b""), subscriber(ENV["LEAF_BACKEND"], b"")]
    # Before WELCOME, the root counts its subtree: these two.
    settle_subscribers("joining", *subs)
    above.subscribers(2, hellos=1)
    other = fresh_id()
    # Garbage, short messages, and messages for other hubs.
    for message in [
        DOWN,
        DOWN + b"\0",
        DOWN + b"\0W" + b"\x01" * 15,
        DOWN + b"\0T" + b"\x00" * 7,
        DOWN + b"\0K",
        DOWN + b"\0Q",
        DOWN + b"X\0R" + b"refused?",
        DOWN + b"/%016x\0R" % other + b"refused?",
        DOWN + b"/%016x\0R" % leaf_id + b"refused?",
        DOWN + b"/%016x\0Y" % other,
        DOWN + b"/%016x\0W" % other + u64(other) + u64(0),
        DOWN + b"/%016x" % root_id,
    ]:
        above.sock.send(message)
    above.sock.send_multipart([DOWN + b"/%016x\0R" % root_id, b"refused?"])
    above.sock.send_multipart([DOWN + b"\0Y", b""])
    # Now the WELCOME, with the root's subtree: it counts from this.
    above.welcome(root_id)
    fed = root.fed()
    up = (fed["upstream"]["state"], fed["upstream"]["hub"], fed["resyncs"], above.hellos)
    expected = ("joined", f"{above.own:016x}", 0, 1)
    check("welcomed", "root: upstream state and hub, resyncs, HELLOs", expected, up)
    root.wait("welcomed", "~anything", 2)
    # Lies: a record whose prefix runs past the end, ops that are none, a
    # record cut short.
    stranger = fresh_id()
    above.seq += 1
    lies = record(1, stranger, 1, b"~stranger") + record(1, stranger, 2, b"~stranger", size=400)
    above.down(b"T", u64(above.seq) + lies)
    above.seq += 1
    lies = record(7, stranger, 3, b"~stranger") + record(1, stranger, 4, b"~stranger")[:5]
    above.down(b"T", u64(above.seq) + lies)
    root.wait("lies", "~stranger", 3)
    leaf.wait("lies", "~stranger", 3)
    # Publications from above: reserved ones are nobody's.
    above.sock.send_multipart([DOWN, b"\0R" + b"refused?"])
    above.sock.send_multipart([DOWN + b"/%016x\0Y" % leaf_id, b""])
    above.sock.send_multipart([b"$herald", b"x"])
    above.sock.send(b"$herald/probe\0H\x02" + u64(7) + u64(1) + b"nonce")
    above.sock.send_multipart([b"event", b"from above"])
    above.sock.send(b"~end")
    for index, sub in enumerate(subs):
        got = read_until(sub, b"~end")
        check("from above", f"subscriber {index + 1} read", [[b"event", b"from above"]], got)
    # A gap: the root asks again, with HELLO, and is welcomed again.
    above.seq += 5
    above.down(b"T", u64(above.seq) + record(1, stranger, 5, b"~stranger"))
    above.subscribers(2, hellos=2)
    check("gap", "root: resyncs", 1, root.fed()["resyncs"])
    above.welcome(root_id)
    # RESYNC: the same, once more.
    above.down(b"Y", b"", root_id)
    above.subscribers(2, hellos=3)
    above.welcome(root_id)
    root.wait("resync", "~stranger", 2)
    leaf.wait("resync", "~stranger", 2)
    check("resync", "root: resyncs", 2, root.fed()["resyncs"])
    # Counting from the table above: a subscriber more at the leaf, counted
    # once its record went up and came back down.
    third = subscriber(ENV["LEAF_BACKEND"], b"event")
    above.subscribers(3)
    check("reflected", "root: count of 'event' before it came down", 2, root.count("event"))
    above.reflect()
    root.wait("reflected", "event", 3)
    leaf.wait("reflected", "event", 3)
    fed = leaf.fed()
    check("leaf", "leaf: upstream state", "joined", fed["upstream"]["state"])
    check("leaf", "leaf: resyncs", 0, fed["resyncs"])
    check("leaf", "root: the leaf's link", "joined", dict(link_states(root)).get(f"{leaf_id:016x}"))
    check("leaf", "HELLOs from the root", 3, above.hellos)
    # Gone: the root counts its subtree alone, where this hub's subscriber
    # holding the marker is not.
    above.sock.close()
    root.wait("alone", above.marker, 2)
    root.wait("alone", "event", 3)
    check("alone", "root: upstream state", "connecting", root.fed()["upstream"]["state"])
    third.close()
    for sub in subs:
        sub.close()
    for hub in (root, leaf):
        hub.wait("end", "event", 0)


CASES = {
    "garbage": case_garbage,
    "records": case_records,
    "resync": case_resync,
    "claims": case_claims,
    "reserved": case_reserved,
    "multipart": case_multipart,
    "ids": case_ids,
    "huge": case_huge,
    "churn": case_churn,
    "slow": case_slow,
    "upstream": case_upstream,
}

if __name__ == "__main__":
    code = 0
    try:
        CASES[CASE]()
        print(f"PASS {CASE}")
    except Failed as failure:
        print(f"FAIL {CASE}: {failure}", flush=True)
        code = 1
    except Exception:  # a fault of this helper's, or pyzmq's
        traceback.print_exc(file=sys.stdout)
        code = 2
    ctx.destroy(linger=0)
    sys.exit(code)
