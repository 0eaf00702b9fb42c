/*  text.h - numbers and JSON strings, for config, STATS and the tools.

    Input is data: nothing here asserts on what it is given. */

#ifndef HERALD_TEXT_H_INCLUDED
#define HERALD_TEXT_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

//  Parse size bytes of decimal digits (no sign, no spaces) into value,
//  within min..max. Returns 0, or -1 on anything else.
int text_parse_u64 (const void *text, size_t size, uint64_t min, uint64_t max, uint64_t *value);

//  Write bytes as a JSON string literal, escaping what JSON requires and
//  any byte that is not printable ASCII.
void text_json_string (FILE *out, const void *data, size_t size);

//  How many single-byte edits turn a into b (Levenshtein distance), for
//  "did you mean" suggestions; capped at 255.
size_t text_distance (const char *a, const char *b);

//  True if the bytes are valid UTF-8 (RFC 3629: no overlong forms, no
//  surrogates, nothing past U+10FFFF).
bool text_is_utf8 (const void *data, size_t size);

//  Write valid UTF-8 text (text_is_utf8) as a JSON string: its characters
//  as they are, but for the quote, the backslash and control characters.
void text_json_utf8 (FILE *out, const void *data, size_t size);

//  A 64-bit hash of bytes (FNV-1a): for hash tables and for telling
//  nonces apart, not for security.
uint64_t text_hash (const void *data, size_t size);

//  Self test.
void text_test (bool verbose);

#endif
