/*  client.h - the control protocol's client: ask the hub, prove a path to
    it, wait for a count. Every herald client uses it: pub, sub, stats,
    the bench and the test tools. The protocol is specified in
    docs/protocol.md.

    A client is given the data sockets it proves (a publisher's PUB, a
    subscriber's SUB) and never calls back into its caller. */

#ifndef HERALD_CLIENT_H_INCLUDED
#define HERALD_CLIENT_H_INCLUDED

#include "sock.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct _client_t client_t;

//  Connect to the hub's control endpoint. timeout_ms bounds how long each
//  call waits for the hub (0: no limit). Returns NULL after logging why.
client_t *client_new (const char *endpoint, const sock_curve_t *curve, uint64_t timeout_ms);

//  Close the connection; safe on NULL, nulls the caller's pointer.
void client_destroy (client_t **self_p);

//  COUNT: how many subscribers the hub counts for topic. Returns 0, or -1
//  after logging why (or on a signal).
int client_count (client_t *self, const char *topic, uint64_t *count);

//  WAIT until the hub counts min..max subscribers for topic. Returns 0 with
//  the count, 1 when the hub's wait timed out (count: the last count; not
//  logged, the caller says what it means), -1 after logging why.
int client_wait (client_t *self, const char *topic, uint64_t min, uint64_t max, uint64_t *count);

//  STATS: the hub's counters as JSON (caller frees). Returns 0, or -1
//  after logging why.
int client_stats (client_t *self, char **json);

//  Prove a publisher's path: send probes on pub (a libzmq PUB or XPUB
//  handle connected to the hub's frontend, named frontend in messages)
//  until the hub says one arrived. From then on, every message sent on
//  pub before the probe has reached the hub, and no later one is dropped
//  for want of a subscription. Returns 0, or -1 after logging why.
int client_prove_publisher (client_t *self, void *pub, const char *frontend);

//  Prove a subscriber is counted: subscribe sub (a libzmq SUB handle,
//  already subscribed to its topics) to probe topics until the hub has
//  read them, after the subscriptions made before. Returns 0, or -1 after
//  logging why.
int client_prove_subscriber (client_t *self, void *sub);

//  The exit code for a role whose call failed: the signal's, 70 when the
//  fault was the client's own (a poll that failed), else 69 (the hub is
//  unavailable). self may be NULL (it could not be made).
int client_exit_code (client_t *self);

//  Self test.
void client_test (bool verbose);

#endif
