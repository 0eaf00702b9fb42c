/*  subtable.c - the hub's live subscriptions; see subtable.h.

    Three hash tables (czmq's zhashx) and one kind of link:
    - prefixes: each distinct prefix, with the list of its holders;
    - connections: each connection holding at least one prefix, with the
      list of its holds;
    - holds: one per (connection, prefix), in both lists, found by the pair.
    A count looks up only the prefixes of the topic whose lengths occur in
    the table, and counts each holder's connection once (a stamp per
    count). Subscribe, unsubscribe and count cost a few hash lookups; a
    connection leaving costs one step per prefix it held. */

#include "subtable.h"
#include "herald.h"
#include "text.h"

#include <assert.h>
#include <czmq.h>

typedef struct _node_t node_t;
typedef struct _conn_t conn_t;
typedef struct _hold_t hold_t;

typedef struct {
    size_t size;
    const uint8_t *bytes;
} prefix_key_t;

typedef struct {
    const conn_t *conn;
    const node_t *node;
} hold_key_t;

struct _node_t {
    prefix_key_t key;  //  points at bytes, below
    hold_t *holds;     //  its holders
    uint64_t holders;
    uint8_t bytes[];
};

struct _conn_t {
    uint64_t id;  //  the key
    hold_t *holds;
    uint64_t held;
    uint64_t stamp;  //  the last count that reached it
};

struct _hold_t {
    hold_key_t key;
    hold_t *node_prev, *node_next;
    hold_t *conn_prev, *conn_next;
};

struct _subtable_t {
    zhashx_t *prefixes;     //  prefix_key_t -> node_t
    zhashx_t *connections;  //  uint64_t -> conn_t
    zhashx_t *holds;        //  hold_key_t -> hold_t
    uint64_t *lengths;      //  prefixes of each length, 0 .. max_prefix
    size_t max_prefix;
    uint64_t max_per_connection;
    uint64_t stamp;
    uint64_t total;
};

//  FNV-1a, 64 bits.
static size_t
s_hash_bytes (const uint8_t *bytes, size_t size, uint64_t hash)
{
    for (size_t index = 0; index < size; index++)
        hash = (hash ^ bytes[index]) * 1099511628211ULL;
    return (size_t) hash;
}

#define FNV_OFFSET 14695981039346656037ULL

static size_t
s_prefix_hash (const void *key)
{
    const prefix_key_t *prefix = key;
    return s_hash_bytes (prefix->bytes, prefix->size, FNV_OFFSET);
}

static int
s_prefix_compare (const void *one, const void *two)
{
    const prefix_key_t *a = one, *b = two;
    if (a->size != b->size)
        return a->size < b->size ? -1 : 1;
    return a->size ? memcmp (a->bytes, b->bytes, a->size) : 0;
}

static size_t
s_id_hash (const void *key)
{
    return s_hash_bytes (key, sizeof (uint64_t), FNV_OFFSET);
}

static int
s_id_compare (const void *one, const void *two)
{
    uint64_t a = *(const uint64_t *) one, b = *(const uint64_t *) two;
    return a == b ? 0 : a < b ? -1 : 1;
}

static size_t
s_hold_hash (const void *key)
{
    return s_hash_bytes (key, sizeof (hold_key_t), FNV_OFFSET);
}

static int
s_hold_compare (const void *one, const void *two)
{
    return memcmp (one, two, sizeof (hold_key_t));
}

static zhashx_t *
s_table (zhashx_hash_fn *hasher, zhashx_comparator_fn *comparator)
{
    zhashx_t *table = zhashx_new ();
    if (table) {
        //  Keys live inside the items: nothing to copy or free.
        zhashx_set_key_duplicator (table, NULL);
        zhashx_set_key_destructor (table, NULL);
        zhashx_set_key_hasher (table, hasher);
        zhashx_set_key_comparator (table, comparator);
    }
    return table;
}

subtable_t *
subtable_new (size_t max_prefix, uint64_t max_per_connection)
{
    subtable_t *self = calloc (1, sizeof (subtable_t));
    if (!self)
        return NULL;
    self->max_prefix = max_prefix;
    self->max_per_connection = max_per_connection;
    self->prefixes = s_table (s_prefix_hash, s_prefix_compare);
    self->connections = s_table (s_id_hash, s_id_compare);
    self->holds = s_table (s_hold_hash, s_hold_compare);
    self->lengths = calloc (max_prefix + 1, sizeof (uint64_t));
    if (!self->prefixes || !self->connections || !self->holds || !self->lengths)
        subtable_destroy (&self);
    return self;
}

void
subtable_destroy (subtable_t **self_p)
{
    subtable_t *self = *self_p;
    if (!self)
        return;
    if (self->holds)
        for (hold_t *hold = zhashx_first (self->holds); hold; hold = zhashx_next (self->holds))
            free (hold);
    if (self->prefixes)
        for (node_t *node = zhashx_first (self->prefixes); node;
             node = zhashx_next (self->prefixes))
            free (node);
    if (self->connections)
        for (conn_t *conn = zhashx_first (self->connections); conn;
             conn = zhashx_next (self->connections))
            free (conn);
    zhashx_destroy (&self->holds);
    zhashx_destroy (&self->prefixes);
    zhashx_destroy (&self->connections);
    free (self->lengths);
    free (self);
    *self_p = NULL;
}

//  Add a hold of conn on prefix; returns 0, or -1 if out of memory
//  (nothing changed).
static int
s_hold (subtable_t *self, conn_t *conn, const uint8_t *bytes, size_t size)
{
    prefix_key_t key = {size, bytes};
    node_t *node = zhashx_lookup (self->prefixes, &key);
    bool new_node = node == NULL;
    if (new_node) {
        node = calloc (1, sizeof (node_t) + size);
        if (!node)
            return -1;
        if (size)
            memcpy (node->bytes, bytes, size);
        node->key = (prefix_key_t){size, node->bytes};
        if (zhashx_insert (self->prefixes, &node->key, node)) {
            free (node);
            return -1;
        }
        self->lengths[size]++;
    }
    hold_t *hold = calloc (1, sizeof (hold_t));
    if (hold)
        hold->key = (hold_key_t){conn, node};
    if (!hold || zhashx_insert (self->holds, &hold->key, hold)) {
        free (hold);
        if (new_node) {
            zhashx_delete (self->prefixes, &node->key);
            self->lengths[size]--;
            free (node);
        }
        return -1;
    }
    hold->node_next = node->holds;
    if (node->holds)
        node->holds->node_prev = hold;
    node->holds = hold;
    node->holders++;
    hold->conn_next = conn->holds;
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
    node_t *node = (node_t *) hold->key.node;
    conn_t *conn = (conn_t *) hold->key.conn;
    zhashx_delete (self->holds, &hold->key);
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
    if (--node->holders == 0) {
        zhashx_delete (self->prefixes, &node->key);
        self->lengths[node->key.size]--;
        free (node);
    }
}

static void
s_forget (subtable_t *self, conn_t *conn)
{
    zhashx_delete (self->connections, &conn->id);
    free (conn);
}

static hold_t *
s_find_hold (subtable_t *self, conn_t *conn, const uint8_t *bytes, size_t size)
{
    prefix_key_t prefix = {size, bytes};
    node_t *node = zhashx_lookup (self->prefixes, &prefix);
    if (!node)
        return NULL;
    hold_key_t key = {conn, node};
    return zhashx_lookup (self->holds, &key);
}

subtable_result_t
subtable_apply (subtable_t *self, uint64_t connection, const void *message, size_t size)
{
    const uint8_t *bytes = message;
    if (size == 0 || bytes[0] > 1)
        return SUBTABLE_MALFORMED;
    const uint8_t *prefix = bytes + 1;
    size_t prefix_size = size - 1;
    conn_t *conn = zhashx_lookup (self->connections, &connection);
    if (bytes[0] == 0) {
        hold_t *hold = conn ? s_find_hold (self, conn, prefix, prefix_size) : NULL;
        if (!hold)
            return SUBTABLE_UNCHANGED;
        s_unhold (self, hold);
        if (conn->held == 0)
            s_forget (self, conn);
        return SUBTABLE_CHANGED;
    }
    if (prefix_size > self->max_prefix)
        return SUBTABLE_REFUSED;
    if (conn && s_find_hold (self, conn, prefix, prefix_size))
        return SUBTABLE_UNCHANGED;
    if (conn && self->max_per_connection && conn->held >= self->max_per_connection)
        return SUBTABLE_REFUSED;
    bool new_conn = conn == NULL;
    if (new_conn) {
        conn = calloc (1, sizeof (conn_t));
        if (!conn)
            return SUBTABLE_NOMEM;
        conn->id = connection;
        if (zhashx_insert (self->connections, &conn->id, conn)) {
            free (conn);
            return SUBTABLE_NOMEM;
        }
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
    conn_t *conn = zhashx_lookup (self->connections, &connection);
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
        prefix_key_t key = {length, topic};
        node_t *node = zhashx_lookup (self->prefixes, &key);
        for (hold_t *hold = node ? node->holds : NULL; hold; hold = hold->node_next) {
            conn_t *conn = (conn_t *) hold->key.conn;
            if (conn->stamp != stamp) {
                conn->stamp = stamp;
                count++;
            }
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
    return zhashx_size (self->connections);
}

size_t
subtable_json (subtable_t *self, FILE *out, long budget)
{
    fputc ('{', out);
    size_t listed = 0;
    for (node_t *node = zhashx_first (self->prefixes); node && ftell (out) < budget;
         node = zhashx_next (self->prefixes)) {
        if (listed++)
            fputc (',', out);
        text_json_string (out, node->bytes, node->key.size);
        fprintf (out, ":%llu", (unsigned long long) node->holders);
    }
    fputc ('}', out);
    return zhashx_size (self->prefixes) - listed;
}

//  --------------------------------------------------------------------------
//  Self test

#define SUB(text)   "\x01" text, sizeof (text)
#define UNSUB(text) "\x00" text, sizeof (text)

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
}
