/*  topics.c - the hub's traffic per topic; see topics.h.

    An open-addressing hash table (FNV-1a, linear probing) that only grows
    until the limit and never deletes: topics are few and long-lived, and
    the forwarding path must not allocate once a topic is known. */

#include "topics.h"
#include "herald.h"
#include "text.h"
#include "wire.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    uint8_t *name;  //  NULL: a free slot
    size_t size;
    uint64_t hash;
    topic_counters_t counters;
} slot_t;

struct _topics_t {
    slot_t *slots;
    size_t allocated;  //  a power of two
    size_t used;
    size_t limit;
    size_t longest;          //  longer topics are counted as others
    slot_t *last;            //  the topic looked up last
    topic_counters_t other;  //  topics past the limit
};

topics_t *
topics_new (size_t limit, size_t longest)
{
    topics_t *self = calloc (1, sizeof (topics_t));
    if (!self)
        return NULL;
    self->limit = limit;
    self->longest = longest;
    self->allocated = 16;
    self->slots = calloc (self->allocated, sizeof (slot_t));
    if (!self->slots) {
        free (self);
        return NULL;
    }
    return self;
}

void
topics_destroy (topics_t **self_p)
{
    if (!*self_p)
        return;
    topics_t *self = *self_p;
    for (size_t index = 0; index < self->allocated; index++)
        free (self->slots[index].name);
    free (self->slots);
    free (self);
    *self_p = NULL;
}

//  The slot holding this topic, or the free slot where it belongs.
static slot_t *
s_probe (slot_t *slots, size_t allocated, const uint8_t *name, size_t size, uint64_t hash)
{
    size_t index = hash & (allocated - 1);
    while (slots[index].name
           && !(slots[index].hash == hash && slots[index].size == size
                && memcmp (slots[index].name, name, size) == 0))
        index = (index + 1) & (allocated - 1);
    return &slots[index];
}

//  Double the table, keeping it at most half full.
static int
s_grow (topics_t *self)
{
    size_t allocated = self->allocated * 2;
    slot_t *slots = calloc (allocated, sizeof (slot_t));
    if (!slots)
        return -1;
    for (size_t index = 0; index < self->allocated; index++) {
        slot_t *slot = &self->slots[index];
        if (slot->name)
            *s_probe (slots, allocated, slot->name, slot->size, slot->hash) = *slot;
    }
    free (self->slots);
    self->slots = slots;
    self->allocated = allocated;
    self->last = NULL;
    return 0;
}

topic_counters_t *
topics_lookup (topics_t *self, const void *topic, size_t size)
{
    slot_t *last = self->last;
    if (last && last->size == size && memcmp (last->name, topic, size) == 0)
        return &last->counters;
    if (size > self->longest)
        return &self->other;
    uint64_t hash = text_hash (topic, size);
    slot_t *slot = s_probe (self->slots, self->allocated, topic, size, hash);
    if (!slot->name) {
        if (self->used == self->limit
            || ((self->used + 1) * 2 > self->allocated && s_grow (self) == -1)
            || !(slot = s_probe (self->slots, self->allocated, topic, size, hash))
            || !(slot->name = malloc (size ? size : 1)))
            return &self->other;
        memcpy (slot->name, topic, size);
        slot->size = size;
        slot->hash = hash;
        self->used++;
    }
    self->last = slot;
    return &slot->counters;
}

static void
s_counters_json (FILE *out, const topic_counters_t *counters)
{
    fprintf (out, "{\"in\":%llu,\"out\":%llu,\"plain_in\":%llu,\"plain_out\":%llu}",
             (unsigned long long) counters->in, (unsigned long long) counters->out,
             (unsigned long long) counters->plain_in, (unsigned long long) counters->plain_out);
}

size_t
topics_json (topics_t *self, FILE *out, long budget)
{
    fputc ('{', out);
    bool first = true;
    size_t listed = 0;
    for (size_t index = 0; index < self->allocated && ftell (out) < budget; index++) {
        slot_t *slot = &self->slots[index];
        if (!slot->name)
            continue;
        listed++;
        if (!first)
            fputc (',', out);
        first = false;
        text_json_string (out, slot->name, slot->size);
        fputc (':', out);
        s_counters_json (out, &slot->counters);
    }
    fputs ("},\"other_topics\":", out);
    s_counters_json (out, &self->other);
    return self->used - listed;
}

//  --------------------------------------------------------------------------
//  Self test

void
topics_test (bool verbose)
{
    topics_t *topics = topics_new (100, 8);
    assert (topics);
    topic_counters_t *event = topics_lookup (topics, "event", 5);
    event->in++;
    assert (topics_lookup (topics, "event", 5) == event);  //  cached
    assert (topics_lookup (topics, "even", 4) != event);   //  a prefix is another topic
    assert (topics_lookup (topics, "", 0) != event);       //  so is the empty one
    //  Growing keeps every topic and its counters
    char name[16];
    for (int index = 0; index < 100 - 3; index++) {
        snprintf (name, sizeof name, "t%d", index);
        topics_lookup (topics, name, strlen (name))->in += (uint64_t) index;
    }
    assert (topics_lookup (topics, "event", 5)->in == 1);
    assert (topics_lookup (topics, "t42", 3)->in == 42);
    //  So do topics longer than the longest tracked, from the first
    assert (topics_lookup (topics, "ninebytes", 9) == topics_lookup (topics, "10 bytes..", 10));
    //  Past the limit, new topics share one set of counters
    topic_counters_t *other = topics_lookup (topics, "new", 3);
    assert (other == topics_lookup (topics, "newer", 5));
    assert (other != topics_lookup (topics, "t42", 3));
    other->in += 2;
    char *json = NULL;
    size_t size = 0;
    FILE *out = open_memstream (&json, &size);
    assert (topics_json (topics, out, 1 << 20) == 0);
    fclose (out);
    assert (strstr (json, "\"event\":{\"in\":1,\"out\":0,\"plain_in\":0,\"plain_out\":0}"));
    assert (strstr (json, "\"other_topics\":{\"in\":2,\"out\":0,\"plain_in\":0,"));
    free (json);
    out = open_memstream (&json, &size);
    assert (topics_json (topics, out, 1) == 100);  //  none listed past the budget
    fclose (out);
    assert (strncmp (json, "{},\"other_topics\"", 16) == 0);
    if (verbose)
        printf ("%s\n", json);
    free (json);
    topics_destroy (&topics);
    assert (topics == NULL);
    topics_destroy (&topics);
}
