/*  subtable.c - the hub's live subscriptions; see subtable.h.

    Judy arrays (libjudy), which grow a node at a time: no operation ever
    pays for a whole table at once, as a hash table that rehashes does (at
    a million entries, one subscribe would hold the hub's thread for over
    100 ms).
    - prefixes: each distinct prefix (JudyHS, by its bytes), with the list
      of its holders;
    - connections: each connection holding at least one prefix (JudyL, by
      its number), with the list of its holds, and its own JudyL of them,
      by prefix, which tells whether it holds one already.
    A count looks up only the prefixes of the topic whose lengths occur in
    the table, and counts each holder's connection once (a stamp per
    count). Subscribe, unsubscribe and count cost a few lookups; a
    connection leaving costs one step per prefix it held. */

#include "subtable.h"
#include "herald.h"
#include "text.h"

#include <Judy.h>
#include <assert.h>
#include <stdlib.h>
#include <string.h>

typedef struct _node_t node_t;
typedef struct _conn_t conn_t;
typedef struct _hold_t hold_t;

struct _node_t {
    hold_t *holds;  //  its holders
    uint64_t holders;
    node_t *prev, *next;  //  every prefix, for STATS
    size_t size;
    uint8_t bytes[];
};

struct _conn_t {
    uint64_t id;
    hold_t *holds;
    Pvoid_t by_node;  //  JudyL: node_t address -> hold_t
    uint64_t held;
    uint64_t stamp;  //  the last count that reached it
};

struct _hold_t {
    conn_t *conn;
    node_t *node;
    hold_t *node_prev, *node_next;
    hold_t *conn_prev, *conn_next;
};

struct _subtable_t {
    Pvoid_t prefixes;     //  JudyHS: bytes -> node_t
    Pvoid_t connections;  //  JudyL: id -> conn_t
    node_t *nodes;        //  every prefix
    size_t node_count;
    size_t connection_count;
    uint64_t *lengths;  //  prefixes of each length, 0 .. max_prefix
    size_t max_prefix;
    uint64_t max_per_connection;
    uint64_t stamp;
    uint64_t total;
    subtable_watch_fn *watch;  //  told when a prefix comes and goes
    void *watch_argument;
};

//  JudyHS takes its key as void *, and never writes through it.
#define KEY(bytes) ((void *) (uintptr_t) (bytes))

subtable_t *
subtable_new (size_t max_prefix, uint64_t max_per_connection)
{
    subtable_t *self = calloc (1, sizeof (subtable_t));
    if (!self)
        return NULL;
    self->max_prefix = max_prefix;
    self->max_per_connection = max_per_connection;
    self->lengths = calloc (max_prefix + 1, sizeof (uint64_t));
    if (!self->lengths)
        subtable_destroy (&self);
    return self;
}

void
subtable_destroy (subtable_t **self_p)
{
    subtable_t *self = *self_p;
    if (!self)
        return;
    Word_t id = 0;
    for (PPvoid_t slot = JudyLFirst (self->connections, &id, PJE0); slot;
         slot = JudyLNext (self->connections, &id, PJE0))
        subtable_drop (self, id);
    JudyLFreeArray (&self->connections, PJE0);
    JudyHSFreeArray (&self->prefixes, PJE0);
    free (self->lengths);
    free (self);
    *self_p = NULL;
}

static conn_t *
s_conn (subtable_t *self, uint64_t id)
{
    PPvoid_t slot = JudyLGet (self->connections, (Word_t) id, PJE0);
    return slot ? *slot : NULL;
}

static node_t *
s_node (subtable_t *self, const uint8_t *bytes, size_t size)
{
    PPvoid_t slot = JudyHSGet (self->prefixes, KEY (bytes), (Word_t) size);
    return slot ? *slot : NULL;
}

static hold_t *
s_find_hold (conn_t *conn, node_t *node)
{
    PPvoid_t slot = JudyLGet (conn->by_node, (Word_t) node, PJE0);
    return slot ? *slot : NULL;
}

//  Make a node for a new prefix; NULL if out of memory.
static node_t *
s_node_new (subtable_t *self, const uint8_t *bytes, size_t size)
{
    node_t *node = calloc (1, sizeof (node_t) + size);
    if (!node)
        return NULL;
    if (size)
        memcpy (node->bytes, bytes, size);
    node->size = size;
    PPvoid_t slot = JudyHSIns (&self->prefixes, KEY (node->bytes), (Word_t) size, PJE0);
    if (slot == PPJERR) {
        free (node);
        return NULL;
    }
    *slot = node;
    node->next = self->nodes;
    if (self->nodes)
        self->nodes->prev = node;
    self->nodes = node;
    self->node_count++;
    self->lengths[size]++;
    if (self->watch)
        self->watch (self->watch_argument, node->bytes, size, true);
    return node;
}

static void
s_node_free (subtable_t *self, node_t *node)
{
    JudyHSDel (&self->prefixes, KEY (node->bytes), (Word_t) node->size, PJE0);
    if (node->prev)
        node->prev->next = node->next;
    else
        self->nodes = node->next;
    if (node->next)
        node->next->prev = node->prev;
    self->node_count--;
    self->lengths[node->size]--;
    if (self->watch)
        self->watch (self->watch_argument, node->bytes, node->size, false);
    free (node);
}

//  Add a hold of conn on prefix; returns 0, or -1 if out of memory
//  (nothing changed).
static int
s_hold (subtable_t *self, conn_t *conn, const uint8_t *bytes, size_t size)
{
    node_t *node = s_node (self, bytes, size);
    bool new_node = node == NULL;
    if (new_node && !(node = s_node_new (self, bytes, size)))
        return -1;
    hold_t *hold = calloc (1, sizeof (hold_t));
    PPvoid_t slot = hold ? JudyLIns (&conn->by_node, (Word_t) node, PJE0) : PPJERR;
    if (slot == PPJERR) {
        free (hold);
        if (new_node)
            s_node_free (self, node);
        return -1;
    }
    *slot = hold;
    *hold =
        (hold_t){.conn = conn, .node = node, .node_next = node->holds, .conn_next = conn->holds};
    if (node->holds)
        node->holds->node_prev = hold;
    node->holds = hold;
    node->holders++;
    if (conn->holds)
        conn->holds->conn_prev = hold;
    conn->holds = hold;
    conn->held++;
    self->total++;
    return 0;
}

//  Remove a hold; its prefix goes when nobody holds it. The connection
//  stays, even with nothing held: the caller decides.
static void
s_unhold (subtable_t *self, hold_t *hold)
{
    node_t *node = hold->node;
    conn_t *conn = hold->conn;
    JudyLDel (&conn->by_node, (Word_t) node, PJE0);
    if (hold->node_prev)
        hold->node_prev->node_next = hold->node_next;
    else
        node->holds = hold->node_next;
    if (hold->node_next)
        hold->node_next->node_prev = hold->node_prev;
    if (hold->conn_prev)
        hold->conn_prev->conn_next = hold->conn_next;
    else
        conn->holds = hold->conn_next;
    if (hold->conn_next)
        hold->conn_next->conn_prev = hold->conn_prev;
    free (hold);
    conn->held--;
    self->total--;
    if (--node->holders == 0)
        s_node_free (self, node);
}

static void
s_forget (subtable_t *self, conn_t *conn)
{
    JudyLDel (&self->connections, (Word_t) conn->id, PJE0);
    JudyLFreeArray (&conn->by_node, PJE0);
    self->connection_count--;
    free (conn);
}

subtable_result_t
subtable_apply (subtable_t *self, uint64_t connection, const void *message, size_t size)
{
    const uint8_t *bytes = message;
    if (size == 0 || bytes[0] > 1)
        return SUBTABLE_MALFORMED;
    const uint8_t *prefix = bytes + 1;
    size_t prefix_size = size - 1;
    conn_t *conn = s_conn (self, connection);
    node_t *node = prefix_size <= self->max_prefix ? s_node (self, prefix, prefix_size) : NULL;
    hold_t *hold = conn && node ? s_find_hold (conn, node) : NULL;
    if (bytes[0] == 0) {
        if (!hold)
            return SUBTABLE_UNCHANGED;
        s_unhold (self, hold);
        if (conn->held == 0)
            s_forget (self, conn);
        return SUBTABLE_CHANGED;
    }
    if (prefix_size > self->max_prefix)
        return SUBTABLE_REFUSED;
    if (hold)
        return SUBTABLE_UNCHANGED;
    if (conn && self->max_per_connection && conn->held >= self->max_per_connection)
        return SUBTABLE_REFUSED;
    bool new_conn = conn == NULL;
    if (new_conn) {
        conn = calloc (1, sizeof (conn_t));
        PPvoid_t slot = conn ? JudyLIns (&self->connections, (Word_t) connection, PJE0) : PPJERR;
        if (slot == PPJERR) {
            free (conn);
            return SUBTABLE_NOMEM;
        }
        *slot = conn;
        conn->id = connection;
        self->connection_count++;
    }
    if (s_hold (self, conn, prefix, prefix_size)) {
        if (new_conn)
            s_forget (self, conn);
        return SUBTABLE_NOMEM;
    }
    return SUBTABLE_CHANGED;
}

bool
subtable_drop (subtable_t *self, uint64_t connection)
{
    conn_t *conn = s_conn (self, connection);
    if (!conn)
        return false;
    while (conn->holds)
        s_unhold (self, conn->holds);
    s_forget (self, conn);
    return true;
}

uint64_t
subtable_count (subtable_t *self, const void *topic, size_t size)
{
    uint64_t count = 0;
    uint64_t stamp = ++self->stamp;
    size_t longest = size < self->max_prefix ? size : self->max_prefix;
    for (size_t length = 0; length <= longest; length++) {
        if (!self->lengths[length])
            continue;
        node_t *node = s_node (self, topic, length);
        for (hold_t *hold = node ? node->holds : NULL; hold; hold = hold->node_next)
            if (hold->conn->stamp != stamp) {
                hold->conn->stamp = stamp;
                count++;
            }
    }
    return count;
}

uint64_t
subtable_total (subtable_t *self)
{
    return self->total;
}

uint64_t
subtable_connections (subtable_t *self)
{
    return self->connection_count;
}

void
subtable_set_watch (subtable_t *self, subtable_watch_fn *watch, void *argument)
{
    self->watch = watch;
    self->watch_argument = argument;
}

uint64_t
subtable_held (subtable_t *self, uint64_t connection)
{
    conn_t *conn = s_conn (self, connection);
    return conn ? conn->held : 0;
}

void
subtable_each (subtable_t *self, subtable_each_fn *fn, void *argument)
{
    Word_t id = 0;
    for (PPvoid_t slot = JudyLFirst (self->connections, &id, PJE0); slot;
         slot = JudyLNext (self->connections, &id, PJE0)) {
        conn_t *conn = *slot;
        for (hold_t *hold = conn->holds; hold; hold = hold->conn_next)
            fn (argument, conn->id, hold->node->bytes, hold->node->size);
    }
}

size_t
subtable_json (subtable_t *self, FILE *out, long budget)
{
    fputc ('{', out);
    size_t listed = 0;
    for (node_t *node = self->nodes; node && ftell (out) < budget; node = node->next) {
        if (listed++)
            fputc (',', out);
        text_json_string (out, node->bytes, node->size);
        fprintf (out, ":%llu", (unsigned long long) node->holders);
    }
    fputc ('}', out);
    return self->node_count - listed;
}

//  --------------------------------------------------------------------------
//  Self test

#define SUB(text)   "\x01" text, sizeof (text)
#define UNSUB(text) "\x00" text, sizeof (text)

//  Prefixes held minus prefixes released, as the watch tells them.
static void
s_test_watch (void *argument, const uint8_t *prefix, size_t size, bool held)
{
    (void) prefix;
    (void) size;
    int64_t *held_now = argument;
    *held_now += held ? 1 : -1;
}

static void
s_test_each (void *argument, uint64_t connection, const uint8_t *prefix, size_t size)
{
    (void) prefix;
    uint64_t *sum = argument;
    *sum += connection * 1000 + size;
}

void
subtable_test (bool verbose)
{
    (void) verbose;
    subtable_t *table = subtable_new (64, 1000);
    assert (table);
    assert (subtable_count (table, "event", 5) == 0);

    //  A repeated subscribe changes nothing: one connection, counted once.
    assert (subtable_apply (table, 1, SUB ("event")) == SUBTABLE_CHANGED);
    assert (subtable_apply (table, 1, SUB ("event")) == SUBTABLE_UNCHANGED);
    assert (subtable_count (table, "event", 5) == 1);
    //  Overlapping prefixes of one connection: still one.
    assert (subtable_apply (table, 1, SUB ("")) == SUBTABLE_CHANGED);
    assert (subtable_apply (table, 1, SUB ("ev")) == SUBTABLE_CHANGED);
    assert (subtable_count (table, "event", 5) == 1);
    assert (subtable_count (table, "x", 1) == 1);  //  ""
    assert (subtable_total (table) == 3);
    assert (subtable_connections (table) == 1);

    //  Others count once each; prefix matching.
    assert (subtable_apply (table, 2, SUB ("event")) == SUBTABLE_CHANGED);
    assert (subtable_apply (table, 3, SUB ("TERMINATE")) == SUBTABLE_CHANGED);
    assert (subtable_count (table, "events", 6) == 2);
    assert (subtable_count (table, "eve", 3) == 1);  //  1 by "" and "ev"
    assert (subtable_count (table, "TERMINATE", 9) == 2);
    assert (subtable_count (table, "", 0) == 1);

    //  An unsubscribe removes only its sender's own prefix.
    assert (subtable_apply (table, 3, UNSUB ("event")) == SUBTABLE_UNCHANGED);
    assert (subtable_apply (table, 4, UNSUB ("event")) == SUBTABLE_UNCHANGED);
    assert (subtable_count (table, "event", 5) == 2);
    assert (subtable_apply (table, 1, UNSUB ("event")) == SUBTABLE_CHANGED);
    assert (subtable_count (table, "event", 5) == 2);  //  1 still holds "" and "ev"
    assert (subtable_apply (table, 1, UNSUB ("")) == SUBTABLE_CHANGED);
    assert (subtable_apply (table, 1, UNSUB ("")) == SUBTABLE_UNCHANGED);
    assert (subtable_count (table, "x", 1) == 0);
    assert (subtable_apply (table, 1, "\x02x", 2) == SUBTABLE_MALFORMED);
    assert (subtable_apply (table, 1, "", 0) == SUBTABLE_MALFORMED);

    //  A connection's prefixes leave with it.
    assert (subtable_drop (table, 1));
    assert (!subtable_drop (table, 1));
    assert (subtable_count (table, "event", 5) == 1);
    assert (subtable_total (table) == 2);
    assert (subtable_connections (table) == 2);

    //  Limits: prefix length and prefixes per connection.
    char big[66];
    memset (big, 'b', sizeof big);
    big[0] = 1;
    assert (subtable_apply (table, 5, big, 65) == SUBTABLE_CHANGED);  //  64 bytes
    assert (subtable_apply (table, 5, big, 66) == SUBTABLE_REFUSED);
    assert (subtable_count (table, big + 1, 65) == 1);

    //  Binary prefixes are kept exactly and escaped in JSON.
    assert (subtable_apply (table, 6,
                            "\x01"
                            "a\0b",
                            4)
            == SUBTABLE_CHANGED);
    assert (subtable_count (table, "a\0bc", 4) == 1);
    assert (subtable_count (table, "a\0c", 3) == 0);
    char *text = NULL;
    size_t length = 0;
    FILE *out = open_memstream (&text, &length);
    assert (subtable_json (table, out, 1 << 20) == 0);
    fclose (out);
    assert (strstr (text, "\"TERMINATE\":1") && strstr (text, "\"a\\u0000b\":1"));
    free (text);
    //  Past the budget, the rest is counted, not listed.
    out = open_memstream (&text, &length);
    size_t unlisted = subtable_json (table, out, 1);
    fclose (out);
    assert (unlisted > 0 && streq (text, "{}"));
    free (text);

    //  Many prefixes over many connections, then all of them gone.
    char topic[16];
    for (uint64_t connection = 100; connection < 200; connection++)
        for (int index = 0; index < 100; index++) {
            int size = snprintf (topic, sizeof topic, "\x01t%d", index);
            assert (subtable_apply (table, connection, topic, (size_t) size) == SUBTABLE_CHANGED);
        }
    assert (subtable_count (table, "t99", 3) == 100);  //  t9 and t99, per connection once
    int size = snprintf (topic, sizeof topic, "\x01t%d", 100);
    subtable_t *small = subtable_new (64, 2);
    assert (subtable_apply (small, 7, SUB ("a")) == SUBTABLE_CHANGED);
    assert (subtable_apply (small, 7, SUB ("b")) == SUBTABLE_CHANGED);
    assert (subtable_apply (small, 7, topic, (size_t) size) == SUBTABLE_REFUSED);
    assert (subtable_apply (small, 8, topic, (size_t) size) == SUBTABLE_CHANGED);
    subtable_destroy (&small);
    for (uint64_t connection = 100; connection < 200; connection++)
        assert (subtable_drop (table, connection));
    assert (subtable_count (table, "t99", 3) == 0);
    assert (subtable_total (table) == 4);

    subtable_destroy (&table);
    subtable_destroy (&table);
    assert (table == NULL);

    //  The watch: a prefix is told once when its first holder comes and
    //  once when its last goes; every hold is listed.
    table = subtable_new (64, 0);
    int64_t held_now = 0;
    subtable_set_watch (table, s_test_watch, &held_now);
    assert (subtable_apply (table, 1, SUB ("ev")) == SUBTABLE_CHANGED);
    assert (subtable_apply (table, 2, SUB ("ev")) == SUBTABLE_CHANGED);
    assert (subtable_apply (table, 2, SUB ("x")) == SUBTABLE_CHANGED);
    assert (held_now == 2);
    uint64_t sum = 0;
    subtable_each (table, s_test_each, &sum);
    assert (sum == 1002 + 2002 + 2001);
    assert (subtable_held (table, 2) == 2 && subtable_held (table, 3) == 0);
    assert (subtable_apply (table, 1, UNSUB ("ev")) == SUBTABLE_CHANGED);
    assert (held_now == 2);
    assert (subtable_drop (table, 2));
    assert (held_now == 0);
    subtable_destroy (&table);
}
