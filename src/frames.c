/*  frames.c - one message's frames; see frames.h. */

#include "frames.h"

#include <stdlib.h>
#include <string.h>

zmq_msg_t *
frames_add (frames_t *self)
{
    if (self->count == self->size) {
        size_t wanted = self->size ? self->size * 2 : 4;
        zmq_msg_t *grown = realloc (self->items, wanted * sizeof (zmq_msg_t));
        if (!grown)
            return NULL;
        self->items = grown;
        self->size = wanted;
    }
    zmq_msg_t *frame = &self->items[self->count++];
    zmq_msg_init (frame);
    return frame;
}

int
frames_recv_rest (frames_t *self, void *socket)
{
    int rc = 0;
    while (self->count && zmq_msg_more (&self->items[self->count - 1])) {
        zmq_msg_t *frame = frames_add (self);
        if (!frame) {
            //  Out of memory: drop the rest, reading it into the last frame.
            zmq_msg_t *last = &self->items[self->count - 1];
            while (zmq_msg_more (last) && zmq_msg_recv (last, socket, 0) != -1)
                ;
            return -1;
        }
        if (zmq_msg_recv (frame, socket, 0) == -1) {
            rc = -1;
            break;
        }
    }
    return rc;
}

void
frames_clear (frames_t *self)
{
    for (size_t index = 0; index < self->count; index++)
        zmq_msg_close (&self->items[index]);
    self->count = 0;
}

void
frames_move (frames_t *self, frames_t *to)
{
    frames_clear (to);
    for (size_t index = 0; index < self->count; index++) {
        zmq_msg_t *frame = frames_add (to);
        if (frame)
            zmq_msg_move (frame, &self->items[index]);
    }
    frames_clear (self);
}

void
frames_destroy (frames_t *self)
{
    frames_clear (self);
    free (self->items);
    memset (self, 0, sizeof *self);
}
