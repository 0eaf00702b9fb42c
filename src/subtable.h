/*  subtable.h - the hub's live subscriptions, per connection: how many
    subscribers each topic has.

    A subscriber is a connection to the hub's backend. Each holds a set of
    prefixes, exactly as libzmq's XPUB keeps it for that connection: a
    repeated subscribe changes nothing, an unsubscribe removes only the
    sender's own prefix, and a connection's prefixes leave with it. A
    topic's count is the number of connections holding at least one prefix
    of it: the sockets an event on that topic reaches, each once
    (docs/guarantees.md, "What a count is").

    Connections are named by the hub (a number it never reuses); this table
    neither knows nor cares how. */

#ifndef HERALD_SUBTABLE_H_INCLUDED
#define HERALD_SUBTABLE_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef struct _subtable_t subtable_t;

//  Create an empty table for prefixes of up to max_prefix bytes, holding
//  at most max_per_connection prefixes for one connection (0: no limit).
//  The caller owns it. NULL if out of memory.
subtable_t *subtable_new (size_t max_prefix, uint64_t max_per_connection);

//  Destroy the table; safe on NULL, nulls the caller's pointer.
void subtable_destroy (subtable_t **self_p);

//  What one subscription message did.
typedef enum {
    SUBTABLE_CHANGED,    //  the connection's set changed
    SUBTABLE_UNCHANGED,  //  it held that prefix already, or did not hold it
    SUBTABLE_REFUSED,    //  over the connection's limit, or longer than max_prefix
    SUBTABLE_MALFORMED,  //  neither subscribe (1) nor unsubscribe (0)
    SUBTABLE_NOMEM       //  out of memory: nothing changed
} subtable_result_t;

//  Apply one XPUB message of connection (not 0): byte 1 then a prefix
//  subscribes, byte 0 then a prefix unsubscribes.
subtable_result_t subtable_apply (subtable_t *self, uint64_t connection, const void *message,
                                  size_t size);

//  The connection has gone: drop its prefixes. Returns true if it held any.
bool subtable_drop (subtable_t *self, uint64_t connection);

//  Connections holding a prefix of the topic.
uint64_t subtable_count (subtable_t *self, const void *topic, size_t size);

//  Subscriptions held: (connection, prefix) pairs.
uint64_t subtable_total (subtable_t *self);

//  Connections holding at least one prefix.
uint64_t subtable_connections (subtable_t *self);

//  Write the table as a JSON object, prefix -> connections holding it,
//  listing prefixes only while out holds fewer than `budget` bytes
//  (ftell). Returns how many prefixes were left out.
size_t subtable_json (subtable_t *self, FILE *out, long budget);

//  Be told when a prefix gains its first holder (held true) or loses its
//  last (held false): what a hub passes on as its interest (federation.h).
typedef void (subtable_watch_fn) (void *argument, const uint8_t *prefix, size_t size, bool held);
void subtable_set_watch (subtable_t *self, subtable_watch_fn *watch, void *argument);

//  Prefixes the connection holds (0: none, or unknown).
uint64_t subtable_held (subtable_t *self, uint64_t connection);

//  Call fn for every (connection, prefix) held, in no useful order. The
//  table must not change meanwhile.
typedef void (subtable_each_fn) (void *argument, uint64_t connection, const uint8_t *prefix,
                                 size_t size);
void subtable_each (subtable_t *self, subtable_each_fn *fn, void *argument);

//  Self test.
void subtable_test (bool verbose);

#endif
