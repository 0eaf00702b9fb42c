/*  subscriber.c - role: a subscriber.

    Connects a SUB socket to the hub's backend, subscribes to its topics
    and to TERMINATE, proves the hub has counted it (client.c), waits its
    ready delay (events queue meanwhile), then prints each publication it
    reads, in any layout (docs/protocol.md): as the story, or as --format
    text, json or raw. It follows each herald publisher's sequence numbers
    and reports any gap. It leaves after max-messages, on TERMINATE (unless
    --ignore-terminate), on a signal, or when nothing arrives for its idle
    timeout. */

#include "client.h"
#include "herald.h"
#include "log.h"
#include "roles.h"
#include "signals.h"
#include "sock.h"
#include "text.h"
#include "wire.h"

#include <czmq.h>
#include <ctype.h>
#include <sys/time.h>
#include <inttypes.h>
#include <stdio.h>

//  Publishers whose sequence numbers are followed at once; a further one
//  takes the place of the least recently seen.
#define STREAMS_MAX 64

typedef struct {
    uint64_t publisher;
    uint64_t last;  //  last sequence number seen
    int64_t seen;   //  when, for replacing the oldest
} stream_t;

typedef struct {
    const config_t *cfg;
    char name[CONFIG_TEXT_MAX];
    zsock_t *sub;
    stream_t streams[STREAMS_MAX];
    size_t stream_count;
    uint64_t received;  //  messages read, TERMINATE included
    uint64_t lost;      //  sequence numbers skipped
    bool story;         //  --format story: the story's lines on stdout
    uint8_t *joined;    //  a multipart payload, its frames joined
    size_t joined_max;
} subscriber_t;

//  Follow the publisher's sequence: warn about any gap.
static void
s_follow (subscriber_t *self, const wire_event_t *event)
{
    stream_t *stream = NULL, *oldest = &self->streams[0];
    for (size_t index = 0; index < self->stream_count; index++) {
        if (self->streams[index].publisher == event->publisher)
            stream = &self->streams[index];
        if (self->streams[index].seen < oldest->seen)
            oldest = &self->streams[index];
    }
    if (!stream) {
        //  The first event seen from a publisher opens its stream: a
        //  subscriber that joins late has missed nothing it was counted for.
        stream = self->stream_count < STREAMS_MAX ? &self->streams[self->stream_count++] : oldest;
        *stream = (stream_t){event->publisher, event->sequence, 0};
    } else if (event->sequence > stream->last + 1) {
        uint64_t missed = event->sequence - stream->last - 1;
        self->lost += missed;
        log_warn ("%s lost %" PRIu64 " events from publisher %016" PRIx64 " (sequence %" PRIu64
                  "..%" PRIu64 ")",
                  self->name, missed, event->publisher, stream->last + 1, event->sequence - 1);
    } else if (event->sequence <= stream->last)
        log_warn ("%s got sequence %" PRIu64 " after %" PRIu64 " from publisher %016" PRIx64,
                  self->name, event->sequence, stream->last, event->publisher);
    stream->last = event->sequence;
    stream->seen = zclock_mono ();
}

//  Print "<name> got message: <payload>", up to the first zero byte (pub
//  --size pads with them), unprintable bytes shown as '.'.
static void
s_tell (subscriber_t *self, const uint8_t *payload, size_t payload_size)
{
    char text[256];
    const uint8_t *end = memchr (payload, 0, payload_size);
    size_t size = end ? (size_t) (end - payload) : payload_size;
    size = size < sizeof text - 1 ? size : sizeof text - 1;
    for (size_t index = 0; index < size; index++)
        text[index] = isprint (payload[index]) ? (char) payload[index] : '.';
    text[size] = 0;
    printf ("%s got message: %s\n", self->name, text);
}

//  A publication as received: herald's event, or a plain publication
//  (docs/protocol.md): one frame, topic then a space or 0x00 then the
//  payload; or several, the topic first and the payload the others joined
//  by one space.
typedef struct {
    zmsg_t *frames;
    wire_event_t event;  //  topic and payload; publisher and sequence for herald's
    const char *layout;  //  "herald", "frame" or "multipart"
    bool terminate;
} received_t;

static int
s_receive (subscriber_t *self, received_t *received)
{
    received->frames = zmsg_recv (self->sub);
    if (!received->frames)
        return -1;
    zframe_t *first = zmsg_first (received->frames);
    const uint8_t *data = zframe_data (first);
    size_t size = zframe_size (first);
    wire_event_t *event = &received->event;
    *event = (wire_event_t){.topic = data, .topic_size = size};
    if (zmsg_size (received->frames) == 1) {
        bool herald = wire_event_decode (data, size, event) == 0;
        received->layout = herald ? "herald" : "frame";
        received->terminate = wire_topic_is_terminate (data, herald ? event->topic_size : size);
        if (!herald) {
            event->topic_size = wire_plain_topic (data, size);
            size_t skip = event->topic_size < size ? event->topic_size + 1 : size;
            event->payload = data + skip;
            event->payload_size = size - skip;
        }
        return 0;
    }
    received->layout = "multipart";
    received->terminate = wire_topic_is_terminate (data, size);
    size_t needed = 0;
    for (zframe_t *frame = zmsg_next (received->frames); frame;
         frame = zmsg_next (received->frames))
        needed += zframe_size (frame) + 1;
    if (needed > self->joined_max) {
        uint8_t *joined = realloc (self->joined, needed);
        if (!joined) {
            log_error ("out of memory for a message of %zu bytes", needed);
            zmsg_destroy (&received->frames);
            return -1;
        }
        self->joined = joined;
        self->joined_max = needed;
    }
    size_t used = 0;
    bool first_part = true;
    zmsg_first (received->frames);
    for (zframe_t *frame = zmsg_next (received->frames); frame;
         frame = zmsg_next (received->frames)) {
        if (!first_part)
            self->joined[used++] = ' ';
        first_part = false;
        memcpy (self->joined + used, zframe_data (frame), zframe_size (frame));
        used += zframe_size (frame);
    }
    event->payload = self->joined;
    event->payload_size = used;
    return 0;
}

//  One member of a --format json object: name and the bytes as a string
//  if they are UTF-8, else name_base64 and the bytes in base64.
static void
s_json_bytes (const char *name, const void *data, size_t size)
{
    if (text_is_utf8 (data, size)) {
        printf (",\"%s\":", name);
        text_json_utf8 (stdout, data, size);
        return;
    }
    zarmour_t *armour = zarmour_new ();
    char *base64 = armour ? zarmour_encode (armour, data, size) : NULL;
    printf (",\"%s_base64\":\"%s\"", name, base64 ? base64 : "");
    zstr_free (&base64);
    zarmour_destroy (&armour);
}

//  --format json: one object a line: topic, layout, publisher and sequence
//  (herald's layout), payload, and when it was received (Unix time).
static void
s_print_json (const received_t *received)
{
    const wire_event_t *event = &received->event;
    struct timeval now;
    gettimeofday (&now, NULL);
    printf ("{\"layout\":\"%s\"", received->layout);
    s_json_bytes ("topic", event->topic, event->topic_size);
    if (streq (received->layout, "herald"))
        printf (",\"publisher\":\"%016" PRIx64 "\",\"sequence\":%" PRIu64, event->publisher,
                event->sequence);
    s_json_bytes ("payload", event->payload, event->payload_size);
    printf (",\"received\":%lld.%06ld}\n", (long long) now.tv_sec, (long) now.tv_usec);
}

//  --format raw: the topic and the payload, each after its size as 4 bytes
//  big-endian: any bytes, for a program to read.
static void
s_print_raw (const received_t *received)
{
    const wire_event_t *event = &received->event;
    const void *parts[] = {event->topic, event->payload};
    size_t sizes[] = {event->topic_size, event->payload_size};
    for (int index = 0; index < 2; index++) {
        uint8_t length[4] = {(uint8_t) (sizes[index] >> 24), (uint8_t) (sizes[index] >> 16),
                             (uint8_t) (sizes[index] >> 8), (uint8_t) sizes[index]};
        fwrite (length, 1, 4, stdout);
        fwrite (parts[index], 1, sizes[index], stdout);
    }
}

//  True if the topic is one of ours: matches a --topic prefix.
static bool
s_wanted (subscriber_t *self, const wire_event_t *event)
{
    const config_list_t *topics = &self->cfg->topics;
    for (size_t index = 0; index < topics->count; index++) {
        size_t prefix = strlen (topics->items[index]);
        if (event->topic_size >= prefix && !memcmp (event->topic, topics->items[index], prefix))
            return true;
    }
    return false;
}

//  Read one publication. Returns 1 if the subscriber should leave, 0 if
//  not, -1 on error.
static int
s_read (subscriber_t *self)
{
    const config_t *cfg = self->cfg;
    received_t received = {0};
    if (s_receive (self, &received)) {
        if (zmq_errno () != EINTR)
            log_error ("receive failed: %s", zmq_strerror (zmq_errno ()));
        return -1;
    }
    const wire_event_t *event = &received.event;
    int rc = 0;
    bool terminate = received.terminate && !cfg->ignore_terminate;
    if (!terminate && !s_wanted (self, event)) {
        //  Only matched the TERMINATE subscription as a prefix (TERMINATED...)
        log_debug ("ignored a message on '%.*s'", (int) event->topic_size,
                   (const char *) event->topic);
        goto done;
    }
    //  Only herald's events carry a sequence to follow.
    if (streq (received.layout, "herald"))
        s_follow (self, event);
    if (self->story && terminate && !streq (received.layout, "herald") && !event->payload_size)
        s_tell (self, event->topic, event->topic_size);
    else if (self->story)
        s_tell (self, event->payload, event->payload_size);
    else if (terminate)
        ;  //  the end of the data, not data
    else if (streq (cfg->format, "text")) {
        fwrite (event->payload, 1, event->payload_size, stdout);
        putchar ('\n');
    } else if (streq (cfg->format, "json"))
        s_print_json (&received);
    else
        s_print_raw (&received);
    self->received++;
    bool enough = cfg->max_messages && self->received >= cfg->max_messages;
    if (enough && self->story)
        printf ("%s has enough reading!\n", self->name);
    rc = enough || terminate;
done:
    zmsg_destroy (&received.frames);
    return rc;
}

//  Takes over the control client, and closes it once the hub counts us.
static int
s_run (subscriber_t *self, client_t **control_p)
{
    const config_t *cfg = self->cfg;
    //  Subscribed already: events queue while we wait to be counted, and
    //  for the ready delay.
    int64_t ready_at = zclock_mono () + (int64_t) cfg->ready_delay_ms;
    bool counted = client_prove_subscriber (*control_p, zsock_resolve (self->sub)) == 0;
    int failed = client_exit_code (*control_p);
    client_destroy (control_p);
    if (!counted)
        return failed;
    log_debug ("%s is counted by the hub", self->name);
    herald_pause_until (ready_at);
    if (herald_signal)
        return herald_signal_exit_code ();
    if (self->story)
        printf ("%s is ready now to read\n", self->name);
    else
        log_info ("%s is ready now to read", self->name);
    fflush (stdout);

    zmq_pollitem_t items[] = {{zsock_resolve (self->sub), 0, ZMQ_POLLIN, 0},
                              {NULL, herald_signal_fd (), ZMQ_POLLIN, 0}};
    long idle = cfg->idle_timeout_ms ? (long) cfg->idle_timeout_ms : -1;
    while (!herald_signal) {
        int64_t polled = zclock_mono ();
        int rc = zmq_poll (items, 2, idle);
        if (rc == -1 && zmq_errno () == EINTR)
            continue;
        if (rc == -1) {
            log_error ("poll failed: %s", zmq_strerror (zmq_errno ()));
            return HERALD_EXIT_SOFTWARE;
        }
        if (rc > 0 && !(items[0].revents & ZMQ_POLLIN))
            continue;  //  a signal
        //  A process that was stopped or suspended wakes up to a poll that
        //  expired while it could not listen: that is no silence, wait again.
        if (rc == 0 && zclock_mono () - polled > (int64_t) cfg->idle_timeout_ms + HERALD_LATE_MS) {
            log_debug ("%s woke up late; waiting again", self->name);
            continue;
        }
        if (rc == 0) {
            log_error ("%s heard nothing for %" PRIu64 " ms from the hub at %s; giving up",
                       self->name, cfg->idle_timeout_ms, cfg->backend);
            return HERALD_EXIT_UNAVAILABLE;
        }
        rc = s_read (self);
        if (rc == 1) {
            if (self->story)
                printf ("%s is terminating!\n", self->name);
            return HERALD_EXIT_OK;
        }
        if (rc == -1 && !herald_signal)
            return HERALD_EXIT_SOFTWARE;
        if (cfg->delay_ms)
            herald_pause_until (zclock_mono () + (int64_t) cfg->delay_ms);
    }
    return herald_signal_exit_code ();
}

int
subscriber_main (const config_t *cfg)
{
    subscriber_t *self = calloc (1, sizeof (subscriber_t));
    if (!self) {
        log_error ("out of memory");
        return HERALD_EXIT_OSERR;
    }
    self->cfg = cfg;
    self->story = streq (cfg->format, "story");
    if (*cfg->name)
        snprintf (self->name, sizeof self->name, "%s", cfg->name);
    else {
        char host[64] = "localhost";
        gethostname (host, sizeof host - 1);
        snprintf (self->name, sizeof self->name, "sub-%s-%d", host, (int) getpid ());
    }
    sock_curve_t curve;
    if (sock_curve_load (cfg, false, &curve)) {
        free (self);
        return HERALD_EXIT_CONFIG;
    }
    int rc = HERALD_EXIT_UNAVAILABLE;
    self->sub = sock_new (ZMQ_SUB, cfg->backend, false,
                          &(sock_options_t){.curve = &curve,
                                            .hwm = sock_hwm (cfg->hwm),
                                            .heartbeat_ms = (int) cfg->heartbeat_ms},
                          "subscriber");
    client_t *control = self->sub ? client_new (cfg->control, &curve, cfg->wait_timeout_ms) : NULL;
    if (control) {
        for (size_t index = 0; index < cfg->topics.count; index++)
            zsock_set_subscribe (self->sub, cfg->topics.items[index]);
        if (!cfg->ignore_terminate)
            zsock_set_subscribe (self->sub, HERALD_TERMINATE);
        rc = s_run (self, &control);
        log_line (self->lost ? 'W' : 'D', "%s read %" PRIu64 " messages, lost %" PRIu64, self->name,
                  self->received, self->lost);
        if (rc == HERALD_EXIT_OK && self->lost)
            rc = HERALD_EXIT_DATAERR;  //  done, but not whole: say so in the exit code too
    }
    client_destroy (&control);
    zsock_destroy (&self->sub);
    sock_curve_destroy (&curve);
    free (self->joined);
    free (self);
    return rc;
}
