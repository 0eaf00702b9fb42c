/*  pubids.c - which publisher connection owns each publisher id; see
    pubids.h.

    A table id -> owner (czmq's zhashx), and per descriptor the id its
    connection last used. A connection owns at most one id: using a new
    one gives up the old. So the table holds at most one entry per open
    publisher connection. */

#include "pubids.h"
#include "herald.h"

#include <assert.h>
#include <czmq.h>

typedef struct {
    uint64_t id;  //  the key
    uint64_t serial;
    int fd;
} owner_t;

typedef struct {
    uint64_t id;
    bool valid;
} last_t;

struct _pubids_t {
    zhashx_t *owners;  //  id -> owner_t
    last_t *last;      //  per descriptor
    size_t size;
};

static size_t
s_id_hash (const void *key)
{
    uint64_t id = *(const uint64_t *) key;
    return (size_t) (id ^ (id >> 29)) * 0x9E3779B97F4A7C15ULL;
}

static int
s_id_compare (const void *one, const void *two)
{
    uint64_t a = *(const uint64_t *) one, b = *(const uint64_t *) two;
    return a == b ? 0 : a < b ? -1 : 1;
}

static void
s_owner_free (void **item)
{
    free (*item);
    *item = NULL;
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
    zhashx_set_destructor (self->owners, s_owner_free);
    return self;
}

void
pubids_destroy (pubids_t **self_p)
{
    if (!*self_p)
        return;
    zhashx_destroy (&(*self_p)->owners);
    free ((*self_p)->last);
    free (*self_p);
    *self_p = NULL;
}

bool
pubids_known (pubids_t *self, int fd, uint64_t id)
{
    return fd >= 0 && (size_t) fd < self->size && self->last[fd].valid && self->last[fd].id == id;
}

static last_t *
s_last (pubids_t *self, int fd)
{
    if ((size_t) fd >= self->size) {
        size_t size = self->size ? self->size : 64;
        while (size <= (size_t) fd)
            size *= 2;
        last_t *last = realloc (self->last, size * sizeof (last_t));
        if (!last)
            return NULL;
        memset (last + self->size, 0, (size - self->size) * sizeof (last_t));
        self->last = last;
        self->size = size;
    }
    return &self->last[fd];
}

//  Forget what the connection on fd owns.
static void
s_release (pubids_t *self, int fd)
{
    if (fd < 0 || (size_t) fd >= self->size || !self->last[fd].valid)
        return;
    owner_t *owner = zhashx_lookup (self->owners, &self->last[fd].id);
    if (owner && owner->fd == fd)
        zhashx_delete (self->owners, &self->last[fd].id);
    self->last[fd].valid = false;
}

bool
pubids_claim (pubids_t *self, peers_t *peers, uint64_t serial, uint64_t position, int fd,
              uint64_t id)
{
    serial = peers_identify (peers, serial, position, fd);
    if (!serial)
        return true;  //  a late event of a connection that has gone
    owner_t *owner = zhashx_lookup (self->owners, &id);
    if (owner && owner->serial != serial && peers_open (peers, owner->serial, owner->fd))
        return false;  //  another open connection's id
    last_t *last = s_last (self, fd);
    if (!last)
        return true;  //  out of memory: let it pass unbound
    s_release (self, fd);
    if (owner)  //  its owner has gone
        zhashx_delete (self->owners, &id);
    owner = calloc (1, sizeof (owner_t));
    if (!owner)
        return true;
    *owner = (owner_t){id, serial, fd};
    if (zhashx_insert (self->owners, &owner->id, owner)) {
        free (owner);
        return true;
    }
    *last = (last_t){id, true};
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
    //  A connection that uses a new id gives up its old one.
    assert (pubids_claim (pubids, peers, 2, position, 6, 79));
    assert (!pubids_known (pubids, 6, 78));
    assert (pubids_claim (pubids, peers, 3, peers_position (peers), 5, 78));
    //  A late event of a connection that has gone passes, unbound.
    assert (pubids_claim (pubids, peers, 1, position, 5, 77));
    pubids_destroy (&pubids);
    pubids_destroy (&pubids);
    assert (pubids == NULL);
    peers_destroy (&peers);
}
