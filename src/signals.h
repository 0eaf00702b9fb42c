/*  signals.h - how every role hears SIGINT and SIGTERM.

    The handlers only record the signal and wake every wait (see
    signals.c); each role's loop reads herald_signal and acts on it. */

#ifndef HERALD_SIGNALS_H_INCLUDED
#define HERALD_SIGNALS_H_INCLUDED

#include <signal.h>
#include <stdint.h>

//  Set by the signal handlers, read by each role's main loop: with the
//  self-pipe in signals.c, the only mutable globals in herald.
extern volatile sig_atomic_t herald_signal;

//  Install handlers that record SIGINT and SIGTERM in herald_signal and wake
//  every wait (without SA_RESTART, so blocking calls return EINTR), and
//  ignore SIGPIPE.
void herald_catch_signals (void);

//  Exit code for a role stopped by the signal in herald_signal.
int herald_signal_exit_code (void);

//  A file descriptor that turns readable once a signal has come: every
//  poll in herald lists it, so no signal waits for the next event.
int herald_signal_fd (void);

//  Wait until the zclock_mono () deadline, or a signal.
void herald_pause_until (int64_t deadline);

#endif
