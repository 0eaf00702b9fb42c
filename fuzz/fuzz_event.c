/*  fuzz_event.c - what arrives from the network on the data path: event
    messages (the hub splits them, subscribers decode them). Subscriptions
    have their own target, fuzz_subtable. */

#include "wire.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    //  The hub's split and the subscribers' decode agree on what an event
    //  is and where its topic ends.
    size_t topic_size = 0;
    int split = wire_event_split (data, size, &topic_size);
    wire_event_t event;
    int decoded = wire_event_decode (data, size, &event);
    if (split != decoded)
        __builtin_trap ();
    if (decoded == 0) {
        if (event.topic != data || event.topic_size != topic_size || memchr (data, 0, topic_size)
            || data[topic_size] != 0 || event.payload + event.payload_size != data + size)
            __builtin_trap ();
        //  What decodes encodes back to the same bytes.
        uint8_t *copy = malloc (size);
        if (wire_event_encode (copy, size, event.topic, event.topic_size, event.publisher,
                               event.sequence, event.payload, event.payload_size)
                != size
            || memcmp (copy, data, size))
            __builtin_trap ();
        free (copy);
        wire_topic_is_reserved (event.topic, event.topic_size);
    }
    wire_topic_is_reserved (data, size);

    return 0;
}
