/*  wire.h - herald's messages: build, parse, validate. Input is data.

    The layouts are specified in docs/protocol.md: an event is one frame,
    topic, 0x00, an 18-byte header (magic 0x48, version 2, publisher id and
    sequence number, both 64-bit big-endian), payload; a control request is
    one string per frame, a verb and its arguments. */

#ifndef HERALD_WIRE_H_INCLUDED
#define HERALD_WIRE_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define WIRE_MAGIC       0x48
#define WIRE_VERSION     2
#define WIRE_HEADER_SIZE 18
//  Longest topic or nonce a control request may name.
#define WIRE_ARG_MAX 255
//  Longest a WAIT or PROBE may ask the hub to wait: one day. A client that
//  wants no limit asks again when it expires.
#define WIRE_TIMEOUT_MAX_MS 86400000

typedef struct {
    const uint8_t *topic;  //  points into the decoded message
    size_t topic_size;
    uint64_t publisher;
    uint64_t sequence;
    const uint8_t *payload;  //  points into the decoded message
    size_t payload_size;
} wire_event_t;

typedef enum { WIRE_PING, WIRE_COUNT, WIRE_WAIT, WIRE_PROBE, WIRE_STATS } wire_verb_t;

typedef struct {
    wire_verb_t verb;
    const uint8_t *topic;  //  COUNT, WAIT: points into the request
    size_t topic_size;
    uint64_t min, max;     //  WAIT
    uint64_t timeout_ms;   //  WAIT, PROBE
    const uint8_t *nonce;  //  PROBE: points into the request
    size_t nonce_size;
} wire_request_t;

//  Write an event message into buffer. Returns its size, or 0 if buffer is
//  too small or the topic holds a 0x00 byte.
size_t wire_event_encode (uint8_t *buffer, size_t size, const void *topic, size_t topic_size,
                          uint64_t publisher, uint64_t sequence, const void *payload,
                          size_t payload_size);

//  Find where an event message's topic ends, looking at the topic and the
//  header's first two bytes only: cheap enough for the hub's data path.
//  Returns 0 with the topic's size, or -1 if the message has no 0x00 byte,
//  or a header that is short or not herald's version 2.
int wire_event_split (const void *message, size_t size, size_t *topic_size);

//  The topic of a plain publication of one frame, one that is not a herald
//  event: its bytes up to the first space or 0x00, or all of it
//  (docs/protocol.md, "Plain publications"). Returns its size.
size_t wire_plain_topic (const void *frame, size_t size);

//  Where a publication's topic ends, in any layout: its first frame, and
//  whether more frames follow it. Returns false for a herald event (the
//  topic as wire_event_split finds it), true for a plain publication (a
//  multipart one's first frame, or wire_plain_topic of a single frame).
bool wire_publication_topic (const void *first, size_t size, bool multipart, size_t *topic_size);

//  The publisher id of an event that wire_event_split accepted.
uint64_t wire_event_publisher (const void *message, size_t topic_size);

//  Parse a whole event message. Returns 0, or -1 if it is not a herald
//  event.
int wire_event_decode (const void *message, size_t size, wire_event_t *event);

//  True if the topic is the shutdown topic, TERMINATE (exactly).
bool wire_topic_is_terminate (const void *topic, size_t size);

//  True if the topic is one of the hub's own ($herald...).
bool wire_topic_is_reserved (const void *topic, size_t size);

//  Parse a control request given as frames. Returns 0, or -1 with a
//  one-line reason in error.
int wire_request_parse (size_t frames, const uint8_t *const data[], const size_t sizes[],
                        wire_request_t *request, char *error, size_t error_size);

//  Numbers on the wire are big-endian: write value in `bytes` bytes (up to
//  8), or read one.
void wire_put_be (uint8_t *out, uint64_t value, size_t bytes);
uint64_t wire_get_be (const uint8_t *in, size_t bytes);

//  Self test.
void wire_test (bool verbose);

#endif
