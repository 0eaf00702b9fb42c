/*  fedtable.c - subscribers of several hubs; see fedtable.h.

    The subscription table counts connections by a number of its own (a
    key); two Judy arrays name each key: by origin then serial (to find
    it, and to drop a whole origin), and by key (to list the table). A key
    is forgotten as soon as its connection holds nothing. */

#include "fedtable.h"
#include "herald.h"

#include <Judy.h>
#include <assert.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    uint64_t origin, serial;
} name_t;

struct _fedtable_t {
    subtable_t *table;  //  by key
    Pvoid_t origins;    //  JudyL: origin -> JudyL: serial -> key
    Pvoid_t names;      //  JudyL: key -> name_t
    uint64_t next_key;
};

fedtable_t *
fedtable_new (size_t max_prefix)
{
    fedtable_t *self = calloc (1, sizeof (fedtable_t));
    if (!self)
        return NULL;
    //  The hub that named a connection enforced its limit already.
    self->table = subtable_new (max_prefix, 0);
    if (!self->table)
        fedtable_destroy (&self);
    return self;
}

void
fedtable_destroy (fedtable_t **self_p)
{
    fedtable_t *self = *self_p;
    if (!self)
        return;
    fedtable_clear (self);
    subtable_destroy (&self->table);
    free (self);
    *self_p = NULL;
}

//  The key of (origin, serial), made if make is true; 0 if none (or out
//  of memory).
static uint64_t
s_key (fedtable_t *self, uint64_t origin, uint64_t serial, bool make)
{
    PPvoid_t serials = make ? JudyLIns (&self->origins, (Word_t) origin, PJE0)
                            : JudyLGet (self->origins, (Word_t) origin, PJE0);
    if (!serials || serials == PPJERR)
        return 0;
    PPvoid_t slot = make ? JudyLIns (serials, (Word_t) serial, PJE0)
                         : JudyLGet (*serials, (Word_t) serial, PJE0);
    if (!slot || slot == PPJERR)
        return 0;
    if (*slot)
        return (uint64_t) (uintptr_t) *slot;
    name_t *name = malloc (sizeof (name_t));
    PPvoid_t named = name ? JudyLIns (&self->names, (Word_t) (self->next_key + 1), PJE0) : PPJERR;
    if (named == PPJERR) {
        free (name);
        JudyLDel (serials, (Word_t) serial, PJE0);
        return 0;
    }
    *name = (name_t){origin, serial};
    *named = name;
    *slot = (void *) (uintptr_t) ++self->next_key;
    return self->next_key;
}

//  Forget a key whose connection holds nothing now.
static void
s_forget (fedtable_t *self, uint64_t key)
{
    PPvoid_t named = JudyLGet (self->names, (Word_t) key, PJE0);
    if (!named)
        return;
    name_t *name = *named;
    PPvoid_t serials = JudyLGet (self->origins, (Word_t) name->origin, PJE0);
    if (serials) {
        JudyLDel (serials, (Word_t) name->serial, PJE0);
        if (!*serials)
            JudyLDel (&self->origins, (Word_t) name->origin, PJE0);
    }
    free (name);
    JudyLDel (&self->names, (Word_t) key, PJE0);
}

subtable_result_t
fedtable_apply (fedtable_t *self, uint64_t origin, uint64_t serial, const void *message,
                size_t size)
{
    const uint8_t *bytes = message;
    bool subscribe = size > 0 && bytes[0] == 1;
    uint64_t key = s_key (self, origin, serial, subscribe);
    if (!key)
        return subscribe ? SUBTABLE_NOMEM
                         : subtable_apply (self->table, 0, message, size);  //  0 holds nothing
    subtable_result_t result = subtable_apply (self->table, key, message, size);
    if (subtable_held (self->table, key) == 0)
        s_forget (self, key);
    return result;
}

bool
fedtable_gone (fedtable_t *self, uint64_t origin, uint64_t serial)
{
    uint64_t key = s_key (self, origin, serial, false);
    if (!key)
        return false;
    bool held = subtable_drop (self->table, key);
    s_forget (self, key);
    return held;
}

bool
fedtable_drop_origin (fedtable_t *self, uint64_t origin)
{
    PPvoid_t serials = JudyLGet (self->origins, (Word_t) origin, PJE0);
    if (!serials)
        return false;
    bool held = false;
    Word_t serial = 0;
    for (PPvoid_t slot = JudyLFirst (*serials, &serial, PJE0); slot;
         slot = JudyLNext (*serials, &serial, PJE0)) {
        uint64_t key = (uint64_t) (uintptr_t) *slot;
        held |= subtable_drop (self->table, key);
        PPvoid_t named = JudyLGet (self->names, (Word_t) key, PJE0);
        if (named) {
            free (*named);
            JudyLDel (&self->names, (Word_t) key, PJE0);
        }
    }
    JudyLFreeArray (serials, PJE0);
    JudyLDel (&self->origins, (Word_t) origin, PJE0);
    return held;
}

void
fedtable_clear (fedtable_t *self)
{
    Word_t origin = 0;
    while (JudyLFirst (self->origins, &origin, PJE0)) {
        fedtable_drop_origin (self, (uint64_t) origin);
        origin = 0;
    }
}

uint64_t
fedtable_connections_of (fedtable_t *self, uint64_t origin)
{
    PPvoid_t serials = JudyLGet (self->origins, (Word_t) origin, PJE0);
    Word_t count = 0;
    if (serials)
        JLC (count, *serials, 0, -1);
    return (uint64_t) count;
}

subtable_t *
fedtable_subtable (fedtable_t *self)
{
    return self->table;
}

typedef struct {
    fedtable_t *self;
    fedtable_each_fn *fn;
    void *argument;
} each_t;

static void
s_each (void *argument, uint64_t key, const uint8_t *prefix, size_t size)
{
    each_t *each = argument;
    PPvoid_t named = JudyLGet (each->self->names, (Word_t) key, PJE0);
    if (named) {
        name_t *name = *named;
        each->fn (each->argument, name->origin, name->serial, prefix, size);
    }
}

void
fedtable_each (fedtable_t *self, fedtable_each_fn *fn, void *argument)
{
    each_t each = {self, fn, argument};
    subtable_each (self->table, s_each, &each);
}

//  --------------------------------------------------------------------------
//  Self test

static void
s_tally (void *argument, uint64_t origin, uint64_t serial, const uint8_t *prefix, size_t size)
{
    (void) prefix;
    (void) size;
    uint64_t *sum = argument;
    *sum += origin * 100 + serial;
}

void
fedtable_test (bool verbose)
{
    (void) verbose;
    fedtable_t *table = fedtable_new (64);
    assert (table);
    subtable_t *counts = fedtable_subtable (table);
    //  The same serial under two origins is two connections.
    assert (fedtable_apply (table, 1, 7,
                            "\x01"
                            "ev",
                            3)
            == SUBTABLE_CHANGED);
    assert (fedtable_apply (table, 2, 7,
                            "\x01"
                            "ev",
                            3)
            == SUBTABLE_CHANGED);
    assert (fedtable_apply (table, 2, 7,
                            "\x01"
                            "e",
                            2)
            == SUBTABLE_CHANGED);
    assert (fedtable_apply (table, 2, 8,
                            "\x01"
                            "x",
                            2)
            == SUBTABLE_CHANGED);
    assert (subtable_count (counts, "event", 5) == 2);
    assert (fedtable_connections_of (table, 2) == 2);
    uint64_t sum = 0;
    fedtable_each (table, s_tally, &sum);
    assert (sum == 107 + 207 + 207 + 208);
    //  An unsubscribe of what is not held changes nothing, and names no
    //  connection.
    assert (fedtable_apply (table, 3, 1,
                            "\x00"
                            "ev",
                            3)
            == SUBTABLE_UNCHANGED);
    assert (fedtable_connections_of (table, 3) == 0);
    //  A connection that holds nothing is forgotten.
    assert (fedtable_apply (table, 1, 7,
                            "\x00"
                            "ev",
                            3)
            == SUBTABLE_CHANGED);
    assert (fedtable_connections_of (table, 1) == 0);
    assert (subtable_count (counts, "event", 5) == 1);
    //  Gone, and a whole origin dropped.
    assert (fedtable_gone (table, 2, 8));
    assert (!fedtable_gone (table, 2, 8));
    assert (fedtable_apply (table, 4, 1,
                            "\x01"
                            "ev",
                            3)
            == SUBTABLE_CHANGED);
    assert (fedtable_drop_origin (table, 2));
    assert (!fedtable_drop_origin (table, 2));
    assert (subtable_count (counts, "event", 5) == 1);
    fedtable_clear (table);
    assert (subtable_count (counts, "event", 5) == 0 && subtable_total (counts) == 0);
    fedtable_destroy (&table);
    fedtable_destroy (&table);
    assert (table == NULL);
}
