/*  subtable.h - the hub's live subscriptions: how many subscribers each
    topic has.

    Fed with every subscribe and unsubscribe message that the hub's XPUB
    socket passes up (ZMQ_XPUB_VERBOSER: duplicates and the unsubscribes of
    closed connections included), it holds a count per subscribed prefix.
    A topic's subscriber count follows ZeroMQ's matching: the sum over the
    subscriptions that are a prefix of the topic. */

#ifndef HERALD_SUBTABLE_H_INCLUDED
#define HERALD_SUBTABLE_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef struct _subtable_t subtable_t;

//  Create an empty table; the caller owns it. NULL if out of memory.
subtable_t *subtable_new (void);

//  Destroy the table; safe on NULL, nulls the caller's pointer.
void subtable_destroy (subtable_t **self_p);

//  Apply one XPUB message: byte 1 then a prefix subscribes, byte 0 then a
//  prefix unsubscribes. Returns 0, or -1 (table unchanged) if the message is
//  neither, unsubscribes what is not subscribed, or memory runs out.
int subtable_apply (subtable_t *self, const void *message, size_t size);

//  Subscribers the topic reaches.
uint64_t subtable_count (subtable_t *self, const void *topic, size_t size);

//  All subscriptions held.
uint64_t subtable_total (subtable_t *self);

//  Write the table as a JSON object, prefix -> count, listing prefixes
//  only while out holds fewer than `budget` bytes (ftell). Returns how
//  many prefixes were left out.
size_t subtable_json (subtable_t *self, FILE *out, long budget);

//  Self test.
void subtable_test (bool verbose);

#endif
