/*  text.c - numbers and JSON strings; see text.h. */

#include "text.h"
#include "herald.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

int
text_parse_u64 (const void *text, size_t size, uint64_t min, uint64_t max, uint64_t *value)
{
    const uint8_t *digits = text;
    if (size == 0 || size > 20)
        return -1;
    uint64_t result = 0;
    for (size_t index = 0; index < size; index++) {
        if (digits[index] < '0' || digits[index] > '9')
            return -1;
        unsigned digit = digits[index] - '0';
        if (result > (UINT64_MAX - digit) / 10)
            return -1;
        result = result * 10 + digit;
    }
    if (result < min || result > max)
        return -1;
    *value = result;
    return 0;
}

//  A JSON string of the bytes: the quote and the backslash escaped, and
//  control characters; bytes past ASCII too, unless utf8 (they are then
//  valid UTF-8, and pass as they are).
static void
s_json (FILE *out, const uint8_t *bytes, size_t size, bool utf8)
{
    fputc ('"', out);
    for (size_t index = 0; index < size; index++) {
        uint8_t byte = bytes[index];
        if (byte == '"' || byte == '\\')
            fprintf (out, "\\%c", byte);
        else if (byte < 0x20 || (byte >= 0x7f && !utf8))
            fprintf (out, "\\u%04x", byte);
        else
            fputc (byte, out);
    }
    fputc ('"', out);
}

void
text_json_string (FILE *out, const void *data, size_t size)
{
    s_json (out, data, size, false);
}

size_t
text_distance (const char *a, const char *b)
{
    enum { LONGEST = 64 };
    size_t length_a = strlen (a), length_b = strlen (b);
    if (length_a > LONGEST || length_b > LONGEST)
        return 255;
    size_t row[LONGEST + 1];
    for (size_t j = 0; j <= length_b; j++)
        row[j] = j;
    for (size_t i = 1; i <= length_a; i++) {
        size_t diagonal = row[0];
        row[0] = i;
        for (size_t j = 1; j <= length_b; j++) {
            size_t above = row[j];
            size_t best = diagonal + (a[i - 1] != b[j - 1]);
            if (above + 1 < best)
                best = above + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diagonal = above;
        }
    }
    return row[length_b] < 255 ? row[length_b] : 255;
}

//  --------------------------------------------------------------------------
//  Self test

bool
text_is_utf8 (const void *data, size_t size)
{
    const uint8_t *bytes = data;
    size_t index = 0;
    while (index < size) {
        uint8_t byte = bytes[index];
        size_t follow = byte < 0x80                    ? 0
                        : byte >= 0xc2 && byte <= 0xdf ? 1
                        : (byte & 0xf0) == 0xe0        ? 2
                        : byte >= 0xf0 && byte <= 0xf4 ? 3
                                                       : SIZE_MAX;
        if (follow == SIZE_MAX || follow > size - index - 1)
            return false;
        //  The second byte's range rules out overlong forms, surrogates and
        //  what lies past U+10FFFF.
        uint8_t low = byte == 0xe0 ? 0xa0 : byte == 0xf0 ? 0x90 : 0x80;
        uint8_t high = byte == 0xed ? 0x9f : byte == 0xf4 ? 0x8f : 0xbf;
        for (size_t next = 1; next <= follow; next++) {
            uint8_t part = bytes[index + next];
            if (next == 1 ? part < low || part > high : (part & 0xc0) != 0x80)
                return false;
        }
        index += follow + 1;
    }
    return true;
}

void
text_json_utf8 (FILE *out, const void *data, size_t size)
{
    s_json (out, data, size, true);
}

uint64_t
text_hash (const void *data, size_t size)
{
    const uint8_t *bytes = data;
    uint64_t hash = 14695981039346656037ULL;  //  FNV-1a
    for (size_t index = 0; index < size; index++)
        hash = (hash ^ bytes[index]) * 1099511628211ULL;
    return hash;
}

void
text_test (bool verbose)
{
    (void) verbose;
    assert (text_hash ("", 0) == 14695981039346656037ULL);
    assert (text_hash ("a", 1) != text_hash ("b", 1));
    uint64_t value;
    assert (text_parse_u64 ("18446744073709551615", 20, 0, UINT64_MAX, &value) == 0);
    assert (value == UINT64_MAX);
    assert (text_parse_u64 ("18446744073709551616", 20, 0, UINT64_MAX, &value) == -1);
    assert (text_parse_u64 ("12", 2, 0, 11, &value) == -1);
    assert (text_parse_u64 ("12", 2, 13, 20, &value) == -1);
    assert (text_parse_u64 ("1 ", 2, 0, 10, &value) == -1);
    assert (text_parse_u64 ("-1", 2, 0, 10, &value) == -1);
    assert (text_parse_u64 ("", 0, 0, 10, &value) == -1);

    char *text = NULL;
    size_t length = 0;
    FILE *out = open_memstream (&text, &length);
    text_json_string (out, "a\"b\\c\n\x01\xff", 8);
    fclose (out);
    assert (streq (text, "\"a\\\"b\\\\c\\u000a\\u0001\\u00ff\""));
    free (text);

    assert (text_is_utf8 ("plain", 5));
    assert (text_is_utf8 ("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", 14));
    assert (!text_is_utf8 ("\xff", 1));
    assert (!text_is_utf8 ("\xc3", 1));              //  cut short
    assert (!text_is_utf8 ("\xc0\xaf", 2));          //  overlong
    assert (!text_is_utf8 ("\xed\xa0\x80", 3));      //  a surrogate
    assert (!text_is_utf8 ("\xf4\x90\x80\x80", 4));  //  past U+10FFFF
    out = open_memstream (&text, &length);
    text_json_utf8 (out, "\"\n\xc3\xa9", 4);
    fclose (out);
    assert (streq (text, "\"\\\"\\u000a\xc3\xa9\""));
    free (text);

    assert (text_distance ("WAIT_SUBSCRIBER", "WAIT_SUBSCRIBERS") == 1);
    assert (text_distance ("hwm", "hwm") == 0);
    assert (text_distance ("", "abc") == 3);
    assert (text_distance ("kitten", "sitting") == 3);
}
