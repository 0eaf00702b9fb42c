/*  federation.c - the hub's links above and below; see federation.h. The
    link protocol (message layouts, their order, what each side does with
    them) is specified in docs/federation.md, "The link protocol".

    Up: an XSUB connected to the upstream hub's federation port. Over that
    one connection this hub sends, in order, its interest (subscriptions,
    which its upstream's XPUB applies as it reads them) and single-frame
    user messages: HELLO, its subtree's hub ids, records of its subtree's
    subscribers, events published below, probes.
    Down: an XPUB on the federation port. Hubs below connect to it; it
    sends them events (filtered by their interest, as a backend does) and,
    under reserved topics, the view of the whole federation's subscribers
    that every hub counts from, and probe echoes. */

#include "federation.h"
#include "fedtable.h"
#include "herald.h"
#include "log.h"
#include "monitor.h"
#include "peers.h"
#include "text.h"
#include "wire.h"

#include <czmq.h>
#include <inttypes.h>
#include <sys/random.h>

//  Up: the first byte of each user message (docs/federation.md).
#define UP_HELLO     'H'
#define UP_HUBS      'U'
#define UP_TABLE     'T'
#define UP_EVENT     'E'
#define UP_MULTIPART 'M'
#define UP_PROBE     'P'
#define UP_LEASE     'L'
//  Down: after the topic and its 0x00 byte.
#define DOWN_WELCOME 'W'
#define DOWN_TABLE   'T'
#define DOWN_DONE    'K'
#define DOWN_REFUSED 'R'
#define DOWN_RESYNC  'Y'
#define DOWN_PROBE   'P'
//  Records in TABLE messages: subscribe and unsubscribe are 1 and 0, as in
//  a subscription message.
#define RECORD_GONE 2   //  a connection left
#define RECORD_LOST 3   //  every connection of an origin (a hub) left
#define RECORD_HEAD 19  //  op, origin, serial, prefix size (16 bits)
//  A TABLE message is sent once it holds this many bytes.
#define TABLE_BATCH 65536
//  The topic of down messages for every hub below, and its prefix for one.
#define DOWN_TOPIC "$herald/fed"
#define ID_TEXT    17  //  16 hex digits and a 0 byte
//  Probes sent up whose echo may still come: enough for every publisher
//  proving at once, within the few milliseconds of a round trip.
#define PROBES_REMEMBERED 64

typedef enum { LINK_NEW, LINK_JOINED, LINK_REFUSED } link_state_t;
static const char *const s_link_states[] = {"new", "joined", "refused"};

typedef enum { UP_NONE, UP_CONNECTING, UP_JOINING, UP_JOINED, UP_REFUSED } up_state_t;
static const char *const s_up_states[] = {"none", "connecting", "joining", "joined", "refused"};

//  A hub below: one connection to the federation port.
typedef struct _link_t link_t;
struct _link_t {
    uint64_t serial;  //  its connection (zap.h token)
    int fd;
    link_state_t state;
    uint64_t id;
    uint64_t *hubs;  //  the hub ids of its subtree, in order, each once
    size_t hub_count;
    uint64_t expect;    //  the sequence number of its next TABLE
    uint64_t received;  //  publications from it since its HELLO (PROBE says how many it sent)
    bool unproven;      //  some went up on a link since lost: its next probe fails
    uint64_t events_in, events_out;
    char address[64];
    link_t *next;
};

typedef struct {
    uint8_t *data;
    size_t size, used;
} buffer_t;

struct _federation_t {
    const config_t *cfg;
    federation_events_t events;
    void *hub;
    uint64_t id;
    char id_text[ID_TEXT];
    //  Down: the hubs below
    zsock_t *down_sock;
    void *down;
    monitor_t *down_monitor;
    peers_t *down_peers;
    link_t *links;
    uint64_t down_seq;      //  TABLE messages broadcast down
    buffer_t down_records;  //  for the next broadcast TABLE
    //  Up: the hub above
    zsock_t *up_sock;
    void *up;
    monitor_t *up_monitor;
    sock_curve_t up_curve;
    up_state_t up_state;
    uint64_t parent;   //  its id, once it welcomed this hub
    uint64_t up_seq;   //  TABLE messages sent up since HELLO
    uint64_t sent_up;  //  publications sent up since HELLO
    uint64_t proven;   //  of which the root has echoed a probe sent after them
    struct {
        uint64_t nonce;  //  a hash of the nonce
        uint64_t sent;   //  sent_up when the probe went up
    } probes[PROBES_REMEMBERED];
    size_t next_probe;
    uint64_t above_seq;   //  the last broadcast TABLE read from above
    bool loading;         //  between WELCOME and DONE
    bool hubs_changed;    //  send the subtree's hub ids up
    buffer_t up_records;  //  for the next TABLE up
    int64_t lease_due;    //  when the next LEASE goes up
    //  Tables
    fedtable_t *subtree;  //  this hub's subscribers and those below
    fedtable_t *replica;  //  the whole federation's, as the upstream sends it
    frames_t frames;      //  the publication being read
    bool paused;          //  the hub can take no more publications for now
    //  Counters, for STATS
    uint64_t events_up, events_from_above, events_from_below;
    uint64_t resyncs, foreign_records, dropped_down;
};

//  --------------------------------------------------------------------------
//  Bytes

//  Append bytes; false if out of memory.
static bool
s_append (buffer_t *buffer, const void *data, size_t size)
{
    if (buffer->used + size > buffer->size) {
        size_t wanted = buffer->size ? buffer->size : 1024;
        while (wanted < buffer->used + size)
            wanted *= 2;
        uint8_t *grown = realloc (buffer->data, wanted);
        if (!grown)
            return false;
        buffer->data = grown;
        buffer->size = wanted;
    }
    if (size)
        memcpy (buffer->data + buffer->used, data, size);
    buffer->used += size;
    return true;
}

static void
s_id_text (uint64_t id, char *out)
{
    snprintf (out, ID_TEXT, "%016" PRIx64, id);
}

//  --------------------------------------------------------------------------
//  Sending

//  Send one frame; returns 0, or -1 (logged at debug: a full queue drops,
//  and the sequence numbers find it).
static int
s_send (void *socket, const void *data, size_t size, int flags)
{
    if (zmq_send (socket, data, size, flags | ZMQ_DONTWAIT) == -1) {
        log_debug ("federation: a message was dropped: %s", zmq_strerror (zmq_errno ()));
        return -1;
    }
    return 0;
}

//  A message down: topic (for every hub below, or one: to != 0), 0x00,
//  kind, then body.
static void
s_send_down (federation_t *self, uint64_t to, char kind, const void *body, size_t size)
{
    buffer_t message = {0};
    char topic[sizeof DOWN_TOPIC + ID_TEXT] = DOWN_TOPIC;
    if (to) {
        strcat (topic, "/");
        s_id_text (to, topic + strlen (topic));
    }
    uint8_t separator[2] = {0, (uint8_t) kind};
    if (s_append (&message, topic, strlen (topic)) && s_append (&message, separator, 2)
        && s_append (&message, body, size)) {
        if (s_send (self->down, message.data, message.used, 0))
            self->dropped_down++;
    }
    free (message.data);
}

//  A TABLE message down: seq 0 for a snapshot's parts.
static void
s_send_table_down (federation_t *self, uint64_t to, uint64_t seq, const buffer_t *records)
{
    buffer_t body = {0};
    uint8_t head[8];
    wire_put_be (head, seq, 8);
    if (s_append (&body, head, 8) && s_append (&body, records->data, records->used))
        s_send_down (self, to, DOWN_TABLE, body.data, body.used);
    free (body.data);
}

//  A probe went up after sent_up publications.
static void
s_probe_sent (federation_t *self, const uint8_t *nonce, size_t size)
{
    self->probes[self->next_probe].nonce = text_hash (nonce, size);
    self->probes[self->next_probe].sent = self->sent_up;
    self->next_probe = (self->next_probe + 1) % PROBES_REMEMBERED;
}

//  The root echoed a probe: what went up before it arrived.
static void
s_probe_echoed (federation_t *self, const uint8_t *nonce, size_t size)
{
    uint64_t hash = text_hash (nonce, size);
    for (size_t index = 0; index < PROBES_REMEMBERED; index++)
        if (self->probes[index].nonce == hash && self->probes[index].sent > self->proven)
            self->proven = self->probes[index].sent;
}

//  A probe's echo to every hub below: whether every publication before it
//  reached the root (1) or not (0), then its nonce.
static void
s_echo (federation_t *self, const void *nonce, size_t size, bool whole)
{
    uint8_t body[1 + 256];
    if (!self->links || size > sizeof body - 1)
        return;
    body[0] = whole ? 1 : 0;
    memcpy (body + 1, nonce, size);
    s_send_down (self, 0, DOWN_PROBE, body, 1 + size);
}

//  A message up: kind, then body.
static void
s_send_up (federation_t *self, char kind, const void *body, size_t size)
{
    zmq_msg_t message;
    if (zmq_msg_init_size (&message, size + 1))
        return;
    uint8_t *data = zmq_msg_data (&message);
    data[0] = (uint8_t) kind;
    if (size)
        memcpy (data + 1, body, size);
    if (zmq_msg_send (&message, self->up, ZMQ_DONTWAIT) == -1) {
        log_debug ("federation: a message up was dropped: %s", zmq_strerror (zmq_errno ()));
        zmq_msg_close (&message);
    }
}

//  One record of a TABLE message (docs/federation.md).
typedef struct {
    uint8_t op;
    uint64_t origin, serial;
    const uint8_t *prefix;
    size_t size;
} record_t;

//  Append a record.
static void
s_record (buffer_t *buffer, const record_t *record)
{
    uint8_t head[RECORD_HEAD];
    head[0] = record->op;
    wire_put_be (head + 1, record->origin, 8);
    wire_put_be (head + 9, record->serial, 8);
    wire_put_be (head + 17, record->size, 2);
    if (!s_append (buffer, head, sizeof head) || !s_append (buffer, record->prefix, record->size))
        log_error ("out of memory: the federation's counts are no longer exact");
}

//  Read the record at *at of a TABLE message; false at its end (or at a
//  record that does not fit).
static bool
s_next_record (const uint8_t *data, size_t size, size_t *at, record_t *record)
{
    if (*at + RECORD_HEAD > size)
        return false;
    const uint8_t *head = data + *at;
    record->size = (size_t) wire_get_be (head + 17, 2);
    if (*at + RECORD_HEAD + record->size > size)
        return false;
    record->op = head[0];
    record->origin = wire_get_be (head + 1, 8);
    record->serial = wire_get_be (head + 9, 8);
    record->prefix = head + RECORD_HEAD;
    *at += RECORD_HEAD + record->size;
    return true;
}

//  Send the records gathered for up, when this hub has said HELLO.
static void
s_flush_up (federation_t *self)
{
    if (!self->up_records.used)
        return;
    if (self->up_state == UP_JOINING || self->up_state == UP_JOINED) {
        buffer_t body = {0};
        uint8_t head[8];
        wire_put_be (head, ++self->up_seq, 8);
        if (s_append (&body, head, 8)
            && s_append (&body, self->up_records.data, self->up_records.used))
            s_send_up (self, UP_TABLE, body.data, body.used);
        free (body.data);
    }
    self->up_records.used = 0;
}

static void
s_flush_down (federation_t *self)
{
    if (!self->down_records.used)
        return;
    if (self->links)
        s_send_table_down (self, 0, ++self->down_seq, &self->down_records);
    self->down_records.used = 0;
}

//  --------------------------------------------------------------------------
//  The tables

//  Is the view (what this hub counts from) the replica?
static bool
s_view_is_replica (federation_t *self)
{
    return self->up_state == UP_JOINED && !self->loading;
}

//  A change to the subtree: up, and down while the subtree is the view.
static void
s_subtree_record (federation_t *self, const record_t *record)
{
    if (self->up)
        s_record (&self->up_records, record);
    if (!s_view_is_replica (self))
        s_record (&self->down_records, record);
    if (self->up_records.used >= TABLE_BATCH)
        s_flush_up (self);
    if (self->down_records.used >= TABLE_BATCH)
        s_flush_down (self);
}

//  Apply one record to a table. Returns true if counts changed.
static bool
s_apply (fedtable_t *table, const record_t *record)
{
    if (record->op == RECORD_GONE)
        return fedtable_gone (table, record->origin, record->serial);
    if (record->op == RECORD_LOST)
        return fedtable_drop_origin (table, record->origin);
    uint8_t message[1 + HERALD_MAX_TOPIC_LIMIT];
    if (record->size > HERALD_MAX_TOPIC_LIMIT)
        return false;
    message[0] = record->op;
    memcpy (message + 1, record->prefix, record->size);
    return fedtable_apply (table, record->origin, record->serial, message, record->size + 1)
           == SUBTABLE_CHANGED;
}

//  The subtree's prefixes coming and going: this hub's interest, which the
//  hub above applies to its filter before it reads what follows.
static void
s_interest (void *argument, const uint8_t *prefix, size_t size, bool held)
{
    federation_t *self = argument;
    if (!self->up)
        return;
    uint8_t message[1 + HERALD_MAX_TOPIC_LIMIT];
    message[0] = held ? 1 : 0;
    memcpy (message + 1, prefix, size);
    s_send (self->up, message, size + 1, 0);
}

typedef struct {
    federation_t *self;
    buffer_t *records;
    uint64_t to;  //  down: to one hub (0: all); unused up
    bool up;
} snapshot_t;

static void
s_snapshot_part (snapshot_t *snapshot)
{
    if (snapshot->up)
        s_flush_up (snapshot->self);
    else {
        s_send_table_down (snapshot->self, snapshot->to, 0, snapshot->records);
        snapshot->records->used = 0;
    }
}

static void
s_snapshot_one (void *argument, uint64_t origin, uint64_t serial, const uint8_t *prefix,
                size_t size)
{
    snapshot_t *snapshot = argument;
    s_record (snapshot->records, &(record_t){1, origin, serial, prefix, size});
    if (snapshot->records->used >= TABLE_BATCH)
        s_snapshot_part (snapshot);
}

static fedtable_t *
s_view (federation_t *self)
{
    return s_view_is_replica (self) ? self->replica : self->subtree;
}

//  Send the view down, whole: to one hub that has just joined, or to all
//  (to = 0) when the view became another table.
static void
s_snapshot_down (federation_t *self, uint64_t to)
{
    s_flush_down (self);
    uint8_t body[16];
    wire_put_be (body, self->id, 8);
    wire_put_be (body + 8, self->down_seq, 8);
    s_send_down (self, to, DOWN_WELCOME, body, sizeof body);
    buffer_t records = {0};
    snapshot_t snapshot = {self, &records, to, false};
    fedtable_each (s_view (self), s_snapshot_one, &snapshot);
    if (records.used)
        s_snapshot_part (&snapshot);
    free (records.data);
    s_send_down (self, to, DOWN_DONE, NULL, 0);
}

//  The view became another table: tell the hub and every hub below.
static void
s_view_changed (federation_t *self)
{
    self->down_records.used = 0;
    if (self->links)
        s_snapshot_down (self, 0);
    self->events.counts_changed (self->hub);
}

//  --------------------------------------------------------------------------
//  Up: the link to the hub above

//  This hub's subtree's hub ids: its own, then each joined link's.
static void
s_hub_ids (federation_t *self, buffer_t *out)
{
    uint8_t id[8];
    wire_put_be (id, self->id, 8);
    s_append (out, id, 8);
    for (link_t *link = self->links; link; link = link->next)
        if (link->state == LINK_JOINED)
            for (size_t index = 0; index < link->hub_count; index++) {
                wire_put_be (id, link->hubs[index], 8);
                s_append (out, id, 8);
            }
}

//  HELLO, then the subtree whole: on each new connection up, and when the
//  hub above asks again.
static void
s_hello (federation_t *self)
{
    buffer_t body = {0};
    s_hub_ids (self, &body);
    s_send_up (self, UP_HELLO, body.data, body.used);
    free (body.data);
    self->up_state = UP_JOINING;
    self->up_seq = 0;
    self->sent_up = 0;
    self->proven = 0;
    self->hubs_changed = false;
    self->up_records.used = 0;
    snapshot_t snapshot = {self, &self->up_records, 0, true};
    fedtable_each (self->subtree, s_snapshot_one, &snapshot);
    s_flush_up (self);
}

//  The connection up has ended, or was refused: count the subtree alone.
static void
s_up_lost (federation_t *self, up_state_t state)
{
    if (self->up_state == UP_JOINED && self->sent_up > self->proven) {
        //  What went up since the last echo may be lost: whoever sent it,
        //  here or below, must not be told it arrived.
        log_info ("federation: %" PRIu64 " publications sent up may not have reached the root: "
                  "publishers will be told so",
                  self->sent_up - self->proven);
        for (link_t *link = self->links; link; link = link->next)
            link->unproven = true;
        self->events.unproven (self->hub);
    }
    bool was_replica = s_view_is_replica (self);
    self->up_state = state;
    self->loading = false;
    fedtable_clear (self->replica);
    if (was_replica)
        s_view_changed (self);
}

static void
s_watch_up (federation_t *self)
{
    monitor_event_t event;
    while (monitor_next (self->up_monitor, &event))
        if (event.number == ZMQ_EVENT_HANDSHAKE_SUCCEEDED && self->up_state != UP_REFUSED) {
            log_debug ("federation: connected to %s", self->cfg->upstream);
            s_up_lost (self, UP_JOINING);
            s_hello (self);
        } else if (event.number == ZMQ_EVENT_DISCONNECTED && self->up_state != UP_REFUSED) {
            if (self->up_state == UP_JOINED)
                log_info ("lost the upstream hub at %s: counting this hub's subtree alone "
                          "until it is back",
                          self->cfg->upstream);
            s_up_lost (self, UP_CONNECTING);
        }
}

//  A TABLE from above: records for the replica.
static void
s_take_table_from_above (federation_t *self, const uint8_t *data, size_t size)
{
    if (size < 8)
        return;
    uint64_t seq = wire_get_be (data, 8);
    if (seq) {
        if (seq != self->above_seq + 1) {
            log_info ("federation: a message from above was lost (%" PRIu64 " after %" PRIu64
                      "): asking for the whole table again",
                      seq, self->above_seq);
            self->resyncs++;
            s_up_lost (self, UP_JOINING);
            s_hello (self);
            return;
        }
        self->above_seq = seq;
    }
    bool changed = false;
    record_t record;
    for (size_t at = 8; s_next_record (data, size, &at, &record);) {
        changed |= s_apply (self->replica, &record);
        if (!self->loading)
            s_record (&self->down_records, &record);
    }
    if (changed && s_view_is_replica (self))
        self->events.counts_changed (self->hub);
}

//  A control message from above (the topic and its 0x00 byte skipped).
static void
s_take_from_above (federation_t *self, const uint8_t *data, size_t size)
{
    if (size < 1)
        return;
    char kind = (char) data[0];
    data++, size--;
    if (kind == DOWN_REFUSED) {
        log_error ("the upstream hub at %s refused this hub: %.*s; not retrying",
                   self->cfg->upstream, (int) size, (const char *) data);
        zmq_disconnect (self->up, self->cfg->upstream);
        s_up_lost (self, UP_REFUSED);
        return;
    }
    if (kind == DOWN_RESYNC && self->up_state != UP_REFUSED) {
        self->resyncs++;
        s_up_lost (self, UP_JOINING);
        s_hello (self);
        return;
    }
    if (self->up_state != UP_JOINING && self->up_state != UP_JOINED)
        return;
    if (kind == DOWN_WELCOME && size >= 16) {
        bool first = self->up_state == UP_JOINING;
        self->parent = wire_get_be (data, 8);
        self->above_seq = wire_get_be (data + 8, 8);
        self->up_state = UP_JOINED;
        self->loading = true;
        fedtable_clear (self->replica);
        if (first) {
            char parent[ID_TEXT];
            s_id_text (self->parent, parent);
            log_info ("joined the federation below hub %s at %s", parent, self->cfg->upstream);
        }
    } else if (kind == DOWN_TABLE && self->up_state == UP_JOINED)
        s_take_table_from_above (self, data, size);
    else if (kind == DOWN_DONE && self->loading) {
        self->loading = false;
        s_view_changed (self);
    } else if (kind == DOWN_PROBE && size >= 1) {
        if (data[0] == 1)
            s_probe_echoed (self, data + 1, size - 1);
        self->events.probe_seen (self->hub, data + 1, size - 1, data[0] == 1);
        s_echo (self, data + 1, size - 1, data[0] == 1);
    }
}

//  Read what came from above: control messages, and events to deliver
//  here and below (once this hub has joined).
static void
s_read_up (federation_t *self)
{
    size_t reserved = strlen (DOWN_TOPIC);
    frames_t *frames = &self->frames;
    for (int count = 0; count < HERALD_FORWARD_BATCH && !self->paused; count++) {
        frames_clear (frames);
        zmq_msg_t *first = frames_add (frames);
        if (!first || zmq_msg_recv (first, self->up, ZMQ_DONTWAIT) == -1)
            break;
        frames_recv_rest (frames, self->up);
        first = &frames->items[0];
        const uint8_t *data = zmq_msg_data (first);
        size_t size = zmq_msg_size (first);
        const uint8_t *end = memchr (data, 0, size);
        size_t topic = end ? (size_t) (end - data) : size;
        if (topic >= reserved && memcmp (data, DOWN_TOPIC, reserved) == 0) {
            //  Only what is addressed to every hub or to this one: the
            //  interest of a subscriber of everything below brings those
            //  addressed to the other hubs too.
            bool here = topic == reserved
                        || (topic == reserved + ID_TEXT && data[reserved] == '/'
                            && memcmp (data + reserved + 1, self->id_text, ID_TEXT - 1) == 0);
            if (frames->count == 1 && end && here)
                s_take_from_above (self, end + 1, size - topic - 1);
        } else if (self->up_state == UP_JOINED) {
            self->events_from_above++;
            if (!self->events.deliver (self->hub, frames))
                self->paused = true;
        }
    }
    frames_clear (frames);
}

//  --------------------------------------------------------------------------
//  Down: the hubs below

static link_t *
s_link (federation_t *self, uint64_t serial)
{
    for (link_t *link = self->links; link; link = link->next)
        if (link->serial == serial)
            return link;
    return NULL;
}

static int
s_id_order (const void *one, const void *other)
{
    uint64_t left = *(const uint64_t *) one, right = *(const uint64_t *) other;
    return left < right ? -1 : left > right;
}

//  Looked up in order: every record from below asks, and a link's list is
//  as long as its hub below says.
static bool
s_link_holds (const link_t *link, uint64_t id)
{
    return link->hub_count
           && bsearch (&id, link->hubs, link->hub_count, sizeof id, s_id_order) != NULL;
}

//  Every connection of a link's hubs has left the subtree.
static void
s_link_drop (federation_t *self, link_t *link)
{
    bool changed = false;
    if (link->state == LINK_JOINED)
        for (size_t index = 0; index < link->hub_count; index++) {
            changed |= fedtable_drop_origin (self->subtree, link->hubs[index]);
            s_subtree_record (self, &(record_t){.op = RECORD_LOST, .origin = link->hubs[index]});
        }
    if (changed && !s_view_is_replica (self))
        self->events.counts_changed (self->hub);
    if (link->state == LINK_JOINED)
        self->hubs_changed = true;
}

static void
s_link_free (federation_t *self, link_t *link)
{
    for (link_t **at = &self->links; *at; at = &(*at)->next)
        if (*at == link) {
            *at = link->next;
            break;
        }
    free (link->hubs);
    free (link);
}

//  Why a hub with these ids may not join here; NULL if it may.
static const char *
s_loop (federation_t *self, const link_t *joining)
{
    if (s_link_holds (joining, self->id))
        return "a link to it would close a loop: this hub is below it";
    for (link_t *link = self->links; link; link = link->next)
        if (link != joining && link->state == LINK_JOINED)
            for (size_t index = 0; index < joining->hub_count; index++)
                if (s_link_holds (link, joining->hubs[index]))
                    return "one of its hubs is in this federation already, by another link";
    return NULL;
}

//  HELLO or HUBS: the ids of a link's subtree, its own first.
static void
s_take_hubs (federation_t *self, link_t *link, const uint8_t *data, size_t size, bool hello)
{
    size_t count = size / 8;
    uint64_t *hubs = count ? calloc (count, sizeof (uint64_t)) : NULL;
    if (!hubs)
        return;
    for (size_t index = 0; index < count; index++) {
        hubs[index] = wire_get_be (data + 8 * index, 8);
        if (hubs[index] == 0) {
            //  No hub has id 0: down, it would address every hub.
            free (hubs);
            return;
        }
    }
    uint64_t own = hubs[0];
    qsort (hubs, count, sizeof (uint64_t), s_id_order);
    size_t unique = 0;
    for (size_t index = 0; index < count; index++)
        if (unique == 0 || hubs[index] != hubs[unique - 1])
            hubs[unique++] = hubs[index];
    count = unique;
    uint64_t *held = link->hubs;
    size_t held_count = link->hub_count;
    bool joined = link->state == LINK_JOINED;
    link->hubs = hubs;
    link->hub_count = count;
    link->id = own;
    char id[ID_TEXT];
    s_id_text (link->id, id);
    const char *refusal = s_loop (self, link);
    //  What it held goes, its subscribers with it: all of it at HELLO or
    //  when refused, else the hubs that left its subtree. Never by the ids
    //  it names now: a refused link may name another link's.
    bool changed = false;
    for (size_t index = 0; joined && index < held_count; index++)
        if (hello || refusal
            || !bsearch (&held[index], hubs, count, sizeof (uint64_t), s_id_order)) {
            changed |= fedtable_drop_origin (self->subtree, held[index]);
            s_subtree_record (self, &(record_t){.op = RECORD_LOST, .origin = held[index]});
        }
    free (held);
    if (changed && !s_view_is_replica (self))
        self->events.counts_changed (self->hub);
    if (refusal) {
        if (link->state != LINK_REFUSED)
            log_error ("refused hub %s from %s below: %s", id, link->address, refusal);
        if (joined)
            self->hubs_changed = true;
        link->state = LINK_REFUSED;
        //  Told so under its own id, if that id is its alone; a link
        //  that claims another's (this hub's, or one of another link's)
        //  would have that hub told, and is disconnected instead.
        bool alone = link->id != self->id;
        for (link_t *other = self->links; alone && other; other = other->next)
            alone = other == link || !s_link_holds (other, link->id);
        if (alone)
            s_send_down (self, link->id, DOWN_REFUSED, refusal, strlen (refusal));
        else
            peers_disconnect (self->down_peers, link->serial, link->fd);
        return;
    }
    if (hello) {
        if (link->state != LINK_JOINED)
            log_info ("hub %s joined below, from %s, with %zu hubs", id, link->address, count);
        link->state = LINK_JOINED;
        link->expect = 1;
        link->received = 0;
        s_snapshot_down (self, link->id);
    }
    self->hubs_changed = true;
}

//  A TABLE from below: records for the subtree, each of an origin that
//  belongs to the link.
static void
s_take_table_from_below (federation_t *self, link_t *link, const uint8_t *data, size_t size)
{
    if (size < 8)
        return;
    uint64_t seq = wire_get_be (data, 8);
    if (seq != link->expect) {
        log_info ("federation: a message from below was lost (%" PRIu64 ", expected %" PRIu64
                  "): asking for its whole table again",
                  seq, link->expect);
        self->resyncs++;
        link->expect = 0;  //  nothing counts until its next HELLO
        s_send_down (self, link->id, DOWN_RESYNC, NULL, 0);
        return;
    }
    link->expect++;
    bool changed = false;
    record_t record;
    for (size_t at = 8; s_next_record (data, size, &at, &record);) {
        if (!s_link_holds (link, record.origin) || record.op > RECORD_LOST) {
            self->foreign_records++;
            continue;
        }
        changed |= s_apply (self->subtree, &record);
        s_subtree_record (self, &record);
    }
    if (changed && !s_view_is_replica (self))
        self->events.counts_changed (self->hub);
}

//  A probe from below: the number of publications the link says it sent
//  up since its HELLO, then the nonce. If fewer arrived, some were lost on
//  the way (a full queue): the probe's publisher is told so at once. Else
//  it goes on up, or, at the root, comes back down to every hub.
static void
s_take_probe_from_below (federation_t *self, link_t *link, const uint8_t *data, size_t size)
{
    if (size < 8)
        return;
    uint64_t sent = wire_get_be (data, 8);
    if (sent != link->received || link->unproven) {
        link->unproven = false;
        s_echo (self, data + 8, size - 8, false);
    } else if (federation_goes_up (self))
        federation_probe_up (self, data + 8, size - 8);
    else {
        self->events.probe_seen (self->hub, data + 8, size - 8, true);
        s_echo (self, data + 8, size - 8, true);
    }
}

//  An event or probe from below: up, if this hub goes up; else this hub
//  is the root, and delivers it.
static void
s_take_event_from_below (federation_t *self, link_t *link, zmq_msg_t *message)
{
    const uint8_t *data = zmq_msg_data (message);
    size_t size = zmq_msg_size (message);
    if (data[0] == UP_PROBE) {
        s_take_probe_from_below (self, link, data + 1, size - 1);
        return;
    }
    link->received++;
    if (federation_goes_up (self)) {
        //  The same message, as it came.
        self->events_up++;
        self->sent_up++;
        zmq_msg_t copy;
        zmq_msg_init (&copy);
        zmq_msg_move (&copy, message);
        if (zmq_msg_send (&copy, self->up, ZMQ_DONTWAIT) == -1)
            zmq_msg_close (&copy);
        return;
    }
    frames_t *frames = &self->frames;
    frames_clear (frames);
    if (data[0] == UP_EVENT) {
        zmq_msg_t *frame = frames_add (frames);
        if (!frame || zmq_msg_init_size (frame, size - 1))
            return;
        memcpy (zmq_msg_data (frame), data + 1, size - 1);
    } else {
        //  MULTIPART: a count, then each frame's size and bytes.
        size_t at = 5;
        uint64_t total = size >= 5 ? (uint64_t) (size_t) wire_get_be (data + 1, 4) : 0;
        for (uint64_t index = 0; index < total && at + 4 <= size; index++) {
            size_t frame_size = (size_t) wire_get_be (data + at, 4);
            at += 4;
            zmq_msg_t *frame = frame_size <= size - at ? frames_add (frames) : NULL;
            if (!frame || zmq_msg_init_size (frame, frame_size))
                break;
            memcpy (zmq_msg_data (frame), data + at, frame_size);
            at += frame_size;
        }
        //  A count that lies, and no frame at all, are not a publication.
        if (frames->count != total || total == 0) {
            frames_clear (frames);
            return;
        }
    }
    self->events_from_below++;
    if (!self->events.deliver (self->hub, frames))
        self->paused = true;
    frames_clear (frames);
}

//  One message from a hub below.
static void
s_take_from_below (federation_t *self, zmq_msg_t *message)
{
    const uint8_t *data = zmq_msg_data (message);
    size_t size = zmq_msg_size (message);
    zap_token_t token;
    if (size < 1 || zap_token_of (message, &token))
        return;
    int fd = zmq_msg_get (message, ZMQ_SRCFD);
    uint64_t serial = peers_identify (self->down_peers, token.serial, token.position, fd);
    if (!serial)
        return;  //  of a connection that has gone
    if (data[0] <= 1)
        return;  //  its interest: the XPUB applied it
    link_t *link = s_link (self, serial);
    if (!link) {
        link = calloc (1, sizeof (link_t));
        if (!link)
            return;
        link->serial = serial;
        link->fd = fd;
        const char *address = zmq_msg_gets (message, "Peer-Address");
        snprintf (link->address, sizeof link->address, "%s", address ? address : "?");
        link->next = self->links;
        self->links = link;
    }
    char kind = (char) data[0];
    if (kind == UP_HELLO && size >= 9) {
        s_take_hubs (self, link, data + 1, size - 1, true);
        return;
    }
    if (link->state != LINK_JOINED)
        return;  //  nothing counts before HELLO
    if (link->expect == 0 && (kind == UP_HUBS || kind == UP_TABLE))
        return;  //  a record was lost: none counts until its HELLO
    if (kind == UP_HUBS && size >= 9)
        s_take_hubs (self, link, data + 1, size - 1, false);
    else if (kind == UP_TABLE)
        s_take_table_from_below (self, link, data + 1, size - 1);
    else if (kind == UP_LEASE && size >= 9)
        link->events_out = wire_get_be (data + 1, 8);
    else if (kind == UP_EVENT || kind == UP_MULTIPART || kind == UP_PROBE) {
        if (kind != UP_PROBE)
            link->events_in++;
        s_take_event_from_below (self, link, message);
    }
}

static void
s_read_down (federation_t *self)
{
    zmq_msg_t message;
    zmq_msg_init (&message);
    for (int count = 0; count < HERALD_FORWARD_BATCH && !self->paused; count++) {
        if (zmq_msg_recv (&message, self->down, ZMQ_DONTWAIT) == -1)
            break;
        if (zmq_msg_more (&message)) {
            //  Not one of ours: every message up is one frame.
            while (zmq_msg_more (&message) && zmq_msg_recv (&message, self->down, 0) != -1)
                ;
            continue;
        }
        s_take_from_below (self, &message);
    }
    zmq_msg_close (&message);
}

static void
s_watch_down (federation_t *self)
{
    monitor_event_t event;
    while (monitor_next (self->down_monitor, &event)) {
        uint64_t serial = peers_follow (self->down_peers, &event, "federation port");
        link_t *link = serial ? s_link (self, serial) : NULL;
        if (link) {
            if (link->state == LINK_JOINED) {
                char id[ID_TEXT];
                s_id_text (link->id, id);
                log_info ("hub %s below (%s) left: its subscribers are no longer counted", id,
                          link->address);
            }
            s_link_drop (self, link);
            s_link_free (self, link);
        }
    }
}

uint64_t
federation_position (void *argument)
{
    federation_t *self = argument;
    s_watch_down (self);
    return peers_position (self->down_peers);
}

//  --------------------------------------------------------------------------
//  The interface

//  A link is dropped sooner than a subscriber (herald.h), on both ends.
static void
s_link_heartbeat (federation_t *self, zsock_t *sock)
{
    if (sock && self->cfg->heartbeat_ms)
        zsock_set_heartbeat_timeout (sock,
                                     HERALD_LINK_HEARTBEAT_MISSES * (int) self->cfg->heartbeat_ms);
}

federation_t *
federation_new (const config_t *cfg, const sock_curve_t *curve, const federation_events_t *events,
                void *hub)
{
    federation_t *self = calloc (1, sizeof (federation_t));
    if (!self) {
        log_error ("out of memory");
        return NULL;
    }
    self->cfg = cfg;
    self->events = *events;
    self->hub = hub;
    //  Ids need only differ: 64 random bits.
    while (!self->id)
        if (getrandom (&self->id, sizeof self->id, 0) != sizeof self->id) {
            log_error ("cannot make this hub's id: %s", strerror (errno));
            federation_destroy (&self);
            return NULL;
        }
    s_id_text (self->id, self->id_text);
    self->subtree = fedtable_new (cfg->max_topic_size);
    self->replica = fedtable_new (cfg->max_topic_size);
    self->down_peers = peers_new ();
    if (!self->subtree || !self->replica || !self->down_peers) {
        log_error ("out of memory");
        federation_destroy (&self);
        return NULL;
    }
    subtable_set_watch (fedtable_subtable (self->subtree), s_interest, self);
    //  Hubs below send TABLE batches and whole publications; they are
    //  pinged, and one silent for 3 pings is dropped, as subscribers are.
    int64_t largest = (int64_t) cfg->max_message_size * 2 + TABLE_BATCH * 2;
    sock_options_t options = {.curve = curve,
                              .hwm = sock_hwm (cfg->hwm),
                              .max_frame = largest,
                              .heartbeat_ms = (int) cfg->heartbeat_ms,
                              .heartbeat_watch = true,
                              .zap_domain = zap_domain (ZAP_FEDERATION)};
    self->down_sock = sock_open (ZMQ_XPUB, &options, "federation");
    s_link_heartbeat (self, self->down_sock);
    //  Every subscription passed on, as the backend's are: an XPUB that
    //  drops one it holds already drops it from the middle of a message
    //  too, and the message's rest, waited for, would never come.
    if (self->down_sock)
        zsock_set_xpub_verboser (self->down_sock, 1);
    int watched = ZMQ_EVENT_ACCEPTED | ZMQ_EVENT_DISCONNECTED;
    if (self->down_sock)
        self->down_monitor = monitor_new (zsock_resolve (self->down_sock), "federation", watched);
    if (!self->down_monitor || sock_attach (self->down_sock, cfg->federation, true, "federation")) {
        federation_destroy (&self);
        return NULL;
    }
    self->down = zsock_resolve (self->down_sock);
    if (!*cfg->upstream)
        return self;
    //  Up: this hub's own key pair, and the upstream's public key.
    if (curve->cert && sock_curve_upstream (curve, cfg->curve_upstream_key, &self->up_curve)) {
        federation_destroy (&self);
        return NULL;
    }
    options.curve = curve->cert ? &self->up_curve : NULL;
    options.zap_domain = NULL;
    options.max_frame = 0;
    self->up_sock = sock_open (ZMQ_XSUB, &options, "upstream");
    //  Nothing that goes up may be dropped: an XSUB drops silently at its
    //  high-water mark, and a lost subscription would leave a subscriber
    //  counted at the root while no filter passes its events.
    if (self->up_sock)
        zsock_set_sndhwm (self->up_sock, 0);
    s_link_heartbeat (self, self->up_sock);
    watched = ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_DISCONNECTED;
    if (self->up_sock)
        self->up_monitor = monitor_new (zsock_resolve (self->up_sock), "upstream", watched);
    if (!self->up_monitor) {
        federation_destroy (&self);
        return NULL;
    }
    self->up = zsock_resolve (self->up_sock);
    //  What is addressed to every hub, and to this one.
    char topic[sizeof DOWN_TOPIC + ID_TEXT + 2] = "\x01" DOWN_TOPIC;
    s_send (self->up, topic, strlen (topic) + 1, 0);
    snprintf (topic + 1 + strlen (DOWN_TOPIC), ID_TEXT + 1, "/%s", self->id_text);
    s_send (self->up, topic, strlen (topic) + 1, 0);
    //  And TERMINATE, which every hub must see pass, subscribers below it
    //  or not: a hub with none would else never leave (--exit-on-terminate),
    //  nor the hubs above it. The XSUB counts this subscription with its
    //  subtree's own, so the last subscriber leaving does not drop it.
    s_send (self->up, "\x01" HERALD_TERMINATE, 1 + strlen (HERALD_TERMINATE), 0);
    if (sock_attach (self->up_sock, cfg->upstream, false, "upstream")) {
        federation_destroy (&self);
        return NULL;
    }
    self->up_state = UP_CONNECTING;
    return self;
}

void
federation_destroy (federation_t **self_p)
{
    federation_t *self = *self_p;
    if (!self)
        return;
    monitor_destroy (&self->down_monitor);
    monitor_destroy (&self->up_monitor);
    zsock_destroy (&self->down_sock);
    zsock_destroy (&self->up_sock);
    sock_curve_destroy (&self->up_curve);
    while (self->links)
        s_link_free (self, self->links);
    peers_destroy (&self->down_peers);
    fedtable_destroy (&self->subtree);
    fedtable_destroy (&self->replica);
    frames_destroy (&self->frames);
    free (self->up_records.data);
    free (self->down_records.data);
    free (self);
    *self_p = NULL;
}

size_t
federation_handles (federation_t *self, void **handles, size_t size)
{
    size_t count = 0;
    void *all[] = {self->down, monitor_handle (self->down_monitor), self->up,
                   self->up_monitor ? monitor_handle (self->up_monitor) : NULL};
    for (size_t index = 0; index < 4 && count < size; index++)
        if (all[index])
            handles[count++] = all[index];
    return count;
}

void
federation_read (federation_t *self, bool blocked)
{
    s_watch_down (self);
    if (self->up_monitor)
        s_watch_up (self);
    self->paused = blocked;
    if (!blocked) {
        s_read_down (self);
        if (self->up)
            s_read_up (self);
    }
    federation_flush (self);
}

void
federation_flush (federation_t *self)
{
    if (self->up && self->hubs_changed
        && (self->up_state == UP_JOINING || self->up_state == UP_JOINED)) {
        buffer_t body = {0};
        s_hub_ids (self, &body);
        s_flush_up (self);
        s_send_up (self, UP_HUBS, body.data, body.used);
        free (body.data);
    }
    self->hubs_changed = false;
    s_flush_up (self);
    s_flush_down (self);
    int64_t now = zclock_mono ();
    if (self->up_state == UP_JOINED && now >= self->lease_due) {
        uint8_t body[8];
        wire_put_be (body, self->events_from_above, 8);
        s_send_up (self, UP_LEASE, body, sizeof body);
        self->lease_due =
            now + (int64_t) (self->cfg->heartbeat_ms ? self->cfg->heartbeat_ms : 1000);
    }
}

long
federation_timeout (federation_t *self, int64_t now)
{
    if (self->up_state != UP_JOINED)
        return -1;
    return self->lease_due > now ? (long) (self->lease_due - now) : 0;
}

bool
federation_goes_up (federation_t *self)
{
    return self->up_state == UP_JOINED;
}

void
federation_send_up (federation_t *self, frames_t *frames)
{
    self->events_up++;
    self->sent_up++;
    if (frames->count == 1) {
        s_send_up (self, UP_EVENT, zmq_msg_data (&frames->items[0]),
                   zmq_msg_size (&frames->items[0]));
        return;
    }
    buffer_t body = {0};
    uint8_t head[4];
    wire_put_be (head, (uint32_t) frames->count, 4);
    bool whole = s_append (&body, head, 4);
    for (size_t index = 0; whole && index < frames->count; index++) {
        size_t size = zmq_msg_size (&frames->items[index]);
        wire_put_be (head, (uint32_t) size, 4);
        whole = s_append (&body, head, 4)
                && s_append (&body, zmq_msg_data (&frames->items[index]), size);
    }
    if (whole)
        s_send_up (self, UP_MULTIPART, body.data, body.used);
    else
        log_error ("out of memory: a publication could not go up");
    free (body.data);
}

void
federation_probe_up (federation_t *self, const void *nonce, size_t size)
{
    uint8_t body[8 + 256];
    if (size > sizeof body - 8)
        return;
    wire_put_be (body, self->sent_up, 8);
    memcpy (body + 8, nonce, size);
    s_send_up (self, UP_PROBE, body, 8 + size);
    s_probe_sent (self, nonce, size);
}

void
federation_probe_down (federation_t *self, const void *nonce, size_t size)
{
    s_echo (self, nonce, size, true);
}

void *
federation_down_handle (federation_t *self)
{
    return self->links ? self->down : NULL;
}

void
federation_local_apply (federation_t *self, uint64_t connection, const void *message, size_t size)
{
    const uint8_t *bytes = message;
    record_t record = {bytes[0], self->id, connection, bytes + 1, size - 1};
    s_apply (self->subtree, &record);
    s_subtree_record (self, &record);
}

void
federation_local_gone (federation_t *self, uint64_t connection)
{
    fedtable_gone (self->subtree, self->id, connection);
    s_subtree_record (self,
                      &(record_t){.op = RECORD_GONE, .origin = self->id, .serial = connection});
}

subtable_t *
federation_table (federation_t *self)
{
    return fedtable_subtable (s_view (self));
}

uint64_t
federation_links (federation_t *self)
{
    uint64_t count = 0;
    for (link_t *link = self->links; link; link = link->next)
        count++;
    return count;
}

void
federation_json (federation_t *self, FILE *out)
{
    char id[ID_TEXT];
    fprintf (out, "{\"id\":\"%s\",\"root\":%s,\"upstream\":", self->id_text,
             federation_goes_up (self) ? "false" : "true");
    if (self->up) {
        s_id_text (self->parent, id);
        fprintf (out, "{\"endpoint\":");
        text_json_string (out, self->cfg->upstream, strlen (self->cfg->upstream));
        fprintf (out,
                 ",\"state\":\"%s\",\"hub\":\"%s\",\"events_up\":%" PRIu64
                 ",\"events_from_above\":%" PRIu64 "}",
                 s_up_states[self->up_state], self->parent ? id : "", self->events_up,
                 self->events_from_above);
    } else
        fprintf (out, "null");
    fprintf (out, ",\"links\":[");
    for (link_t *link = self->links; link; link = link->next) {
        s_id_text (link->id, id);
        uint64_t subscribers = 0;
        if (link->state == LINK_JOINED)
            for (size_t index = 0; index < link->hub_count; index++)
                subscribers += fedtable_connections_of (self->subtree, link->hubs[index]);
        fprintf (out, "%s{\"hub\":\"%s\",\"address\":", link == self->links ? "" : ",", id);
        text_json_string (out, link->address, strlen (link->address));
        fprintf (out,
                 ",\"state\":\"%s\",\"hubs\":%zu,\"subscribers\":%" PRIu64 ",\"events_in\":%" PRIu64
                 ",\"events_out\":%" PRIu64 "}",
                 s_link_states[link->state], link->hub_count, subscribers, link->events_in,
                 link->events_out);
    }
    fprintf (out,
             "],\"subtree_subscribers\":%" PRIu64 ",\"events_from_below\":%" PRIu64
             ",\"resyncs\":%" PRIu64 ",\"foreign_records\":%" PRIu64 ",\"dropped_down\":%" PRIu64
             "}",
             subtable_connections (fedtable_subtable (self->subtree)), self->events_from_below,
             self->resyncs, self->foreign_records, self->dropped_down);
}
