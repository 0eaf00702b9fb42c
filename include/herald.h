/*  herald.h - version, exit codes and named constants; no ZeroMQ here.

    Every number that shapes herald's behaviour is defined here once, with
    the reason for its value. Modules include this header and their own. */

#ifndef HERALD_H_INCLUDED
#define HERALD_H_INCLUDED

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#ifndef HERALD_VERSION
#define HERALD_VERSION "0.0.0"
#endif

//  Exit codes follow sysexits(3); docs/operations.md lists them and tests check them.
#define HERALD_EXIT_OK          0
#define HERALD_EXIT_USAGE       64   //  bad option, value or environment variable
#define HERALD_EXIT_DATAERR     65   //  events lost: pub's connection dropped, sub saw a gap
#define HERALD_EXIT_UNAVAILABLE 69   //  cannot bind, hub unreachable, wait timed out
#define HERALD_EXIT_NOINPUT     66   //  pub: its --file or --lines cannot be read
#define HERALD_EXIT_SOFTWARE    70   //  internal error; a demo child failed
#define HERALD_EXIT_OSERR       71   //  fork, exec or another system call failed
#define HERALD_EXIT_CANTCREAT   73   //  keygen cannot write its files
#define HERALD_EXIT_CONFIG      78   //  a CURVE key file cannot be read
#define HERALD_EXIT_SIGINT      130  //  128 + SIGINT, as shells report it
#define HERALD_EXIT_SIGTERM     143  //  128 + SIGTERM

//  Default endpoints. The hub binds this machine's loopback only, as Redis
//  and Mosquitto 2 do: a hub open to the network is a choice, made with
//  tcp://*:PORT (the container image makes it). Clients connect to the
//  local machine unless told otherwise.
#define HERALD_FRONTEND_BIND    "tcp://127.0.0.1:5559"
#define HERALD_BACKEND_BIND     "tcp://127.0.0.1:5560"
#define HERALD_CONTROL_BIND     "tcp://127.0.0.1:5561"
#define HERALD_FEDERATION_BIND  "tcp://127.0.0.1:5562"
#define HERALD_FRONTEND_CONNECT "tcp://127.0.0.1:5559"
#define HERALD_BACKEND_CONNECT  "tcp://127.0.0.1:5560"
#define HERALD_CONTROL_CONNECT  "tcp://127.0.0.1:5561"

//  The shutdown topic. Subscribers match it exactly, not as a prefix.
#define HERALD_TERMINATE "TERMINATE"

//  Topics that start with this prefix belong to herald itself: the hub
//  consumes them and never forwards them, and no client may publish on them.
#define HERALD_RESERVED_PREFIX "$herald"
//  A publisher proves its path to the hub by publishing probes on this
//  topic; a subscriber proves it is counted by subscribing to this topic,
//  "/" and a nonce (docs/protocol.md).
#define HERALD_PROBE_TOPIC "$herald/probe"

//  Queue limits, in messages, per connection and direction. libzmq's default
//  of 1,000 drops a burst of a few thousand events; 100,000 absorbs bursts
//  at the cost of at most 100,000 x message size of memory per slow peer.
#define HERALD_HWM_DEFAULT 100000

//  The hub pings each subscriber's connection this often and drops one it
//  has not heard from for HERALD_HEARTBEAT_MISSES pings; subscribers ping
//  the hub as often. Why both ways, and why no TTL: docs/operations.md,
//  "Heartbeats".
#define HERALD_HEARTBEAT_DEFAULT_MS 1000
#define HERALD_HEARTBEAT_MISSES     3
//  A link between hubs is dropped this many heartbeats after its first
//  unanswered ping: the next ping goes at most one heartbeat after the link
//  went silent, so the federation's counts follow within 3 heartbeats
//  (docs/federation.md, "Faults").
#define HERALD_LINK_HEARTBEAT_MISSES 2

//  While waiting for its probe to be seen, a publisher resends it this often:
//  a PUB socket drops silently until the hub's subscription reaches it, so
//  the probe is repeated until one arrives. Short, because it bounds how
//  long a publisher waits after its connection is up.
#define HERALD_PROBE_RESEND_MS 10

//  A client that asks the hub to wait (WAIT, PROBE) gives the hub this much
//  longer than it asked for to answer, before it reports the hub gone.
#define HERALD_CONTROL_TIMEOUT_MS 5000
//  A client that has not reached the hub after this long says it is
//  waiting for it, and where, rather than waiting in silence.
#define HERALD_CLIENT_NOTICE_MS 500

//  A publisher's default pace between events: slow enough to read the story.
#define HERALD_INTERVAL_DEFAULT_MS 100
//  How long a publisher waits for the hub and its subscribers by default.
#define HERALD_WAIT_TIMEOUT_DEFAULT_MS 30000
//  A subscriber that hears nothing for this long gives up (exit 69).
#define HERALD_IDLE_TIMEOUT_DEFAULT_MS 60000
//  A wait that returns this much later than asked means the process was
//  stopped or suspended meanwhile, not that the time passed in silence.
#define HERALD_LATE_MS 1000

//  How long a publisher's socket may take to hand over its last messages.
#define HERALD_SEND_TIMEOUT_MS 10000
//  How long the hub keeps trying to deliver queued messages when it stops.
#define HERALD_HUB_LINGER_MS 1000
//  After TERMINATE, a hub started with --exit-on-terminate waits at most
//  this long by default for its subscribers to leave.
#define HERALD_DRAIN_TIMEOUT_DEFAULT_MS 10000

//  The largest frame the hub accepts from a publisher or subscriber; a peer
//  that sends a larger one is disconnected, alone. libzmq checks a frame's
//  announced size before it allocates, so without a limit a few bytes of
//  garbage announcing an 8 EiB frame make it try to allocate that much.
#define HERALD_MAX_MESSAGE_DEFAULT (1024 * 1024)

//  Control requests larger than this are refused by libzmq (the peer is
//  disconnected), so a hostile client cannot make the hub allocate freely.
#define HERALD_CONTROL_MAX_MSG 4096
//  Control replies queued per client: a client that stops reading loses
//  replies past this, and costs the hub no more memory.
#define HERALD_CONTROL_HWM 1000
//  Deferred control replies (WAIT, PROBE) the hub holds at once; more get an
//  error reply, so a client cannot grow the hub's memory without bound.
#define HERALD_MAX_WAITERS 1024
//  ... and from one connection: a publisher or a tool has one at a time,
//  so one client cannot take the others' share.
#define HERALD_MAX_WAITERS_PER_CLIENT 16
//  STATS lists subscriptions, and then topics, while its reply is shorter
//  than this, and counts the rest: a reply of hundreds of megabytes would
//  stall the hub while it writes it.
#define HERALD_STATS_LIST_BYTES (512 * 1024)
//  Topics whose traffic the hub counts one by one (the rest together).
#define HERALD_MAX_TOPICS 10000
//  The longest subscription the hub accepts, by default; a peer that sends
//  a longer one is disconnected. libzmq keeps subscriptions in a trie that
//  it walks recursively, a level per byte: one of ~120 kB overflows the
//  stack when it is removed. Topics longer than this are not counted one
//  by one either, which bounds the counters' memory.
#define HERALD_MAX_TOPIC_DEFAULT 1024
//  ... and at most this: a subscription of 65,536 bytes already overflows
//  a 4 MiB stack.
#define HERALD_MAX_TOPIC_LIMIT 16384
//  The most subscriptions one subscriber may hold, by default; one that
//  sends more is disconnected. With --max-topic-size, it bounds what a
//  subscriber can make the hub (and libzmq's own table) hold.
#define HERALD_MAX_SUBSCRIPTIONS_DEFAULT 10000
//  Publisher ids one publisher connection may own (one per topic is the
//  protocol's advice); its events under more pass, unprotected.
#define HERALD_MAX_IDS_PER_PUBLISHER 64
//  How often a client asks again while the hub holds too many waiting
//  requests (until its --wait-timeout).
#define HERALD_BUSY_RETRY_MS 100
//  Publishers whose TERMINATE was refused that the hub remembers, to tell
//  them so when they prove their path: more than publish at once.
#define HERALD_REFUSED_REMEMBERED 64
//  The bytes a subscription's frame holds beside its topic: ZMTP 3.1's
//  SUBSCRIBE command name and its length.
#define HERALD_SUBSCRIBE_OVERHEAD 10
//  ... and at least this long: a subscriber's probe subscription
//  ($herald/probe/ and 32 hex digits) must fit.
#define HERALD_MAX_TOPIC_LEAST 64
//  Messages the hub forwards from one socket before it polls the others
//  again: draining a batch is cheap, and the bound keeps control responsive.
#define HERALD_FORWARD_BATCH 1024
//  The hub logs failed accepts (out of file descriptors) at most this often.
#define HERALD_ACCEPT_LOG_MS 60000
//  With --no-drop-slow, how often the hub retries an event that a full
//  subscriber queue refused (libzmq cannot poll an XPUB for room).
#define HERALD_SLOW_RETRY_MS 1

//  The demo's story: its pace, and the ranges of its random choices.
#define HERALD_DEMO_SUBSCRIBERS  5
#define HERALD_DEMO_EVENTS       9
#define HERALD_DEMO_INTERVAL_MS  200
#define HERALD_DEMO_MAX_READY_MS 1000
//  On Ctrl-C or SIGTERM the demo gives its children this long to exit
//  cleanly before it kills them.
#define HERALD_DEMO_KILL_AFTER_MS 3000

#ifndef streq
#define streq(s1, s2) (!strcmp ((s1), (s2)))
#endif

#endif
