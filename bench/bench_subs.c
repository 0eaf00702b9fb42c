/*  bench_subs.c - the subscriptions case: how a hub takes many
    subscriptions, what they cost it, how fast it answers COUNT among them,
    and how it lets them go. herald's hub and zmq_proxy only: direct has no
    hub, and Redis and NATS subscribe otherwise.

    N SUB connections, connected and proven by a warm-up event, subscribe
    to K distinct topics each, "sub/<connection>/<index>", the index of
    one width (no topic of a connection is a prefix of another, so an event
    on one reaches its connection through that subscription only), in
    turns, as N subscribers at once would. From the first subscribe two
    clocks run:
    - delivering (both): until an event published on each connection's last
      topic has reached that connection;
    - counted (herald only, zmq_proxy has no count): until COUNT of each
      connection's last topic is 1, which STATS' subscriptions_total then
      confirms is N * K.
    A connection's subscriptions travel in order, so its last one served
    means all of its own are: at the hub, and for zmq_proxy, which forwards
    them, at the publisher's PUB too. The hub's RSS with the connections up
    and nothing subscribed, and again once both clocks stopped, gives a
    subscription's memory. Then, herald only: COUNT's round trip among
    them, and the time from closing every connection until STATS counts
    none.

    One thread does it all: the SUB sockets are used by the thread that
    subscribes (a libzmq socket belongs to one thread), so there is no
    reader thread as in bench_zmq.c. It sends, reads and asks in turn, each
    step bounded, every wait ended by a deadline. */

#include "bench.h"
#include "client.h"
#include "wire.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

//  How often the hub is asked while a count is awaited. COUNT is cheap;
//  STATS is asked only once COUNT says the count is there, because with
//  100,000 subscriptions one STATS keeps the hub's thread busy for tens of
//  milliseconds (it lists 512 KiB of them): asked every millisecond, it
//  slowed the hub it measured several times over.
#define ASK_EVERY_MS 1
//  How long the hub may take to take or drop every subscription: generous,
//  a slow hub is to be measured, not failed.
#define SUBSCRIPTIONS_TIMEOUT_MS 60000
//  COUNT round trips timed, for p50 and p99.
#define COUNT_REQUESTS 1000
//  Messages one connection reads before the others get their turn.
#define READ_BATCH 256
//  "sub/<connection>/<index>", and an event on it (no payload).
#define TOPIC_MAX 32
#define EVENT_MAX (TOPIC_MAX + 1 + WIRE_HEADER_SIZE)

typedef struct {
    run_t *run;
    int connections;
    int per_connection;
    int width;  //  of an index in a topic
    void *pub_context, *sub_context;
    void *pub;
    void **subs;
    zmq_pollitem_t *items;
    bool warm;          //  the topic awaited is the warm-up's, not the last one
    bool *arrived;      //  per connection: an event on the awaited topic came
    int arrivals;       //  how many have
    client_t *control;  //  herald's control endpoint; NULL for zmq_proxy
    uint64_t sequence;  //  of the events sent
} subcase_t;

//  What s_until waits for at herald's hub: COUNT of each connection's
//  awaited topic at want, then STATS' subscriptions_total at target; and
//  when each came.
typedef struct {
    uint64_t want, target;
    int next;              //  the first connection not yet seen at want
    uint64_t total;        //  STATS' last answer
    int64_t reached_ns;    //  when COUNT showed every connection at want
    int64_t confirmed_ns;  //  when STATS showed target
} count_t;

static size_t
s_topic (subcase_t *self, char *out, int connection, int index)
{
    return (size_t) snprintf (out, TOPIC_MAX, "sub/%d/%0*d", connection, self->width, index);
}

//  The topic connection awaits now: the warm-up's, or its last one.
static size_t
s_awaited (subcase_t *self, int connection, char *out)
{
    if (self->warm)
        return (size_t) snprintf (out, TOPIC_MAX, "%s", BENCH_WARM_TOPIC);
    return s_topic (self, out, connection, self->per_connection - 1);
}

static double
s_ms (int64_t from, int64_t to)
{
    return (double) (to - from) / 1e6;
}

//  The publisher, the control client (herald) and the SUBs, each
//  subscribed to the warm-up topic only.
static int
s_open (subcase_t *self)
{
    run_t *run = self->run;
    char endpoint[64];
    self->subs = backend_calloc (run, (size_t) self->connections, sizeof *self->subs);
    self->items = backend_calloc (run, (size_t) self->connections, sizeof *self->items);
    self->arrived = backend_calloc (run, (size_t) self->connections, sizeof *self->arrived);
    if (!self->subs || !self->items || !self->arrived)
        return -1;
    self->pub_context = zmq_ctx_new ();
    self->sub_context = zmq_ctx_new ();
    self->pub = self->pub_context ? zmq_socket (self->pub_context, ZMQ_PUB) : NULL;
    if (!self->pub || !self->sub_context) {
        run_fail (run, "cannot make the publisher: %s", zmq_strerror (zmq_errno ()));
        return -1;
    }
    bench_zmq_endpoint (endpoint, sizeof endpoint, run->port);
    //  zmq_proxy forwards every subscription to the publisher: its PUB
    //  reads them all.
    if (bench_zmq_set_int (run, self->pub, ZMQ_SNDHWM, BENCH_HWM, "ZMQ_SNDHWM")
        || bench_zmq_set_int (run, self->pub, ZMQ_RCVHWM, BENCH_HWM, "ZMQ_RCVHWM")
        || bench_zmq_set_int (run, self->pub, ZMQ_LINGER, 0, "ZMQ_LINGER"))
        return -1;
    if (zmq_connect (self->pub, endpoint)) {
        run_fail (run, "publisher cannot connect %s: %s", endpoint, zmq_strerror (zmq_errno ()));
        return -1;
    }
    if (run->kind == SYS_HERALD) {
        bench_zmq_endpoint (endpoint, sizeof endpoint, run->port + 2);
        self->control = client_new (endpoint, &(sock_curve_t){0}, BENCH_READY_TIMEOUT_MS);
        if (!self->control) {
            run_fail (run, "cannot connect to herald's control endpoint %s", endpoint);
            return -1;
        }
    }
    bench_zmq_endpoint (endpoint, sizeof endpoint, run->port + 1);
    for (int index = 0; index < self->connections; index++) {
        void *socket = zmq_socket (self->sub_context, ZMQ_SUB);
        if (!socket) {
            run_fail (run, "cannot make subscriber %d: %s", index, zmq_strerror (zmq_errno ()));
            return -1;
        }
        self->subs[index] = socket;
        self->items[index] = (zmq_pollitem_t){socket, 0, ZMQ_POLLIN, 0};
        //  libzmq drops a subscription that finds the SUB's outgoing queue
        //  full, and thousands are made faster than they leave.
        if (bench_zmq_set_int (run, socket, ZMQ_SNDHWM, BENCH_HWM, "ZMQ_SNDHWM")
            || bench_zmq_set_int (run, socket, ZMQ_RCVHWM, BENCH_HWM, "ZMQ_RCVHWM")
            || bench_zmq_set_int (run, socket, ZMQ_LINGER, 0, "ZMQ_LINGER")
            || bench_zmq_set (run, socket, ZMQ_SUBSCRIBE, BENCH_WARM_TOPIC,
                              strlen (BENCH_WARM_TOPIC), "ZMQ_SUBSCRIBE"))
            return -1;
        if (zmq_connect (socket, endpoint)) {
            run_fail (run, "subscriber cannot connect to %s: %s", endpoint,
                      zmq_strerror (zmq_errno ()));
            return -1;
        }
    }
    return 0;
}

static void
s_close (subcase_t *self)
{
    for (int index = 0; self->subs && index < self->connections; index++)
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
    free (self->arrived);
}

//  An event in herald's format, which both hubs carry: herald's drops
//  anything else. Not sent (a full queue) is sent again next turn.
static void
s_send (subcase_t *self, const char *topic, size_t topic_size)
{
    uint8_t event[EVENT_MAX];
    size_t size = wire_event_encode (event, sizeof event, topic, topic_size, 0x5b5c,
                                     ++self->sequence, NULL, 0);
    zmq_send (self->pub, event, size, ZMQ_DONTWAIT);
}

//  Read what the connections have for up to ms, noting each connection's
//  first event on the topic it awaits; the others (late warm-ups) are
//  dropped.
static void
s_read (subcase_t *self, int ms)
{
    if (zmq_poll (self->items, self->connections, ms) <= 0)
        return;
    zmq_msg_t message;
    zmq_msg_init (&message);
    char topic[TOPIC_MAX];
    for (int index = 0; index < self->connections; index++) {
        if (!(self->items[index].revents & ZMQ_POLLIN))
            continue;
        size_t size = s_awaited (self, index, topic);
        for (int count = 0; count < READ_BATCH; count++) {
            if (zmq_msg_recv (&message, self->subs[index], ZMQ_DONTWAIT) == -1)
                break;
            const uint8_t *data = zmq_msg_data (&message);
            if (!self->arrived[index] && zmq_msg_size (&message) > size && data[size] == 0
                && memcmp (data, topic, size) == 0) {
                self->arrived[index] = true;
                self->arrivals++;
            }
        }
    }
    zmq_msg_close (&message);
}

//  herald's subscriptions_total, from STATS. Returns 0, or -1 with the run
//  failed.
static int
s_stats_total (subcase_t *self, uint64_t *total)
{
    static const char field[] = "\"subscriptions_total\":";
    char *json = NULL;
    if (client_stats (self->control, &json)) {
        run_fail (self->run, "herald's hub did not answer STATS");
        return -1;
    }
    const char *value = strstr (json, field);
    char *end = NULL;
    if (value)
        *total = strtoull (value + strlen (field), &end, 10);
    bool parsed = value && end != value + strlen (field);
    free (json);
    if (!parsed) {
        run_fail (self->run, "herald's STATS has no subscriptions_total");
        return -1;
    }
    return 0;
}

//  One turn of asking herald's hub: COUNT of the connections' awaited
//  topics, from the first not yet at want on, and once all are, STATS if
//  stats. Returns 0, or -1 with the run failed.
static int
s_ask (subcase_t *self, count_t *count, bool stats)
{
    char topic[TOPIC_MAX];
    while (count->next < self->connections) {
        uint64_t value;
        s_awaited (self, count->next, topic);
        if (client_count (self->control, topic, &value)) {
            run_fail (self->run, "herald's hub did not answer COUNT %s", topic);
            return -1;
        }
        if (value != count->want)
            return 0;
        if (++count->next == self->connections)
            count->reached_ns = bench_now_ns ();
    }
    if (!stats)
        return 0;
    if (s_stats_total (self, &count->total))
        return -1;
    if (count->total == count->target)
        count->confirmed_ns = bench_now_ns ();
    return 0;
}

//  Wait from start, at most SUBSCRIPTIONS_TIMEOUT_MS, until (deliver) each
//  connection has an event on its awaited topic, sent again until it does,
//  at delivered_ns; and (count, herald only) until the hub's counts are as
//  count says. Returns 0, or -1 with the run failed.
static int
s_until (subcase_t *self, bool deliver, count_t *count, int64_t start, int64_t *delivered_ns)
{
    int64_t deadline = start + (int64_t) SUBSCRIPTIONS_TIMEOUT_MS * 1000000;
    int64_t due = start;  //  when the hub is asked next
    if (deliver) {
        memset (self->arrived, 0, (size_t) self->connections * sizeof *self->arrived);
        self->arrivals = 0;
    }
    char topic[TOPIC_MAX];
    while (true) {
        bool delivering = deliver && self->arrivals < self->connections;
        bool counting = self->control && count && !count->confirmed_ns;
        if (!delivering && !counting)
            return 0;
        if (bench_now_ns () > deadline) {
            if (delivering)
                run_fail (self->run, "after %d ms, %d of %d connections had their event",
                          SUBSCRIPTIONS_TIMEOUT_MS, self->arrivals, self->connections);
            else
                run_fail (self->run,
                          "after %d ms, herald's COUNT showed %d of %d connections at %" PRIu64
                          ", STATS %" PRIu64 " subscriptions, not %" PRIu64,
                          SUBSCRIPTIONS_TIMEOUT_MS, count->next, self->connections, count->want,
                          count->total, count->target);
            return -1;
        }
        if (delivering) {
            for (int index = 0; index < self->connections; index++)
                if (!self->arrived[index])
                    s_send (self, topic, s_awaited (self, index, topic));
            s_read (self, BENCH_RESEND_MS);
            if (self->arrivals == self->connections && delivered_ns)
                *delivered_ns = bench_now_ns ();
        } else {
            //  Pacing, not synchronisation: the next question is due.
            struct timespec at = {(time_t) (due / 1000000000), (long) (due % 1000000000)};
            while (clock_nanosleep (CLOCK_MONOTONIC, TIMER_ABSTIME, &at, NULL) == EINTR)
                ;
        }
        if (counting && bench_now_ns () >= due) {
            due = bench_now_ns () + (int64_t) ASK_EVERY_MS * 1000000;
            //  STATS holds up this thread as long as the hub writes it:
            //  not while an event's arrival is being timed.
            if (s_ask (self, count, !delivering))
                return -1;
        }
    }
}

//  COUNT_REQUESTS round trips of COUNT on a topic that one connection
//  holds among all the others: p50 and p99. Returns 0, or -1 with the run
//  failed.
static int
s_time_count (subcase_t *self, sample_t *sample)
{
    int64_t *took = backend_calloc (self->run, COUNT_REQUESTS, sizeof *took);
    if (!took)
        return -1;
    char topic[TOPIC_MAX];
    s_topic (self, topic, self->connections / 2, self->per_connection / 2);
    int rc = 0;
    for (int index = 0; index < COUNT_REQUESTS && rc == 0; index++) {
        uint64_t count = 0;
        int64_t start = bench_now_ns ();
        if (client_count (self->control, topic, &count)) {
            run_fail (self->run, "herald's hub did not answer COUNT %s", topic);
            rc = -1;
        } else if (count != 1) {
            run_fail (self->run, "herald's COUNT %s answered %" PRIu64 ", not 1", topic, count);
            rc = -1;
        }
        took[index] = bench_now_ns () - start;
    }
    if (rc == 0) {
        bench_sort_ns (took, COUNT_REQUESTS);
        sample->count_p50 = bench_percentile_us (took, COUNT_REQUESTS, 0.50);
        sample->count_p99 = bench_percentile_us (took, COUNT_REQUESTS, 0.99);
        sample->count_samples = COUNT_REQUESTS;
    }
    free (took);
    return rc;
}

//  The case, step by step; -1 as soon as a step fails.
static int
s_measure (subcase_t *self, sample_t *sample)
{
    run_t *run = self->run;
    int64_t opened = bench_now_ns ();
    if (s_open (self))
        return -1;
    //  Every connection carries events before it subscribes: what is
    //  timed next is subscribing, not connecting.
    self->warm = true;
    if (s_until (self, true, NULL, opened, NULL))
        return -1;
    sample->clients_ms = s_ms (opened, bench_now_ns ());
    //  ... and then holds nothing: herald's hub lets a subscriber hold
    //  10,000 by default, the case's count.
    for (int index = 0; index < self->connections; index++)
        if (bench_zmq_set (run, self->subs[index], ZMQ_UNSUBSCRIBE, BENCH_WARM_TOPIC,
                           strlen (BENCH_WARM_TOPIC), "ZMQ_UNSUBSCRIBE"))
            return -1;
    count_t none = {.want = 0, .target = 0};
    if (s_until (self, false, &none, bench_now_ns (), NULL))
        return -1;
    self->warm = false;
    sample->hub_ready_kb = proc_status_kb (run->hub, "VmRSS");

    int64_t start = bench_now_ns (), delivered = 0;
    char topic[TOPIC_MAX];
    for (int index = 0; index < self->per_connection; index++)
        for (int connection = 0; connection < self->connections; connection++) {
            size_t size = s_topic (self, topic, connection, index);
            if (bench_zmq_set (run, self->subs[connection], ZMQ_SUBSCRIBE, topic, size,
                               "ZMQ_SUBSCRIBE"))
                return -1;
        }
    count_t all = {.want = 1,
                   .target = (uint64_t) self->connections * (uint64_t) self->per_connection};
    if (s_until (self, true, &all, start, &delivered))
        return -1;
    sample->delivering_ms = s_ms (start, delivered);
    sample->hub_subscribed_kb = proc_status_kb (run->hub, "VmRSS");
    if (!self->control)
        return 0;
    //  Every connection's last subscription counted is every subscription
    //  counted, as STATS has just confirmed; asking it sooner would have
    //  slowed the hub down.
    sample->counted_ms = s_ms (start, all.reached_ns);

    if (s_time_count (self, sample))
        return -1;
    //  The hub drops a connection's subscriptions when it ends. Here the
    //  clock stops at STATS' answer: a connection's last topic gone need
    //  not mean all of its own are.
    int64_t closing = bench_now_ns ();
    for (int index = 0; index < self->connections; index++) {
        zmq_close (self->subs[index]);
        self->subs[index] = NULL;
    }
    count_t released = {.want = 0, .target = 0};
    if (s_until (self, false, &released, closing, NULL))
        return -1;
    sample->released_ms = s_ms (closing, released.confirmed_ns);
    return 0;
}

int
bench_subscriptions (run_t *run, int per_connection, sample_t *sample)
{
    sample->counted_ms = sample->delivering_ms = sample->released_ms = NAN;
    sample->count_p50 = sample->count_p99 = NAN;
    subcase_t self = {
        .run = run, .connections = run->subscribers, .per_connection = per_connection};
    for (int last = per_connection - 1; last >= 10; last /= 10)
        self.width++;
    self.width++;
    int rc = s_measure (&self, sample);
    s_close (&self);
    return rc;
}
