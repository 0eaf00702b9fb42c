/*  bench_backend.c - what the backends (bench_zmq.c, bench_redis.c,
    bench_nats.c) share: their state's life, and the thread that reads
    their subscribers; see bench.h. */

#include "bench.h"

#include <stdlib.h>

int
backend_open (const backend_t *backend, run_t *run)
{
    run->state = backend_calloc (run, 1, backend->state_size);
    if (!run->state)
        return -1;
    return backend->open (run);
}

void
backend_close (const backend_t *backend, run_t *run)
{
    if (!run->state)
        return;
    //  The reader stops first: close () may then free what it reads.
    if (run->reader_started) {
        atomic_store (&run->stopping, true);
        pthread_join (run->reader, NULL);
        run->reader_started = false;
    }
    backend->close (run);
    free (run->state);
    run->state = NULL;
}

int
backend_start_reader (run_t *run, void *(*reader) (void *), void *argument)
{
    if (pthread_create (&run->reader, NULL, reader, argument)) {
        run_fail (run, "cannot start the subscribers' thread");
        return -1;
    }
    run->reader_started = true;
    return 0;
}

void *
backend_calloc (run_t *run, size_t count, size_t size)
{
    void *items = calloc (count, size);
    if (!items)
        run_fail (run, "out of memory");
    return items;
}
