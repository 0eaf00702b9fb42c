/*  topics.h - the hub's traffic per topic: events in from publishers and
    out to the backend.

    Built for the forwarding path: a topic's counters are found with one
    comparison when it is the same topic as last time (the common case) and
    one hash lookup otherwise, and nothing is allocated once a topic is
    known. At most `limit` topics of at most `longest` bytes each are
    tracked one by one, so that a publisher inventing topics cannot grow
    the hub without bound; the rest are counted together. */

#ifndef HERALD_TOPICS_H_INCLUDED
#define HERALD_TOPICS_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

//  A topic's traffic: herald's events, and plain publications (any other
//  layout, docs/protocol.md) apart.
typedef struct {
    uint64_t in;   //  events read from publishers
    uint64_t out;  //  events handed to the backend
    uint64_t plain_in, plain_out;
} topic_counters_t;

typedef struct _topics_t topics_t;

//  Create an empty table that tracks up to `limit` topics of up to
//  `longest` bytes; NULL if out of memory.
topics_t *topics_new (size_t limit, size_t longest);

//  Destroy the table; safe on NULL, nulls the caller's pointer.
void topics_destroy (topics_t **self_p);

//  The counters for this topic: its own, or the shared ones for topics
//  past the limits (or when memory runs out). Never NULL.
topic_counters_t *topics_lookup (topics_t *self, const void *topic, size_t size);

//  Write the table as a JSON object, topic -> {"in":N,"out":N,
//  "plain_in":N,"plain_out":N}, listing topics only while out holds fewer
//  than `budget` bytes (ftell), then ,"other_topics":{...} for the
//  untracked ones together.
//  Returns how many tracked topics were left out.
size_t topics_json (topics_t *self, FILE *out, long budget);

//  Self test.
void topics_test (bool verbose);

#endif
