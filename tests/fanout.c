/*  fanout.c - herald_fanout, a test tool: many subscribers in one process.

    Opens N SUB sockets in one ZeroMQ context, connects each to the hub's
    backend, subscribes each to a topic and to TERMINATE, prints "ready",
    then reads every socket until each has seen TERMINATE. Each message is
    decoded with wire.c, the decoder herald's subscriber uses, and checked:
    one publisher, sequence numbers 1, 2, 3, ... with no gap, duplicate or
    reordering, and TERMINATE right after the last event. Every problem is
    one line on stderr (at most FANOUT_PROBLEM_LINES per socket and
    FANOUT_REPORT_LINES in all; the rest are counted); the last line on
    stdout is the summary "N sockets, E events each, total T".

    usage: herald_fanout --expect E [--backend EP] [--sockets N] [--topic T]
                         [--timeout MS] [--idle-timeout MS] [--hwm N] [--heartbeat MS]
      --timeout       give up this long after ready (default 300000)
      --idle-timeout  give up when no socket has read anything for this
                      long (default 30000)
      --hwm           each socket's receive queue limit, as herald sub's
                      (default 100000; 0: none)
      --heartbeat     each socket pings the hub this often, as herald sub
                      does (default 1000; 0: off)
    Exit 0 if every socket got exactly E events in order, then TERMINATE;
    1 if any got something else; 69 if some had no TERMINATE in time; 64
    for bad usage. */

#include "herald.h"
#include "sock.h"
#include "text.h"
#include "wire.h"

#include <czmq.h>
#include <inttypes.h>
#include <stdio.h>
#include <sys/resource.h>

#define FANOUT_SOCKETS_DEFAULT 200
//  Long enough for 200 subscribers x 100,000 events under ASan.
#define FANOUT_TIMEOUT_DEFAULT_MS 300000
//  A run that delivers reads something every moment; this much silence
//  means the rest will not come.
#define FANOUT_IDLE_TIMEOUT_DEFAULT_MS 30000
//  Messages read from one socket before the others get their turn.
#define FANOUT_BATCH 1024
//  Problem lines printed per socket, and in all; the rest are counted.
#define FANOUT_PROBLEM_LINES 10
#define FANOUT_REPORT_LINES  100

typedef struct {
    void *handle;
    uint64_t publisher;  //  from the first event read
    uint64_t last;       //  last sequence number read; 0 before the first
    uint64_t events;     //  events read, TERMINATE not included
    uint64_t problems;
    bool terminated;
} stream_t;

typedef struct {
    const char *backend;
    const char *topic;
    uint64_t sockets;
    uint64_t expect;
    uint64_t timeout_ms;
    uint64_t idle_timeout_ms;
    uint64_t hwm;
    uint64_t heartbeat_ms;
} options_t;

typedef struct {
    options_t options;
    stream_t *streams;  //  one per socket
    uint64_t lines;     //  problem lines printed so far
} fanout_t;

//  Report one problem with socket index on stderr, within the limits.
static void s_problem (fanout_t *self, size_t index, const char *format, ...)
    __attribute__ ((format (printf, 3, 4)));

static void
s_problem (fanout_t *self, size_t index, const char *format, ...)
{
    if (self->streams[index].problems++ >= FANOUT_PROBLEM_LINES
        || self->lines++ >= FANOUT_REPORT_LINES)
        return;
    char text[256];
    va_list args;
    va_start (args, format);
    vsnprintf (text, sizeof text, format, args);
    va_end (args);
    fprintf (stderr, "herald_fanout: socket %zu: %s\n", index, text);
}

//  Check one message: one frame, its topic, its header, and that its
//  sequence number follows the last one.
static void
s_check (fanout_t *self, size_t index, zmq_msg_t *message)
{
    const options_t *options = &self->options;
    stream_t *stream = &self->streams[index];
    wire_event_t event;
    if (zmq_msg_more (message)
        || wire_event_decode (zmq_msg_data (message), zmq_msg_size (message), &event)) {
        s_problem (self, index, "a message that is not a herald event (%zu bytes)",
                   zmq_msg_size (message));
        return;
    }
    bool terminate = wire_topic_is_terminate (event.topic, event.topic_size);
    size_t prefix = strlen (options->topic);
    if (!terminate && (event.topic_size < prefix || memcmp (event.topic, options->topic, prefix))) {
        s_problem (self, index, "a message on topic '%.*s'", (int) event.topic_size,
                   (const char *) event.topic);
        return;
    }
    if (stream->last == 0)
        stream->publisher = event.publisher;
    else if (event.publisher != stream->publisher)
        s_problem (self, index, "an event from publisher %016" PRIx64 ", expected only %016" PRIx64,
                   event.publisher, stream->publisher);
    if (event.sequence > stream->last + 1)
        s_problem (self, index, "missed %" PRIu64 " events (sequence %" PRIu64 "..%" PRIu64 ")",
                   event.sequence - stream->last - 1, stream->last + 1, event.sequence - 1);
    else if (event.sequence <= stream->last)
        s_problem (self, index, "sequence %" PRIu64 " after %" PRIu64, event.sequence,
                   stream->last);
    stream->last = event.sequence;
    if (terminate)
        stream->terminated = true;
    else
        stream->events++;
}

//  Read what socket index has ready, up to a batch or its TERMINATE.
//  Returns the number of messages read, or -1 if reading failed.
static int
s_drain (fanout_t *self, size_t index)
{
    stream_t *stream = &self->streams[index];
    int count = 0;
    zmq_msg_t message;
    zmq_msg_init (&message);
    int rc = 0;
    for (; count < FANOUT_BATCH && !stream->terminated; count++) {
        if (zmq_msg_recv (&message, stream->handle, ZMQ_DONTWAIT) == -1) {
            if (zmq_errno () != EAGAIN)
                rc = -1;
            break;
        }
        s_check (self, index, &message);
        //  The frames of a message arrive together: skip any others.
        while (zmq_msg_more (&message) && zmq_msg_recv (&message, stream->handle, 0) != -1)
            ;
    }
    if (rc)
        fprintf (stderr, "herald_fanout: socket %zu: receive failed: %s\n", index,
                 zmq_strerror (zmq_errno ()));
    zmq_msg_close (&message);
    return rc ? -1 : count;
}

//  Poll every socket that has not seen TERMINATE and drain the ready ones,
//  until none is left or a timeout passes. Returns 0, or -1 on error.
static int
s_read_all (fanout_t *self)
{
    const options_t *options = &self->options;
    stream_t *streams = self->streams;
    size_t active = options->sockets;
    zmq_pollitem_t *items = calloc (active, sizeof (zmq_pollitem_t));
    size_t *owner = calloc (active, sizeof (size_t));  //  item -> stream
    if (!items || !owner) {
        free (items);
        free (owner);
        fprintf (stderr, "herald_fanout: out of memory\n");
        return -1;
    }
    for (size_t index = 0; index < active; index++) {
        items[index] = (zmq_pollitem_t){streams[index].handle, 0, ZMQ_POLLIN, 0};
        owner[index] = index;
    }
    int64_t now = zclock_mono ();
    int64_t deadline = now + (int64_t) options->timeout_ms;
    int64_t idle_deadline = now + (int64_t) options->idle_timeout_ms;
    int rc = 0;
    while (active > 0 && rc == 0) {
        now = zclock_mono ();
        if (now >= deadline || now >= idle_deadline) {
            fprintf (stderr, "herald_fanout: %s\n",
                     now >= deadline ? "timeout" : "nothing to read for the idle timeout");
            break;
        }
        int64_t remaining = (deadline < idle_deadline ? deadline : idle_deadline) - now;
        if (zmq_poll (items, (int) active, (long) remaining) == -1) {
            if (zmq_errno () == EINTR)
                continue;
            fprintf (stderr, "herald_fanout: poll failed: %s\n", zmq_strerror (zmq_errno ()));
            rc = -1;
            break;
        }
        //  Downwards, so that a finished socket can take the last active
        //  item's place, which has been visited already.
        for (size_t item = active; item-- > 0;) {
            if (!(items[item].revents & ZMQ_POLLIN))
                continue;
            stream_t *stream = &streams[owner[item]];
            int read = s_drain (self, owner[item]);
            if (read == -1) {
                rc = -1;
                break;
            }
            if (read > 0)
                idle_deadline = zclock_mono () + (int64_t) options->idle_timeout_ms;
            if (stream->terminated) {
                active--;
                items[item] = items[active];
                owner[item] = owner[active];
            }
        }
    }
    free (items);
    free (owner);
    return rc;
}

static int
s_usage (const char *error)
{
    fprintf (stderr, "herald_fanout: %s\n", error);
    fprintf (stderr, "usage: herald_fanout --expect E [--backend EP] [--sockets N] [--topic T] "
                     "[--timeout MS] [--idle-timeout MS] [--hwm N] [--heartbeat MS]\n");
    return HERALD_EXIT_USAGE;
}

//  Parse argv into options. Returns 0, or an exit code.
static int
s_parse (int argc, char *argv[], options_t *options)
{
    *options = (options_t){.backend = HERALD_BACKEND_CONNECT,
                           .topic = "event",
                           .sockets = FANOUT_SOCKETS_DEFAULT,
                           .expect = UINT64_MAX,
                           .timeout_ms = FANOUT_TIMEOUT_DEFAULT_MS,
                           .idle_timeout_ms = FANOUT_IDLE_TIMEOUT_DEFAULT_MS,
                           .hwm = HERALD_HWM_DEFAULT,
                           .heartbeat_ms = HERALD_HEARTBEAT_DEFAULT_MS};
    for (int index = 1; index < argc; index++) {
        const char *name = argv[index];
        if (index + 1 >= argc)
            return s_usage ("every option takes a value");
        const char *value = argv[++index];
        uint64_t *number = streq (name, "--sockets")        ? &options->sockets
                           : streq (name, "--expect")       ? &options->expect
                           : streq (name, "--timeout")      ? &options->timeout_ms
                           : streq (name, "--idle-timeout") ? &options->idle_timeout_ms
                           : streq (name, "--hwm")          ? &options->hwm
                           : streq (name, "--heartbeat")    ? &options->heartbeat_ms
                                                            : NULL;
        if (streq (name, "--backend"))
            options->backend = value;
        else if (streq (name, "--topic"))
            options->topic = value;
        else if (!number)
            return s_usage ("unknown option");
        else if (text_parse_u64 (value, strlen (value), 0, INT32_MAX, number))
            return s_usage ("a number from 0 to 2147483647 is needed");
    }
    if (options->expect == UINT64_MAX)
        return s_usage ("--expect is needed");
    if (options->sockets == 0)
        return s_usage ("--sockets must be at least 1");
    return 0;
}

//  Report each socket's shortfall; print the summary on stdout, and on
//  stderr too if it is not the expected one. Returns the exit code.
static int
s_report (fanout_t *self)
{
    const options_t *options = &self->options;
    uint64_t total = 0, short_count = 0, bad = 0;
    for (size_t index = 0; index < options->sockets; index++) {
        stream_t *stream = &self->streams[index];
        total += stream->events;
        if (!stream->terminated) {
            short_count++;
            s_problem (self, index, "%" PRIu64 " of %" PRIu64 " events, no TERMINATE",
                       stream->events, options->expect);
        } else if (stream->events != options->expect)
            s_problem (self, index, "%" PRIu64 " events before TERMINATE, expected %" PRIu64,
                       stream->events, options->expect);
        if (stream->problems)
            bad++;
    }
    if (self->lines > FANOUT_REPORT_LINES)
        fprintf (stderr, "herald_fanout: %" PRIu64 " more problems not shown\n",
                 self->lines - FANOUT_REPORT_LINES);
    if (short_count == 0 && bad == 0) {
        printf ("%" PRIu64 " sockets, %" PRIu64 " events each, total %" PRIu64 "\n",
                options->sockets, options->expect, total);
        return HERALD_EXIT_OK;
    }
    char summary[256];
    snprintf (summary, sizeof summary,
              "%" PRIu64 " sockets, %" PRIu64 " events each expected, total %" PRIu64 " of %" PRIu64
              "; %" PRIu64 " sockets with problems, %" PRIu64 " of them without TERMINATE",
              options->sockets, options->expect, total, options->sockets * options->expect, bad,
              short_count);
    printf ("%s\n", summary);
    fprintf (stderr, "herald_fanout: %s\n", summary);
    return short_count ? HERALD_EXIT_UNAVAILABLE : 1;
}

int
main (int argc, char *argv[])
{
    fanout_t self = {0};
    int rc = s_parse (argc, argv, &self.options);
    if (rc)
        return rc;
    const options_t *options = &self.options;
    self.streams = calloc (options->sockets, sizeof (stream_t));
    void *context = zmq_ctx_new ();
    if (!self.streams || !context) {
        fprintf (stderr, "herald_fanout: cannot start: %s\n", zmq_strerror (zmq_errno ()));
        free (self.streams);
        return HERALD_EXIT_OSERR;
    }
    //  Room for every subscriber socket and libzmq's own.
    zmq_ctx_set (context, ZMQ_MAX_SOCKETS, (int) options->sockets + 64);
    int hwm = (int) options->hwm, linger = 0;
    rc = HERALD_EXIT_OK;
    for (size_t index = 0; index < options->sockets && rc == HERALD_EXIT_OK; index++) {
        void *handle = zmq_socket (context, ZMQ_SUB);
        self.streams[index].handle = handle;
        if (!handle || zmq_setsockopt (handle, ZMQ_RCVHWM, &hwm, sizeof hwm)
            || zmq_setsockopt (handle, ZMQ_LINGER, &linger, sizeof linger)
            || (options->heartbeat_ms
                && sock_set_heartbeat (handle, (int) options->heartbeat_ms, false))
            || zmq_setsockopt (handle, ZMQ_SUBSCRIBE, options->topic, strlen (options->topic))
            || zmq_setsockopt (handle, ZMQ_SUBSCRIBE, HERALD_TERMINATE, strlen (HERALD_TERMINATE))
            || zmq_connect (handle, options->backend)) {
            fprintf (stderr, "herald_fanout: socket %zu to %s: %s\n", index, options->backend,
                     zmq_strerror (zmq_errno ()));
            rc = HERALD_EXIT_UNAVAILABLE;
        }
    }
    if (rc == HERALD_EXIT_OK) {
        //  Connected and subscribed; the hub's count says when it has them.
        printf ("ready\n");
        fflush (stdout);
        rc = s_read_all (&self) ? HERALD_EXIT_SOFTWARE : s_report (&self);
        fflush (stdout);
    }
    struct rusage usage;
    if (getrusage (RUSAGE_SELF, &usage) == 0)
        fprintf (stderr, "herald_fanout: peak RSS %ld kB\n", usage.ru_maxrss);
    for (size_t index = 0; index < options->sockets; index++)
        if (self.streams[index].handle)
            zmq_close (self.streams[index].handle);
    zmq_ctx_term (context);
    free (self.streams);
    return rc;
}
