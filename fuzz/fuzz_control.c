/*  fuzz_control.c - control requests, as the hub's ROUTER hands them over.

    The input is cut into frames at each newline (at most 8, as the hub
    takes); wire_request_parse must accept or refuse every one cleanly. */

#include "wire.h"

#include <string.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    enum { MAX_FRAMES = 8 };
    const uint8_t *frames[MAX_FRAMES];
    size_t sizes[MAX_FRAMES], count = 0;
    const uint8_t *start = data, *end = data + size;
    while (count < MAX_FRAMES) {
        const uint8_t *newline = memchr (start, '\n', (size_t) (end - start));
        frames[count] = start;
        sizes[count++] = (size_t) ((newline ? newline : end) - start);
        if (!newline)
            break;
        start = newline + 1;
    }
    wire_request_t request;
    char error[128];
    if (wire_request_parse (count, frames, sizes, &request, error, sizeof error) == 0) {
        //  What the hub reads from an accepted request lies inside the input.
        if (request.topic && (request.topic < data || request.topic + request.topic_size > end))
            __builtin_trap ();
        if (request.nonce && (request.nonce < data || request.nonce + request.nonce_size > end))
            __builtin_trap ();
        if (request.verb == WIRE_WAIT && request.min > request.max)
            __builtin_trap ();
    } else if (!memchr (error, 0, sizeof error))
        __builtin_trap ();
    return 0;
}
