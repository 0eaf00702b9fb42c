/*  bench_zmq.c - the ZeroMQ clients for four systems, and the zmq_proxy
    hub.

    direct      the publisher's PUB binds, the SUBs connect to it: no hub,
                the fastest a ZeroMQ publisher can reach its subscribers here.
    zmq_proxy   a child process runs zmq_proxy (XSUB, XPUB): what a hub that
                just forwards gets.
    herald      herald's hub, started by the driver.
    federation  two of herald's hubs, started by the driver, a leaf joined
                below a root: the publisher and its control client on the
                root, the subscribers on the leaf; otherwise as herald.

    The same one-frame message travels in all of them, herald's format:
    "event", 0x00, herald's header, payload; in the plain case, the same
    two frames in all three, "event" and the payload (bench.h), which
    herald's hub forwards as a plain publication. The publisher's PUB has
    ZMQ_XPUB_NODROP and every queue holds BENCH_HWM messages, so nothing is
    dropped. The subscribers are SUB sockets in one thread with their own
    context; the publisher runs in the driver's thread with another.

    Readiness is proven, never slept on: herald's publisher proves its path
    with PROBE and waits until the hub's WAIT counts every subscriber, as
    src/publisher.c does; direct and zmq_proxy have no count, so the
    publisher repeats a warm-up message until every subscriber has seen one
    (its subscription to the event topic went before it on the same path).
    For the federation, the root's WAIT counts the leaf's subscribers, and
    counts one only once every filter between them passes its subscription
    (docs/federation.md, "Why the guarantee composes"). In the plain case too: the event probe
   proves the PUB's connection, which every later message takes whatever its frames. After a plain
   run herald's STATS must count every publication as plain and none as an event, so that the case
   is sure to have measured the plain path. */

#include "bench.h"
#include "client.h"
#include "herald.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

//  Messages one subscriber reads before the others get their turn.
#define DRAIN_BATCH 256

typedef struct {
    run_t *run;
    void *pub_context, *sub_context;
    void *pub;
    client_t *control;  //  herald's control endpoint
    void **subs;
    zmq_pollitem_t *items;
    bool *warm;  //  per subscriber: has seen a warm-up message
    uint8_t message[sizeof BENCH_TOPIC + BENCH_MESSAGE_MAX];  //  topic + events
} zstate_t;

void
bench_zmq_endpoint (char *out, size_t size, int port)
{
    snprintf (out, size, "tcp://127.0.0.1:%d", port);
}

int
bench_zmq_set (run_t *run, void *socket, int option, const void *value, size_t size,
               const char *what)
{
    if (zmq_setsockopt (socket, option, value, size) == 0)
        return 0;
    run_fail (run, "cannot set %s: %s", what, zmq_strerror (zmq_errno ()));
    return -1;
}

int
bench_zmq_set_int (run_t *run, void *socket, int option, int value, const char *what)
{
    return bench_zmq_set (run, socket, option, &value, sizeof value, what);
}

//  Hand one message to the sink: the topic, then one or more events, each
//  starting with the 0x00 byte that ends the topic in herald's format. In
//  the plain case only the warm-up comes as one frame.
static void
s_take (zstate_t *self, int index, const uint8_t *data, size_t size)
{
    const uint8_t *events = size ? memchr (data, 0, size) : NULL;
    if (size > 0 && data[0] == BENCH_WARM_TOPIC[0]) {
        if (!self->warm[index]) {
            self->warm[index] = true;
            sink_set_ready (&self->run->sink, index);
        }
    } else if (events && self->run->mode != MODE_PLAIN)
        sink_deliver (&self->run->sink, index, events, size - (size_t) (events - data));
    else
        atomic_fetch_add (&self->run->sink.disorder, 1);
}

//  A plain publication, its first frame read: that must be the topic, and
//  the payload the second and last frame. A message of all its frames is
//  there once its first is.
static void
s_take_plain (zstate_t *self, int index, void *socket, zmq_msg_t *message)
{
    size_t topic_size = strlen (BENCH_TOPIC);
    bool topic = zmq_msg_size (message) == topic_size
                 && memcmp (zmq_msg_data (message), BENCH_TOPIC, topic_size) == 0;
    if (zmq_msg_recv (message, socket, 0) == -1)
        return;
    if (topic && !zmq_msg_more (message)) {
        sink_deliver_plain (&self->run->sink, index, zmq_msg_data (message),
                            zmq_msg_size (message));
        return;
    }
    atomic_fetch_add (&self->run->sink.disorder, 1);
    while (zmq_msg_more (message) && zmq_msg_recv (message, socket, 0) != -1)
        ;
}

//  Read everything subscriber index has ready, up to a batch.
static void
s_drain (zstate_t *self, int index, zmq_msg_t *message)
{
    void *socket = self->subs[index];
    for (int count = 0; count < DRAIN_BATCH; count++) {
        if (zmq_msg_recv (message, socket, ZMQ_DONTWAIT) == -1)
            return;
        if (zmq_msg_more (message) && self->run->mode == MODE_PLAIN) {
            s_take_plain (self, index, socket, message);
            continue;
        }
        if (zmq_msg_more (message)) {
            atomic_fetch_add (&self->run->sink.disorder, 1);
            while (zmq_msg_more (message) && zmq_msg_recv (message, socket, 0) != -1)
                ;
            continue;
        }
        s_take (self, index, zmq_msg_data (message), zmq_msg_size (message));
    }
}

//  The subscribers' thread: poll every SUB, read what is ready.
static void *
s_subscribers (void *argument)
{
    zstate_t *self = argument;
    int count = self->run->subscribers;
    zmq_msg_t message;
    zmq_msg_init (&message);
    while (!atomic_load (&self->run->stopping)) {
        int rc = zmq_poll (self->items, count, 100);
        if (rc == -1) {
            if (zmq_errno () == EINTR)
                continue;
            run_fail (self->run, "subscribers' poll failed: %s", zmq_strerror (zmq_errno ()));
            sink_set_failed (&self->run->sink, 0);
            break;
        }
        for (int index = 0; index < count && rc > 0; index++)
            if (self->items[index].revents & ZMQ_POLLIN)
                s_drain (self, index, &message);
    }
    zmq_msg_close (&message);
    return NULL;
}

//  herald: prove the path, then wait until the hub counts every subscriber,
//  as herald's own publisher does (client.c; its errors are logged).
static int
s_ready_herald (zstate_t *self)
{
    run_t *run = self->run;
    uint64_t count = 0;
    if (client_prove_publisher (self->control, self->pub, "the bench's publisher")) {
        run_fail (run, "herald's hub did not see the publisher's probe");
        return -1;
    }
    if (client_wait (self->control, BENCH_TOPIC, (uint64_t) run->subscribers,
                     (uint64_t) run->subscribers, &count)) {
        run_fail (run, "herald counted %" PRIu64 " subscribers, not %d", count, run->subscribers);
        return -1;
    }
    return 0;
}

//  direct, zmq_proxy: repeat a warm-up message until every subscriber has
//  seen one.
static int
s_ready_warm (zstate_t *self)
{
    run_t *run = self->run;
    int64_t deadline = bench_now_ns () + (int64_t) BENCH_READY_TIMEOUT_MS * 1000000;
    while (!sink_wait_ready (&run->sink, run->subscribers, BENCH_RESEND_MS)) {
        if (atomic_load (&run->sink.failed))
            return -1;
        if (bench_now_ns () > deadline) {
            run_fail (run, "%d of %d subscribers saw the warm-up within %d ms",
                      atomic_load (&run->sink.ready), run->subscribers, BENCH_READY_TIMEOUT_MS);
            return -1;
        }
        zmq_send (self->pub, BENCH_WARM_TOPIC, sizeof BENCH_WARM_TOPIC, ZMQ_DONTWAIT);
    }
    return 0;
}

static int
s_open_publisher (zstate_t *self)
{
    run_t *run = self->run;
    char endpoint[64];
    bench_zmq_endpoint (endpoint, sizeof endpoint, run->port);
    self->pub_context = zmq_ctx_new ();
    self->pub = self->pub_context ? zmq_socket (self->pub_context, ZMQ_PUB) : NULL;
    if (!self->pub) {
        run_fail (run, "cannot make the publisher: %s", zmq_strerror (zmq_errno ()));
        return -1;
    }
    if (bench_zmq_set_int (run, self->pub, ZMQ_SNDHWM, BENCH_HWM, "ZMQ_SNDHWM")
        || bench_zmq_set_int (run, self->pub, ZMQ_XPUB_NODROP, 1, "ZMQ_XPUB_NODROP")
        || bench_zmq_set_int (run, self->pub, ZMQ_SNDTIMEO, BENCH_IDLE_MS, "ZMQ_SNDTIMEO")
        || bench_zmq_set_int (run, self->pub, ZMQ_LINGER, 0, "ZMQ_LINGER"))
        return -1;
    int rc = run->kind == SYS_DIRECT ? zmq_bind (self->pub, endpoint)
                                     : zmq_connect (self->pub, endpoint);
    if (rc) {
        run_fail (run, "publisher cannot %s %s: %s", run->kind == SYS_DIRECT ? "bind" : "connect",
                  endpoint, zmq_strerror (zmq_errno ()));
        return -1;
    }
    if (!bench_herald (run->kind))
        return 0;
    bench_zmq_endpoint (endpoint, sizeof endpoint, run->port + 2);
    self->control = client_new (endpoint, &(sock_curve_t){0}, BENCH_READY_TIMEOUT_MS);
    if (!self->control) {
        run_fail (run, "cannot connect to herald's control endpoint %s", endpoint);
        return -1;
    }
    return 0;
}

static int
s_open_subscribers (zstate_t *self)
{
    run_t *run = self->run;
    int count = run->subscribers;
    char endpoint[64];
    int port = run->kind == SYS_DIRECT       ? run->port
               : run->kind == SYS_FEDERATION ? run->leaf_port + 1
                                             : run->port + 1;
    bench_zmq_endpoint (endpoint, sizeof endpoint, port);
    self->subs = backend_calloc (run, (size_t) count, sizeof *self->subs);
    self->items = backend_calloc (run, (size_t) count, sizeof *self->items);
    self->warm = backend_calloc (run, (size_t) count, sizeof *self->warm);
    if (!self->subs || !self->items || !self->warm)
        return -1;
    self->sub_context = zmq_ctx_new ();
    if (!self->sub_context) {
        run_fail (run, "cannot make the subscribers' context: %s", zmq_strerror (zmq_errno ()));
        return -1;
    }
    //  A context has 1,023 sockets by default; 256 subscribers fit.
    for (int index = 0; index < count; index++) {
        void *socket = zmq_socket (self->sub_context, ZMQ_SUB);
        if (!socket) {
            run_fail (run, "cannot make subscriber %d: %s", index, zmq_strerror (zmq_errno ()));
            return -1;
        }
        self->subs[index] = socket;
        self->items[index] = (zmq_pollitem_t){socket, 0, ZMQ_POLLIN, 0};
        //  The event subscription goes first: when the warm-up has come
        //  through, the event subscription has reached every hop before it.
        if (bench_zmq_set_int (run, socket, ZMQ_RCVHWM, BENCH_HWM, "ZMQ_RCVHWM")
            || bench_zmq_set_int (run, socket, ZMQ_LINGER, 0, "ZMQ_LINGER")
            || bench_zmq_set (run, socket, ZMQ_SUBSCRIBE, BENCH_TOPIC, strlen (BENCH_TOPIC),
                              "ZMQ_SUBSCRIBE")
            || (!bench_herald (run->kind)
                && bench_zmq_set (run, socket, ZMQ_SUBSCRIBE, BENCH_WARM_TOPIC,
                                  strlen (BENCH_WARM_TOPIC), "ZMQ_SUBSCRIBE")))
            return -1;
        //  As herald sub does: ping the hub, so that one far behind is not
        //  taken for dead (its full queue stops libzmq reading the hub's
        //  pings).
        if (bench_herald (run->kind)
            && sock_set_heartbeat (socket, HERALD_HEARTBEAT_DEFAULT_MS, false)) {
            run_fail (run, "cannot set heartbeats: %s", zmq_strerror (zmq_errno ()));
            return -1;
        }
        if (zmq_connect (socket, endpoint)) {
            run_fail (run, "subscriber cannot connect to %s: %s", endpoint,
                      zmq_strerror (zmq_errno ()));
            return -1;
        }
    }
    //  From here on only the thread touches the SUB sockets.
    return backend_start_reader (run, s_subscribers, self);
}

static int
s_open (run_t *run)
{
    zstate_t *self = run->state;
    self->run = run;
    //  direct: the publisher binds before the subscribers connect to it.
    if (run->kind == SYS_DIRECT && s_open_publisher (self))
        return -1;
    if (s_open_subscribers (self))
        return -1;
    if (run->kind != SYS_DIRECT && s_open_publisher (self))
        return -1;
    return bench_herald (run->kind) ? s_ready_herald (self) : s_ready_warm (self);
}

//  The plain case: the topic, then the payload, two frames.
static int
s_publish_plain (zstate_t *self, const uint8_t *payload, size_t size)
{
    if (zmq_send (self->pub, BENCH_TOPIC, strlen (BENCH_TOPIC), ZMQ_SNDMORE) == -1
        || zmq_send (self->pub, payload, size, 0) == -1) {
        run_fail (self->run, "publisher cannot send: %s", zmq_strerror (zmq_errno ()));
        return -1;
    }
    return 0;
}

//  Send topic and events as one frame: herald's format.
static int
s_publish (run_t *run, const uint8_t *body, size_t size)
{
    zstate_t *self = run->state;
    if (run->mode == MODE_PLAIN)
        return s_publish_plain (self, body, size);
    size_t topic_size = strlen (BENCH_TOPIC);
    if (topic_size + size > sizeof self->message) {
        run_fail (run, "a message of %zu bytes does not fit", size);
        return -1;
    }
    memcpy (self->message, BENCH_TOPIC, topic_size);
    memcpy (self->message + topic_size, body, size);
    if (zmq_send (self->pub, self->message, topic_size + size, 0) == -1) {
        run_fail (run, "publisher cannot send: %s", zmq_strerror (zmq_errno ()));
        return -1;
    }
    return 0;
}

static int
s_flush (run_t *run)
{
    //  Everything is queued in the publisher's socket, which is not closed
    //  before the subscribers have it all or the run has given up.
    (void) run;
    return 0;
}

static void
s_close (run_t *run)
{
    zstate_t *self = run->state;
    for (int index = 0; self->subs && index < run->subscribers; index++)
        if (self->subs[index])
            zmq_close (self->subs[index]);
    if (self->pub)
        zmq_close (self->pub);
    client_destroy (&self->control);
    if (self->sub_context)
        zmq_ctx_term (self->sub_context);
    if (self->pub_context)
        zmq_ctx_term (self->pub_context);
    free (self->subs);
    free (self->items);
    free (self->warm);
}

//  A field of the "messages" object of herald's STATS, or -1 if absent.
static int
s_stats_field (const char *json, const char *name, uint64_t *value)
{
    char key[32];
    snprintf (key, sizeof key, "\"%s\":", name);
    const char *messages = strstr (json, "\"messages\":{");
    const char *found = messages ? strstr (messages, key) : NULL;
    char *end = NULL;
    if (found)
        *value = strtoull (found + strlen (key), &end, 10);
    return found && end != found + strlen (key) ? 0 : -1;
}

//  herald, plain case: the hub counted every publication as plain, in and
//  out (once each: out counts what the backend accepted, not its copies),
//  and none as an event.
static int
s_verify (run_t *run)
{
    zstate_t *self = run->state;
    if (run->kind != SYS_HERALD || run->mode != MODE_PLAIN)
        return 0;
    char *json = NULL;
    if (client_stats (self->control, &json)) {
        run_fail (run, "herald's hub did not answer STATS");
        return -1;
    }
    uint64_t events_in = 0, events_out = 0, plain_in = 0, plain_out = 0;
    bool parsed = s_stats_field (json, "in", &events_in) == 0
                  && s_stats_field (json, "out", &events_out) == 0
                  && s_stats_field (json, "plain_in", &plain_in) == 0
                  && s_stats_field (json, "plain_out", &plain_out) == 0;
    free (json);
    if (!parsed) {
        run_fail (run, "herald's STATS has no messages.in, out, plain_in or plain_out");
        return -1;
    }
    if (events_in || events_out || plain_in != run->messages || plain_out != run->messages) {
        run_fail (run,
                  "herald's STATS counted events %" PRIu64 " in, %" PRIu64 " out, plain "
                  "publications %" PRIu64 " in, %" PRIu64 " out; the run sent %" PRIu64
                  " plain publications",
                  events_in, events_out, plain_in, plain_out, run->messages);
        return -1;
    }
    return 0;
}

const backend_t bench_zmq_backend = {sizeof (zstate_t), s_open,  s_publish,
                                     s_flush,           s_close, s_verify};

//  --------------------------------------------------------------------------
//  The zmq_proxy hub: what a hub that just forwards gets, with the same
//  queue limits as herald's.

int
bench_zmq_proxy_main (const char *frontend, const char *backend, int hwm)
{
    void *context = zmq_ctx_new ();
    void *xsub = context ? zmq_socket (context, ZMQ_XSUB) : NULL;
    void *xpub = context ? zmq_socket (context, ZMQ_XPUB) : NULL;
    if (!xsub || !xpub) {
        fprintf (stderr, "zmq_proxy: cannot make sockets: %s\n", zmq_strerror (zmq_errno ()));
        return 1;
    }
    int linger = 0;
    if (zmq_setsockopt (xsub, ZMQ_RCVHWM, &hwm, sizeof hwm)
        || zmq_setsockopt (xsub, ZMQ_SNDHWM, &hwm, sizeof hwm)
        || zmq_setsockopt (xpub, ZMQ_RCVHWM, &hwm, sizeof hwm)
        || zmq_setsockopt (xpub, ZMQ_SNDHWM, &hwm, sizeof hwm)
        || zmq_setsockopt (xsub, ZMQ_LINGER, &linger, sizeof linger)
        || zmq_setsockopt (xpub, ZMQ_LINGER, &linger, sizeof linger) || zmq_bind (xsub, frontend)
        || zmq_bind (xpub, backend)) {
        fprintf (stderr, "zmq_proxy: cannot set up %s -> %s: %s\n", frontend, backend,
                 zmq_strerror (zmq_errno ()));
        return 1;
    }
    //  Runs until a signal ends the process.
    zmq_proxy (xsub, xpub, NULL);
    zmq_close (xsub);
    zmq_close (xpub);
    zmq_ctx_term (context);
    return 0;
}
