/*  pubids.c - which publisher connection owns each publisher id; see
    pubids.h.

    A table id -> owner (czmq's zhashx), and per descriptor the ids its
    connection owns and the one it used last. A connection owns at most
    HERALD_MAX_IDS_PER_PUBLISHER ids (a publisher may use one per topic);
    its events under more pass unbound. So the table holds at most that
    many entries per open publisher connection. */

#include "pubids.h"
#include "fdslots.h"
#include "herald.h"

#include <assert.h>
#include <czmq.h>

typedef struct _owner_t owner_t;
struct _owner_t {
    uint64_t id;  //  the key
    uint64_t serial;
    int fd;
    owner_t *next;  //  the same connection's other ids
};

typedef struct {
    owner_t *owned;  //  the ids the connection on this descriptor owns
    size_t count;
    uint64_t last;  //  the id of its last event that passed
    bool valid;
} slot_t;

struct _pubids_t {
    zhashx_t *owners;  //  id -> owner_t
    slot_t *slots;     //  per descriptor
    size_t size;
};

static size_t
s_id_hash (const void *key)
{
    uint64_t id = *(const uint64_t *) key;
    return (size_t) ((id ^ (id >> 29)) * 0x9E3779B97F4A7C15ULL);
}

static int
s_id_compare (const void *one, const void *two)
{
    uint64_t a = *(const uint64_t *) one, b = *(const uint64_t *) two;
    return a == b ? 0 : a < b ? -1 : 1;
}

pubids_t *
pubids_new (void)
{
    pubids_t *self = calloc (1, sizeof (pubids_t));
    if (!self)
        return NULL;
    self->owners = zhashx_new ();
    if (!self->owners) {
        free (self);
        return NULL;
    }
    zhashx_set_key_duplicator (self->owners, NULL);
    zhashx_set_key_destructor (self->owners, NULL);
    zhashx_set_key_hasher (self->owners, s_id_hash);
    zhashx_set_key_comparator (self->owners, s_id_compare);
    return self;
}

void
pubids_destroy (pubids_t **self_p)
{
    pubids_t *self = *self_p;
    if (!self)
        return;
    for (owner_t *owner = zhashx_first (self->owners); owner; owner = zhashx_next (self->owners))
        free (owner);
    zhashx_destroy (&self->owners);
    free (self->slots);
    free (self);
    *self_p = NULL;
}

bool
pubids_known (pubids_t *self, int fd, uint64_t id)
{
    return fd >= 0 && (size_t) fd < self->size && self->slots[fd].valid
           && self->slots[fd].last == id;
}

static slot_t *
s_slot (pubids_t *self, int fd)
{
    void *slots = self->slots;
    slot_t *slot = fdslots_grow (&slots, &self->size, sizeof (slot_t), fd);
    self->slots = slots;
    return slot;
}

//  Free every id the connection on fd owns.
static void
s_release (pubids_t *self, int fd)
{
    if (fd < 0 || (size_t) fd >= self->size)
        return;
    slot_t *slot = &self->slots[fd];
    while (slot->owned) {
        owner_t *owner = slot->owned;
        slot->owned = owner->next;
        zhashx_delete (self->owners, &owner->id);
        free (owner);
    }
    *slot = (slot_t){0};
}

bool
pubids_claim (pubids_t *self, peers_t *peers, uint64_t serial, uint64_t position, int fd,
              uint64_t id)
{
    serial = peers_identify (peers, serial, position, fd);
    slot_t *slot = s_slot (self, fd);
    if (!serial || !slot)
        return true;  //  a late event of a connection that has gone
    owner_t *owner = zhashx_lookup (self->owners, &id);
    if (owner && owner->serial != serial) {
        if (peers_open (peers, owner->serial, owner->fd))
            return false;             //  another open connection's id
        s_release (self, owner->fd);  //  its owner has gone
        owner = NULL;
    }
    if (slot->valid && slot->owned && slot->owned->serial != serial)
        s_release (self, fd);  //  the descriptor's last connection has gone
    if (!owner && slot->count < HERALD_MAX_IDS_PER_PUBLISHER) {
        owner = calloc (1, sizeof (owner_t));
        if (!owner)
            return true;  //  out of memory: let it pass unbound
        *owner = (owner_t){id, serial, fd, slot->owned};
        if (zhashx_insert (self->owners, &owner->id, owner)) {
            free (owner);
            return true;
        }
        slot->owned = owner;
        slot->count++;
    }
    slot->last = id;
    slot->valid = true;
    return true;
}

void
pubids_closed (pubids_t *self, int fd)
{
    s_release (self, fd);
}

//  --------------------------------------------------------------------------
//  Self test

void
pubids_test (bool verbose)
{
    (void) verbose;
    pubids_t *pubids = pubids_new ();
    peers_t *peers = peers_new ();
    assert (pubids && peers);
    //  Publisher A on descriptor 5 (token 1), an impostor on 6 (token 2).
    assert (peers_accepted (peers, 5) == 0);
    assert (peers_accepted (peers, 6) == 0);
    uint64_t position = peers_position (peers);
    assert (!pubids_known (pubids, 5, 77));
    assert (pubids_claim (pubids, peers, 1, position, 5, 77));
    assert (pubids_known (pubids, 5, 77));
    //  The impostor's events under A's id are refused while A is open.
    assert (!pubids_claim (pubids, peers, 2, position, 6, 77));
    assert (!pubids_known (pubids, 6, 77));
    assert (pubids_claim (pubids, peers, 2, position, 6, 78));
    //  A leaves: its id is free again, for A back on a new connection.
    assert (peers_disconnected (peers, 5) == 1);
    pubids_closed (pubids, 5);
    assert (!pubids_known (pubids, 5, 77));
    assert (peers_accepted (peers, 5) == 0);
    assert (pubids_claim (pubids, peers, 3, peers_position (peers), 5, 77));
    //  A connection may own several ids, and keeps them all.
    assert (pubids_claim (pubids, peers, 2, position, 6, 79));
    assert (!pubids_known (pubids, 6, 78));
    assert (!pubids_claim (pubids, peers, 3, peers_position (peers), 5, 78));
    assert (pubids_claim (pubids, peers, 2, position, 6, 78));
    assert (pubids_known (pubids, 6, 78));
    //  A late event of a connection that has gone passes, unbound.
    assert (pubids_claim (pubids, peers, 1, position, 5, 77));
    pubids_destroy (&pubids);
    pubids_destroy (&pubids);
    assert (pubids == NULL);
    peers_destroy (&peers);
}
