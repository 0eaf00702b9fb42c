/*  fuzz_subtable.c - what subscribers send the hub: subscribe and
    unsubscribe messages from many connections, and connections leaving,
    in any order. The table is checked against a model that keeps each
    connection's prefixes in a plain list and counts by looking at all of
    them: every count, after every step, must agree.

    Input: a stream of steps, each a header byte then a length byte then
    that many bytes. Header: bits 0-2 a connection (1-8), bit 3 set means
    the connection leaves (the bytes are then ignored); else the bytes are
    the XPUB message. After each step a topic made of the step's bytes is
    counted by both, and the prefixes the table's watch says are held
    (what a hub sends up as its interest) are the model's distinct ones. */

#include "subtable.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

#define CONNECTIONS 8
#define MAX_PREFIX  16
#define MAX_HELD    6

typedef struct {
    uint8_t bytes[MAX_PREFIX];
    size_t size;
} prefix_t;

typedef struct {
    prefix_t held[MAX_HELD];
    size_t count;
} model_t;

static int
s_find (const model_t *model, const uint8_t *bytes, size_t size)
{
    for (size_t index = 0; index < model->count; index++)
        if (model->held[index].size == size && !memcmp (model->held[index].bytes, bytes, size))
            return (int) index;
    return -1;
}

static uint64_t
s_model_count (const model_t *models, const uint8_t *topic, size_t size)
{
    uint64_t count = 0;
    for (int connection = 0; connection < CONNECTIONS; connection++) {
        const model_t *model = &models[connection];
        for (size_t index = 0; index < model->count; index++) {
            const prefix_t *prefix = &model->held[index];
            if (prefix->size <= size && !memcmp (prefix->bytes, topic, prefix->size)) {
                count++;
                break;
            }
        }
    }
    return count;
}

//  Distinct prefixes held by any connection.
static int64_t
s_model_distinct (const model_t *models)
{
    int64_t distinct = 0;
    for (int connection = 0; connection < CONNECTIONS; connection++)
        for (size_t index = 0; index < models[connection].count; index++) {
            const prefix_t *prefix = &models[connection].held[index];
            bool earlier = false;
            for (int other = 0; other < connection && !earlier; other++)
                earlier = s_find (&models[other], prefix->bytes, prefix->size) >= 0;
            distinct += earlier ? 0 : 1;
        }
    return distinct;
}

static void
s_watch (void *argument, const uint8_t *prefix, size_t size, bool held)
{
    (void) prefix;
    (void) size;
    *(int64_t *) argument += held ? 1 : -1;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    subtable_t *table = subtable_new (MAX_PREFIX, MAX_HELD);
    int64_t held = 0;
    subtable_set_watch (table, s_watch, &held);
    model_t models[CONNECTIONS] = {0};
    uint64_t total = 0;
    while (size >= 2) {
        uint8_t header = data[0];
        size_t length = data[1] < size - 2 ? data[1] : size - 2;
        const uint8_t *bytes = data + 2;
        data += 2 + length;
        size -= 2 + length;
        int connection = header & 7;
        model_t *model = &models[connection];
        if (header & 8) {
            if (subtable_drop (table, (uint64_t) connection + 1) != (model->count > 0))
                __builtin_trap ();
            total -= model->count;
            model->count = 0;
        } else {
            subtable_result_t result =
                subtable_apply (table, (uint64_t) connection + 1, bytes, length);
            subtable_result_t expected;
            if (length == 0 || bytes[0] > 1)
                expected = SUBTABLE_MALFORMED;
            else {
                int found = s_find (model, bytes + 1, length - 1);
                if (bytes[0] == 0) {
                    expected = found < 0 ? SUBTABLE_UNCHANGED : SUBTABLE_CHANGED;
                    if (found >= 0) {
                        model->held[found] = model->held[--model->count];
                        total--;
                    }
                } else if (length - 1 > MAX_PREFIX)
                    expected = SUBTABLE_REFUSED;
                else if (found >= 0)
                    expected = SUBTABLE_UNCHANGED;
                else if (model->count == MAX_HELD)
                    expected = SUBTABLE_REFUSED;
                else {
                    expected = SUBTABLE_CHANGED;
                    prefix_t *prefix = &model->held[model->count++];
                    memcpy (prefix->bytes, bytes + 1, length - 1);
                    prefix->size = length - 1;
                    total++;
                }
            }
            if (result != expected)
                __builtin_trap ();
        }
        if (subtable_total (table) != total || held != s_model_distinct (models))
            __builtin_trap ();
        if (subtable_count (table, bytes, length) != s_model_count (models, bytes, length))
            __builtin_trap ();
        if (length
            && subtable_count (table, bytes + 1, length - 1)
                   != s_model_count (models, bytes + 1, length - 1))
            __builtin_trap ();
    }
    subtable_destroy (&table);
    return 0;
}
