/*  signals.c - how every role hears SIGINT and SIGTERM.

    The handler records the signal in herald_signal and writes a byte to a
    pipe (the self-pipe trick). Every wait in herald polls that pipe's read
    end along with its sockets, so a signal that lands just before a wait
    begins still ends it at once, instead of at the next event. The pipe is
    never drained: once a signal has come, every later wait returns at once,
    which is what a process on its way out wants. */

#include "herald.h"
#include "signals.h"

#include <czmq.h>
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

volatile sig_atomic_t herald_signal = 0;
static int s_wake[2] = {-1, -1};  //  the self-pipe: read end, write end

static void
s_on_signal (int signal_number)
{
    int saved = errno;
    herald_signal = signal_number;
    if (s_wake[1] != -1) {
        ssize_t written = write (s_wake[1], "", 1);  //  full pipe: woken already
        (void) written;
    }
    errno = saved;
}

void
herald_catch_signals (void)
{
    //  Close-on-exec: the demo's children make their own. Without a pipe,
    //  signals still set herald_signal.
    if (s_wake[0] == -1 && pipe (s_wake) == 0)
        for (int end = 0; end < 2; end++) {
            fcntl (s_wake[end], F_SETFD, FD_CLOEXEC);
            fcntl (s_wake[end], F_SETFL, O_NONBLOCK);
        }
    struct sigaction action = {.sa_handler = s_on_signal};  //  no SA_RESTART
    sigemptyset (&action.sa_mask);
    sigaction (SIGINT, &action, NULL);
    sigaction (SIGTERM, &action, NULL);
    signal (SIGPIPE, SIG_IGN);
}

int
herald_signal_exit_code (void)
{
    return herald_signal == SIGINT ? HERALD_EXIT_SIGINT : HERALD_EXIT_SIGTERM;
}

int
herald_signal_fd (void)
{
    return s_wake[0];
}

void
herald_pause_until (int64_t deadline)
{
    struct pollfd wake = {s_wake[0], POLLIN, 0};
    while (!herald_signal && zclock_mono () < deadline)
        poll (&wake, 1, (int) (deadline - zclock_mono ()));
}
