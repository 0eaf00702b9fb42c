/*  peers.c - which connection a message came from; see peers.h.

    One slot per descriptor number, for the last connection accepted on
    it: an array indexed by descriptor, grown as needed (descriptors are
    small, dense numbers). */

#include "peers.h"
#include "fdslots.h"
#include "herald.h"
#include "log.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <zmq.h>

typedef struct {
    uint64_t accepted;  //  position of its ACCEPTED; 0: never seen
    uint64_t serial;    //  its token's serial, once a message named it; 0: not yet
    bool open;
} slot_t;

struct _peers_t {
    slot_t *slots;
    size_t size;
    uint64_t position;
};

peers_t *
peers_new (void)
{
    return calloc (1, sizeof (peers_t));
}

void
peers_destroy (peers_t **self_p)
{
    if (!*self_p)
        return;
    free ((*self_p)->slots);
    free (*self_p);
    *self_p = NULL;
}

static slot_t *
s_slot (peers_t *self, int fd, bool grow)
{
    if (fd >= 0 && (size_t) fd < self->size)
        return &self->slots[fd];
    if (!grow)
        return NULL;
    void *slots = self->slots;
    slot_t *slot = fdslots_grow (&slots, &self->size, sizeof (slot_t), fd);
    self->slots = slots;
    return slot;
}

int
peers_accepted (peers_t *self, int fd)
{
    self->position++;
    slot_t *slot = s_slot (self, fd, true);
    if (!slot)
        return -1;
    *slot = (slot_t){self->position, 0, true};
    return 0;
}

uint64_t
peers_disconnected (peers_t *self, int fd)
{
    self->position++;
    slot_t *slot = s_slot (self, fd, false);
    if (!slot || !slot->open)
        return 0;
    slot->open = false;
    return slot->serial;
}

uint64_t
peers_follow (peers_t *self, const monitor_event_t *event, const char *port)
{
    if (event->number == ZMQ_EVENT_ACCEPTED && peers_accepted (self, event->value))
        log_error ("out of memory: cannot follow a connection on the %s", port);
    return event->number == ZMQ_EVENT_DISCONNECTED ? peers_disconnected (self, event->value) : 0;
}

uint64_t
peers_position (peers_t *self)
{
    return self->position;
}

uint64_t
peers_identify (peers_t *self, uint64_t serial, uint64_t position, int fd)
{
    slot_t *slot = s_slot (self, fd, false);
    //  Not the last connection on fd (it was accepted after this token was
    //  given), or that one has closed: the message's connection is gone.
    if (!slot || !slot->accepted || serial == 0 || position < slot->accepted || !slot->open)
        return 0;
    if (slot->serial == 0)
        slot->serial = serial;
    return slot->serial == serial ? serial : 0;
}

bool
peers_open (peers_t *self, uint64_t serial, int fd)
{
    slot_t *slot = s_slot (self, fd, false);
    return slot && slot->open && serial && slot->serial == serial;
}

int
peers_disconnect (peers_t *self, uint64_t serial, int fd)
{
    if (!peers_open (self, serial, fd))
        return -1;
    return shutdown (fd, SHUT_RDWR) == 0 ? 0 : -1;
}

//  --------------------------------------------------------------------------
//  Self test

void
peers_test (bool verbose)
{
    (void) verbose;
    peers_t *peers = peers_new ();
    assert (peers);
    //  A connection on descriptor 7, given token 1 at position 1.
    assert (peers_accepted (peers, 7) == 0);
    uint64_t position = peers_position (peers);
    assert (position == 1);
    assert (peers_identify (peers, 1, position, 7) == 1);
    assert (peers_identify (peers, 1, position, 7) == 1);
    //  Another token on the same open connection cannot be.
    assert (peers_identify (peers, 2, position, 7) == 0);
    //  It ends; a late message of it is not counted.
    assert (peers_disconnected (peers, 7) == 1);
    assert (peers_identify (peers, 1, position, 7) == 0);

    //  Descriptor 7 again: a silent connection (no message), closed, then
    //  a third. A token given before the third's ACCEPTED was read belongs
    //  to the silent one: gone. One given after belongs to the third.
    assert (peers_accepted (peers, 7) == 0);
    uint64_t silent = peers_position (peers);
    assert (peers_disconnected (peers, 7) == 0);
    assert (peers_accepted (peers, 7) == 0);
    uint64_t third = peers_position (peers);
    assert (peers_identify (peers, 3, silent, 7) == 0);
    assert (peers_identify (peers, 4, third, 7) == 4);
    assert (peers_disconnected (peers, 7) == 4);

    //  A descriptor never reported, or none: nothing to identify.
    assert (peers_identify (peers, 5, peers_position (peers), 1000) == 0);
    assert (peers_identify (peers, 5, peers_position (peers), -1) == 0);
    assert (peers_disconnected (peers, 1000) == 0);
    //  Far descriptors grow the table.
    assert (peers_accepted (peers, 5000) == 0);
    assert (peers_identify (peers, 6, peers_position (peers), 5000) == 6);
    assert (peers_disconnect (peers, 7, 5000) == -1);  //  not that connection

    peers_destroy (&peers);
    peers_destroy (&peers);
    assert (peers == NULL);
}
