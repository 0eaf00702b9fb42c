/*  frames.h - one message's frames, kept together: a publication of any
    layout (docs/protocol.md) as the hub holds it while it passes. */

#ifndef HERALD_FRAMES_H_INCLUDED
#define HERALD_FRAMES_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <zmq.h>

typedef struct {
    zmq_msg_t *items;  //  count of them in use, each initialised
    size_t count, size;
} frames_t;

//  A new empty frame at the end; NULL if out of memory.
zmq_msg_t *frames_add (frames_t *self);

//  Read the rest of a message whose frames so far are in self, from
//  socket. Returns 0, or -1 if out of memory (the rest is read and
//  dropped).
int frames_recv_rest (frames_t *self, void *socket);

//  Close every frame; the array stays for the next message.
void frames_clear (frames_t *self);

//  Move every frame into to (cleared first); self is left empty.
void frames_move (frames_t *self, frames_t *to);

//  Free everything.
void frames_destroy (frames_t *self);

#endif
