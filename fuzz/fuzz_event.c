/*  fuzz_event.c - what arrives from the network on the data path: event
    messages (the hub splits them, subscribers decode them) and
    subscription messages (the hub counts them). */

#include "subtable.h"
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

    //  The input as a stream of subscription messages, cut at 0xff bytes:
    //  counts never go below zero and everything is freed.
    subtable_t *table = subtable_new ();
    const uint8_t *start = data, *end = data + size;
    while (start < end) {
        const uint8_t *cut = memchr (start, 0xff, (size_t) (end - start));
        size_t length = (size_t) ((cut ? cut : end) - start);
        uint64_t before = subtable_total (table);
        int rc = subtable_apply (table, start, length);
        uint64_t after = subtable_total (table);
        if (rc == 0 && after != (start[0] ? before + 1 : before - 1))
            __builtin_trap ();
        if (rc == -1 && after != before)
            __builtin_trap ();
        if (length > 1 && subtable_count (table, start + 1, length - 1) > after)
            __builtin_trap ();
        start = cut ? cut + 1 : end;
    }
    subtable_destroy (&table);
    return 0;
}
