/*  log.c - role-tagged diagnostics on stderr; see log.h. */

#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

//  Set once at start-up by log_init; read-only afterwards.
static char s_role[64] = "herald";
static bool s_verbose = false;

void
log_init (const char *role, bool verbose)
{
    snprintf (s_role, sizeof s_role, "%s", role);
    s_verbose = verbose;
}

void
log_line (char level, const char *format, ...)
{
    if (level == 'D' && !s_verbose)
        return;
    struct timeval now;
    gettimeofday (&now, NULL);
    struct tm tm;
    localtime_r (&now.tv_sec, &tm);

    //  Build the line first and write it with one call, so that lines from
    //  several processes sharing stderr never interleave mid-line.
    char line[1024];
    int size = snprintf (line, sizeof line, "%02d:%02d:%02d.%03d %c %s[%d] ", tm.tm_hour, tm.tm_min,
                         tm.tm_sec, (int) (now.tv_usec / 1000), level, s_role, (int) getpid ());
    va_list args;
    va_start (args, format);
    vsnprintf (line + size, sizeof line - size - 1, format, args);
    va_end (args);
    size_t length = strlen (line);
    line[length++] = '\n';
    ssize_t written = write (STDERR_FILENO, line, length);
    (void) written;  //  nowhere left to report a failing stderr
}
