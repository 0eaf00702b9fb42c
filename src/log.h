/*  log.h - role-tagged diagnostics on stderr.

    Each line reads "HH:MM:SS.mmm L role[pid] message", where L is E (error),
    W (warning), I (information) or D (debug, shown with --verbose). stdout
    is kept for the story. Safe to use before fork: it never touches
    ZeroMQ. */

#ifndef HERALD_LOG_H_INCLUDED
#define HERALD_LOG_H_INCLUDED

#include <stdbool.h>

//  Name this process's role (copied) and whether debug lines are shown.
void log_init (const char *role, bool verbose);

//  Write one line at the given level ('E', 'W', 'I' or 'D').
void log_line (char level, const char *format, ...) __attribute__ ((format (printf, 2, 3)));

#define log_error(...) log_line ('E', __VA_ARGS__)
#define log_warn(...)  log_line ('W', __VA_ARGS__)
#define log_info(...)  log_line ('I', __VA_ARGS__)
#define log_debug(...) log_line ('D', __VA_ARGS__)

#endif
