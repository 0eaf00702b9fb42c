/*  subtable.c - the hub's live subscriptions; see subtable.h.

    A small array of distinct prefixes with a count each. Subscriptions
    change rarely and number few, and the forwarding path never reads this
    table, so a linear scan is the simplest thing that is fast enough. */

#include "subtable.h"
#include "herald.h"
#include "text.h"
#include "wire.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    uint8_t *prefix;
    size_t size;
    uint64_t count;
} entry_t;

struct _subtable_t {
    entry_t *entries;
    size_t used;
    size_t allocated;
    uint64_t total;
};

subtable_t *
subtable_new (void)
{
    return calloc (1, sizeof (subtable_t));
}

void
subtable_destroy (subtable_t **self_p)
{
    if (!*self_p)
        return;
    subtable_t *self = *self_p;
    for (size_t index = 0; index < self->used; index++)
        free (self->entries[index].prefix);
    free (self->entries);
    free (self);
    *self_p = NULL;
}

static entry_t *
s_find (subtable_t *self, const uint8_t *prefix, size_t size)
{
    for (size_t index = 0; index < self->used; index++) {
        entry_t *entry = &self->entries[index];
        if (entry->size == size && (size == 0 || memcmp (entry->prefix, prefix, size) == 0))
            return entry;
    }
    return NULL;
}

static entry_t *
s_insert (subtable_t *self, const uint8_t *prefix, size_t size)
{
    if (self->used == self->allocated) {
        size_t allocated = self->allocated ? self->allocated * 2 : 16;
        entry_t *entries = realloc (self->entries, allocated * sizeof (entry_t));
        if (!entries)
            return NULL;
        self->entries = entries;
        self->allocated = allocated;
    }
    uint8_t *copy = malloc (size ? size : 1);
    if (!copy)
        return NULL;
    if (size)
        memcpy (copy, prefix, size);
    entry_t *entry = &self->entries[self->used++];
    *entry = (entry_t){copy, size, 0};
    return entry;
}

int
subtable_apply (subtable_t *self, const void *message, size_t size)
{
    const uint8_t *bytes = message;
    if (size == 0 || bytes[0] > 1)
        return -1;
    entry_t *entry = s_find (self, bytes + 1, size - 1);
    if (bytes[0] == 1) {
        if (!entry)
            entry = s_insert (self, bytes + 1, size - 1);
        if (!entry)
            return -1;
        entry->count++;
        self->total++;
        return 0;
    }
    if (!entry)
        return -1;
    self->total--;
    if (--entry->count == 0) {
        free (entry->prefix);
        *entry = self->entries[--self->used];
    }
    return 0;
}

uint64_t
subtable_count (subtable_t *self, const void *topic, size_t size)
{
    uint64_t count = 0;
    for (size_t index = 0; index < self->used; index++) {
        entry_t *entry = &self->entries[index];
        if (entry->size <= size && memcmp (entry->prefix, topic, entry->size) == 0)
            count += entry->count;
    }
    return count;
}

uint64_t
subtable_total (subtable_t *self)
{
    return self->total;
}

size_t
subtable_json (subtable_t *self, FILE *out, long budget)
{
    fputc ('{', out);
    size_t index = 0;
    for (; index < self->used && ftell (out) < budget; index++) {
        entry_t *entry = &self->entries[index];
        if (index)
            fputc (',', out);
        text_json_string (out, entry->prefix, entry->size);
        fprintf (out, ":%llu", (unsigned long long) entry->count);
    }
    fputc ('}', out);
    return self->used - index;
}

//  --------------------------------------------------------------------------
//  Self test

#define SUB(text)   "\x01" text, sizeof (text)
#define UNSUB(text) "\x00" text, sizeof (text)

void
subtable_test (bool verbose)
{
    (void) verbose;
    subtable_t *table = subtable_new ();
    assert (table);
    assert (subtable_count (table, "event", 5) == 0);

    //  Duplicates count: VERBOSER passes one subscribe per subscriber.
    assert (subtable_apply (table, SUB ("event")) == 0);
    assert (subtable_apply (table, SUB ("event")) == 0);
    assert (subtable_apply (table, SUB ("TERMINATE")) == 0);
    assert (subtable_apply (table, SUB ("")) == 0);
    assert (subtable_apply (table, SUB ("ev")) == 0);
    assert (subtable_count (table, "event", 5) == 4);   //  event x2, "", ev
    assert (subtable_count (table, "events", 6) == 4);  //  prefix matching
    assert (subtable_count (table, "eve", 3) == 2);     //  "", ev
    assert (subtable_count (table, "TERMINATE", 9) == 2);
    assert (subtable_count (table, "", 0) == 1);
    assert (subtable_total (table) == 5);

    //  Unsubscribes take one subscriber away; unknown ones change nothing.
    assert (subtable_apply (table, UNSUB ("event")) == 0);
    assert (subtable_count (table, "event", 5) == 3);
    assert (subtable_apply (table, UNSUB ("")) == 0);
    assert (subtable_apply (table, UNSUB ("")) == -1);
    assert (subtable_apply (table, UNSUB ("nothing")) == -1);
    assert (subtable_apply (table, "\x02x", 2) == -1);
    assert (subtable_apply (table, "", 0) == -1);
    assert (subtable_count (table, "event", 5) == 2);
    assert (subtable_total (table) == 3);

    //  Binary prefixes are kept exactly and escaped in JSON.
    assert (subtable_apply (table,
                            "\x01"
                            "a\0b",
                            4)
            == 0);
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

    //  Many distinct prefixes grow the table.
    char topic[16];
    for (int index = 0; index < 100; index++) {
        int size = snprintf (topic, sizeof topic, "\x01t%d", index);
        assert (subtable_apply (table, topic, (size_t) size) == 0);
    }
    assert (subtable_count (table, "t99", 3) == 2);  //  t9 and t99
    assert (subtable_total (table) == 104);

    subtable_destroy (&table);
    subtable_destroy (&table);
    assert (table == NULL);
}
