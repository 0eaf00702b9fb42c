/*  bench_nats.c - the NATS core clients, on libnats.

    The driver starts nats-server with a large per-client pending limit and
    write deadline, so that a subscriber that falls behind is not cut off.
    Each subscriber is one connection with one subscription whose pending
    limits are off (nothing is dropped in the library either); their
    messages are delivered by libnats' shared delivery thread, the way the
    ZeroMQ subscribers share one thread. The publisher publishes on its own
    connection, buffered for throughput, sent at once for latency. Each
    message is the same 119 bytes (0x00, header, payload) that follow the
    topic in the ZeroMQ systems' one frame.

    A subscriber is ready once its connection's flush has returned: the
    server has processed its SUB. The publisher's flush proves its path. */

#include "bench.h"

#include <nats/nats.h>
#include <stdlib.h>
#include <string.h>

typedef struct nstate_s nstate_t;

typedef struct {
    nstate_t *state;
    int index;
} closure_t;

struct nstate_s {
    run_t *run;
    natsOptions *options;
    natsConnection *pub;
    natsConnection **connections;
    natsSubscription **subscriptions;
    closure_t *closures;
    _Atomic int async_errors;
    _Atomic int last_error;
};

static void
s_on_message (natsConnection *connection, natsSubscription *subscription, natsMsg *message,
              void *argument)
{
    (void) connection;
    (void) subscription;
    closure_t *closure = argument;
    sink_deliver (&closure->state->run->sink, closure->index, natsMsg_GetData (message),
                  (size_t) natsMsg_GetDataLength (message));
    natsMsg_Destroy (message);
}

//  Slow consumers and other asynchronous errors: counted, reported at close.
static void
s_on_error (natsConnection *connection, natsSubscription *subscription, natsStatus status,
            void *argument)
{
    (void) connection;
    (void) subscription;
    nstate_t *self = argument;
    atomic_fetch_add (&self->async_errors, 1);
    atomic_store (&self->last_error, (int) status);
}

static int
s_check (run_t *run, natsStatus status, const char *what)
{
    if (status == NATS_OK)
        return 0;
    run_fail (run, "NATS: %s: %s", what, natsStatus_GetText (status));
    return -1;
}

static int
s_open (run_t *run)
{
    nstate_t *self = run->state;
    self->run = run;
    int count = run->subscribers;
    self->connections = backend_calloc (run, (size_t) count, sizeof *self->connections);
    self->subscriptions = backend_calloc (run, (size_t) count, sizeof *self->subscriptions);
    self->closures = backend_calloc (run, (size_t) count, sizeof *self->closures);
    if (!self->connections || !self->subscriptions || !self->closures)
        return -1;
    char url[64];
    snprintf (url, sizeof url, "nats://127.0.0.1:%d", run->port);
    if (s_check (run, nats_Open (-1), "cannot open the library")
        || s_check (run, natsOptions_Create (&self->options), "options")
        || s_check (run, natsOptions_SetURL (self->options, url), "URL")
        || s_check (run, natsOptions_SetAllowReconnect (self->options, false), "reconnect")
        || s_check (run, natsOptions_SetErrorHandler (self->options, s_on_error, self),
                    "error handler")
        || s_check (run, natsOptions_UseGlobalMessageDelivery (self->options, true),
                    "global delivery"))
        return -1;
    for (int index = 0; index < count; index++) {
        self->closures[index] = (closure_t){self, index};
        if (s_check (run, natsConnection_Connect (&self->connections[index], self->options),
                     "subscriber cannot connect")
            || s_check (run,
                        natsConnection_Subscribe (&self->subscriptions[index],
                                                  self->connections[index], BENCH_TOPIC,
                                                  s_on_message, &self->closures[index]),
                        "cannot subscribe")
            || s_check (run, natsSubscription_SetPendingLimits (self->subscriptions[index], -1, -1),
                        "pending limits"))
            return -1;
    }
    //  Flush each only after all have subscribed: the round trips overlap.
    for (int index = 0; index < count; index++)
        if (s_check (run,
                     natsConnection_FlushTimeout (self->connections[index], BENCH_READY_TIMEOUT_MS),
                     "subscriber's flush"))
            return -1;
    //  The publisher: buffered for throughput, each message at once for
    //  latency.
    if (s_check (run, natsOptions_UseGlobalMessageDelivery (self->options, false), "delivery")
        || s_check (run, natsOptions_SetSendAsap (self->options, run->rate > 0), "send asap")
        || s_check (run, natsConnection_Connect (&self->pub, self->options),
                    "publisher cannot connect")
        || s_check (run, natsConnection_FlushTimeout (self->pub, BENCH_READY_TIMEOUT_MS),
                    "publisher's flush"))
        return -1;
    return 0;
}

static int
s_publish (run_t *run, const uint8_t *body, size_t size)
{
    nstate_t *self = run->state;
    return s_check (run, natsConnection_Publish (self->pub, BENCH_TOPIC, body, (int) size),
                    "publish");
}

static int
s_flush (run_t *run)
{
    nstate_t *self = run->state;
    return s_check (run, natsConnection_FlushTimeout (self->pub, 60000), "publisher's flush");
}

static void
s_close (run_t *run)
{
    nstate_t *self = run->state;
    if (atomic_load (&self->async_errors))
        run_fail (run, "NATS reported %d asynchronous errors, the last: %s",
                  atomic_load (&self->async_errors),
                  natsStatus_GetText ((natsStatus) atomic_load (&self->last_error)));
    //  Drain first: once drained, no callback is running or will run, and
    //  the closures and the sink may go.
    for (int index = 0; self->subscriptions && index < run->subscribers; index++)
        if (self->subscriptions[index]
            && natsSubscription_DrainTimeout (self->subscriptions[index], BENCH_IDLE_MS) == NATS_OK)
            natsSubscription_WaitForDrainCompletion (self->subscriptions[index], BENCH_IDLE_MS);
    for (int index = 0; self->subscriptions && index < run->subscribers; index++)
        if (self->subscriptions[index])
            natsSubscription_Destroy (self->subscriptions[index]);
    for (int index = 0; self->connections && index < run->subscribers; index++)
        if (self->connections[index])
            natsConnection_Destroy (self->connections[index]);
    if (self->pub)
        natsConnection_Destroy (self->pub);
    if (self->options)
        natsOptions_Destroy (self->options);
    free (self->connections);
    free (self->subscriptions);
    free (self->closures);
}

const backend_t bench_nats_backend = {sizeof (nstate_t), s_open, s_publish, s_flush, s_close, NULL};
