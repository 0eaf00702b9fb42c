/*  wire.c - herald's messages: build, parse, validate; see wire.h. */

#include "wire.h"
#include "herald.h"
#include "text.h"

#include <assert.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

void
wire_put_be (uint8_t *out, uint64_t value, size_t bytes)
{
    for (size_t index = bytes; index-- > 0; value >>= 8)
        out[index] = (uint8_t) value;
}

uint64_t
wire_get_be (const uint8_t *in, size_t bytes)
{
    uint64_t value = 0;
    for (size_t index = 0; index < bytes; index++)
        value = value << 8 | in[index];
    return value;
}

size_t
wire_event_encode (uint8_t *buffer, size_t size, const void *topic, size_t topic_size,
                   uint64_t publisher, uint64_t sequence, const void *payload, size_t payload_size)
{
    if (topic_size && memchr (topic, 0, topic_size))
        return 0;
    if (size < topic_size + 1 + WIRE_HEADER_SIZE
        || size - topic_size - 1 - WIRE_HEADER_SIZE < payload_size)
        return 0;
    if (topic_size)
        memcpy (buffer, topic, topic_size);
    uint8_t *header = buffer + topic_size;
    *header++ = 0;
    header[0] = WIRE_MAGIC;
    header[1] = WIRE_VERSION;
    wire_put_be (header + 2, publisher, 8);
    wire_put_be (header + 10, sequence, 8);
    if (payload_size)
        memcpy (header + WIRE_HEADER_SIZE, payload, payload_size);
    return topic_size + 1 + WIRE_HEADER_SIZE + payload_size;
}

int
wire_event_split (const void *message, size_t size, size_t *topic_size)
{
    const uint8_t *bytes = message;
    const uint8_t *end = size ? memchr (bytes, 0, size) : NULL;
    if (!end)
        return -1;
    size_t rest = size - (size_t) (end - bytes) - 1;
    if (rest < WIRE_HEADER_SIZE || end[1] != WIRE_MAGIC || end[2] != WIRE_VERSION)
        return -1;
    *topic_size = (size_t) (end - bytes);
    return 0;
}

size_t
wire_plain_topic (const void *frame, size_t size)
{
    const uint8_t *bytes = frame;
    size_t topic = 0;
    while (topic < size && bytes[topic] != ' ' && bytes[topic] != 0)
        topic++;
    return topic;
}

bool
wire_publication_topic (const void *first, size_t size, bool multipart, size_t *topic_size)
{
    if (!multipart && wire_event_split (first, size, topic_size) == 0)
        return false;
    *topic_size = multipart ? size : wire_plain_topic (first, size);
    return true;
}

uint64_t
wire_event_publisher (const void *message, size_t topic_size)
{
    return wire_get_be ((const uint8_t *) message + topic_size + 3, 8);
}

int
wire_event_decode (const void *message, size_t size, wire_event_t *event)
{
    size_t topic_size;
    if (wire_event_split (message, size, &topic_size))
        return -1;
    const uint8_t *header = (const uint8_t *) message + topic_size + 1;
    event->topic = message;
    event->topic_size = topic_size;
    event->publisher = wire_event_publisher (message, topic_size);
    event->sequence = wire_get_be (header + 10, 8);
    event->payload = header + WIRE_HEADER_SIZE;
    event->payload_size = size - topic_size - 1 - WIRE_HEADER_SIZE;
    return 0;
}

bool
wire_topic_is_terminate (const void *topic, size_t size)
{
    return size == strlen (HERALD_TERMINATE) && memcmp (topic, HERALD_TERMINATE, size) == 0;
}

bool
wire_topic_is_reserved (const void *topic, size_t size)
{
    size_t length = strlen (HERALD_RESERVED_PREFIX);
    return size >= length && memcmp (topic, HERALD_RESERVED_PREFIX, length) == 0;
}

static bool
s_frame_is (const uint8_t *data, size_t size, const char *word)
{
    return size == strlen (word) && memcmp (data, word, size) == 0;
}

int
wire_request_parse (size_t frames, const uint8_t *const data[], const size_t sizes[],
                    wire_request_t *request, char *error, size_t error_size)
{
    static const struct {
        const char *verb;
        wire_verb_t code;
        size_t arguments;
        const char *usage;
    } verbs[] = {
        {"PING", WIRE_PING, 0, "PING"},
        {"COUNT", WIRE_COUNT, 1, "COUNT <topic>"},
        {"WAIT", WIRE_WAIT, 4, "WAIT <topic> <min> <max> <timeout-ms>"},
        {"PROBE", WIRE_PROBE, 2, "PROBE <nonce> <timeout-ms>"},
        {"STATS", WIRE_STATS, 0, "STATS"},
    };
    memset (request, 0, sizeof *request);
    if (frames == 0) {
        snprintf (error, error_size, "empty request");
        return -1;
    }
    size_t match = sizeof verbs / sizeof verbs[0];
    for (size_t index = 0; index < sizeof verbs / sizeof verbs[0]; index++)
        if (s_frame_is (data[0], sizes[0], verbs[index].verb))
            match = index;
    if (match == sizeof verbs / sizeof verbs[0]) {
        snprintf (error, error_size, "unknown request; use PING, COUNT, WAIT, PROBE or STATS");
        return -1;
    }
    request->verb = verbs[match].code;
    if (frames - 1 != verbs[match].arguments) {
        snprintf (error, error_size, "usage: %s", verbs[match].usage);
        return -1;
    }
    for (size_t index = 1; index < frames; index++)
        if (sizes[index] > WIRE_ARG_MAX) {
            snprintf (error, error_size, "argument %zu longer than %d bytes", index, WIRE_ARG_MAX);
            return -1;
        }
    switch (request->verb) {
    case WIRE_COUNT:
    case WIRE_WAIT:
        request->topic = data[1];
        request->topic_size = sizes[1];
        if (request->verb == WIRE_WAIT
            && (text_parse_u64 (data[2], sizes[2], 0, UINT64_MAX, &request->min)
                || text_parse_u64 (data[3], sizes[3], request->min, UINT64_MAX, &request->max)
                || text_parse_u64 (data[4], sizes[4], 0, WIRE_TIMEOUT_MAX_MS,
                                   &request->timeout_ms))) {
            snprintf (error, error_size, "usage: %s (min <= max, timeout <= 1 day)",
                      verbs[match].usage);
            return -1;
        }
        break;
    case WIRE_PROBE:
        request->nonce = data[1];
        request->nonce_size = sizes[1];
        if (sizes[1] == 0
            || text_parse_u64 (data[2], sizes[2], 0, WIRE_TIMEOUT_MAX_MS, &request->timeout_ms)) {
            snprintf (error, error_size, "usage: %s (timeout <= 1 day)", verbs[match].usage);
            return -1;
        }
        break;
    default:
        break;
    }
    return 0;
}

//  --------------------------------------------------------------------------
//  Self test

static int
s_parse (wire_request_t *request, const char *first, ...)
{
    const uint8_t *data[8];
    size_t sizes[8], frames = 0;
    va_list args;
    va_start (args, first);
    for (const char *frame = first; frame && frames < 8; frame = va_arg (args, const char *)) {
        data[frames] = (const uint8_t *) frame;
        sizes[frames++] = strlen (frame);
    }
    va_end (args);
    char error[128];
    return wire_request_parse (frames, data, sizes, request, error, sizeof error);
}

void
wire_test (bool verbose)
{
    (void) verbose;
    //  A plain frame's topic ends at its first space or 0x00.
    assert (wire_plain_topic ("event hello", 11) == 5);
    assert (wire_plain_topic ("event", 5) == 5);
    assert (wire_plain_topic ("a\0b c", 5) == 1);
    assert (wire_plain_topic (" x", 2) == 0);
    assert (wire_plain_topic ("", 0) == 0);
    size_t topic;
    assert (wire_publication_topic ("ab cd", 5, false, &topic) && topic == 2);
    assert (wire_publication_topic ("ab cd", 5, true, &topic) && topic == 5);

    //  An event survives the round trip, and its header is big-endian.
    uint8_t message[64];
    size_t size = wire_event_encode (message, sizeof message, "news", 4, 0x0102030405060708ULL, 42,
                                     "hello", 5);
    assert (size == 4 + 1 + WIRE_HEADER_SIZE + 5);
    assert (memcmp (message, "news\0H\2", 7) == 0);
    assert (message[7] == 1 && message[14] == 8 && message[22] == 42);
    size_t topic_size;
    assert (wire_event_split (message, size, &topic_size) == 0 && topic_size == 4);
    wire_event_t event;
    assert (wire_event_decode (message, size, &event) == 0);
    assert (event.topic == message && event.topic_size == 4);
    assert (event.publisher == 0x0102030405060708ULL && event.sequence == 42);
    assert (event.payload_size == 5 && memcmp (event.payload, "hello", 5) == 0);

    //  A subscription is a prefix of the message: "news" matches this
    //  topic and longer ones, and only the 0x00 byte marks where it ends.
    size = wire_event_encode (message, sizeof message, "newsroom", 8, 1, 1, "", 0);
    assert (size == 8 + 1 + WIRE_HEADER_SIZE && memcmp (message, "news", 4) == 0);
    assert (wire_event_split (message, size, &topic_size) == 0 && topic_size == 8);
    assert (wire_event_decode (message, size, &event) == 0 && event.payload_size == 0);

    //  An empty topic is allowed; a topic holding 0x00 or a buffer too
    //  small is not.
    size = wire_event_encode (message, sizeof message, "", 0, 1, 1, "x", 1);
    assert (size == 1 + WIRE_HEADER_SIZE + 1 && message[0] == 0);
    assert (wire_event_decode (message, size, &event) == 0 && event.topic_size == 0);
    assert (wire_event_encode (message, sizeof message, "a\0b", 3, 1, 1, "", 0) == 0);
    assert (wire_event_encode (message, 4 + 1 + WIRE_HEADER_SIZE + 4, "news", 4, 1, 1, "hello", 5)
            == 0);
    assert (wire_event_encode (message, 4 + 1 + WIRE_HEADER_SIZE, "news", 4, 1, 1, "", 0)
            == 4 + 1 + WIRE_HEADER_SIZE);

    //  Anything else is refused: no 0x00, a short header, another magic or
    //  version (a version 1 body, or a version 1 topic frame alone).
    size = wire_event_encode (message, sizeof message, "news", 4, 7, 9, "hello", 5);
    assert (wire_event_split (message, 4, &topic_size) == -1);
    assert (wire_event_split (message, 4 + 1 + WIRE_HEADER_SIZE - 1, &topic_size) == -1);
    assert (wire_event_decode (message, 4 + 1 + WIRE_HEADER_SIZE - 1, &event) == -1);
    assert (wire_event_split (message, 0, &topic_size) == -1);
    assert (wire_event_decode ("THIS IS EVENT-1 and more", 24, &event) == -1);
    uint8_t old[] = {'H', 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 7, 'x'};
    assert (wire_event_decode (old, sizeof old, &event) == -1);
    message[6] = 1;
    assert (wire_event_split (message, size, &topic_size) == -1);
    message[6] = WIRE_VERSION;
    message[5] = 'h';
    assert (wire_event_decode (message, size, &event) == -1);

    assert (wire_topic_is_terminate ("TERMINATE", 9));
    assert (!wire_topic_is_terminate ("TERMINATED", 10) && !wire_topic_is_terminate ("TERM", 4));
    assert (wire_topic_is_reserved ("$herald/probe", 13));
    assert (wire_topic_is_reserved ("$herald", 7));
    assert (!wire_topic_is_reserved ("$heral", 6));
    assert (!wire_topic_is_reserved ("event", 5));

    wire_request_t request;
    assert (s_parse (&request, "PING", NULL) == 0 && request.verb == WIRE_PING);
    assert (s_parse (&request, "COUNT", "event", NULL) == 0 && request.verb == WIRE_COUNT);
    assert (request.topic_size == 5 && memcmp (request.topic, "event", 5) == 0);
    assert (s_parse (&request, "COUNT", "", NULL) == 0 && request.topic_size == 0);
    assert (s_parse (&request, "WAIT", "event", "3", "5", "1000", NULL) == 0);
    assert (request.min == 3 && request.max == 5 && request.timeout_ms == 1000);
    assert (s_parse (&request, "WAIT", "event", "5", "3", "1000", NULL) == -1);
    assert (s_parse (&request, "PROBE", "abc", "100", NULL) == 0 && request.nonce_size == 3);
    assert (s_parse (&request, "PROBE", "", "100", NULL) == -1);
    assert (s_parse (&request, "STATS", NULL) == 0 && request.verb == WIRE_STATS);
    assert (s_parse (&request, "STATS", "extra", NULL) == -1);
    assert (s_parse (&request, "COUNT", NULL) == -1);
    assert (s_parse (&request, "count", "event", NULL) == -1);
    assert (s_parse (&request, "", NULL) == -1);
    assert (s_parse (&request, NULL) == -1);
}
