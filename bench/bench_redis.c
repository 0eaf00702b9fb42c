/*  bench_redis.c - the Redis pub/sub clients, on hiredis.

    The driver starts redis-server with no persistence and no output limit
    for pub/sub clients (nothing is dropped or disconnected, as with the
    ZeroMQ systems' large queues). Each subscriber is one connection that
    SUBSCRIBEs to the event channel; they are read in one thread. The
    publisher pipelines PUBLISH commands on one non-blocking connection,
    with at most WINDOW replies outstanding. Each message is the same 119
    bytes (0x00, header, payload) that follow the topic in the ZeroMQ
    systems' one frame.

    A subscriber is ready once its SUBSCRIBE is confirmed: Redis handles
    commands one at a time, so every later PUBLISH reaches it. The publisher
    proves its path with a PING. */

#include "bench.h"

#include <errno.h>
#include <hiredis/hiredis.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

//  PUBLISH replies the publisher may wait for at once, and how often (in
//  commands) it writes and reads when it is not waiting.
#define WINDOW     4096
#define PUMP_EVERY 32

typedef struct {
    run_t *run;
    redisContext *pub;
    redisContext **subs;
    struct pollfd *items;
    bool *subscribed;
    uint64_t outstanding;  //  commands sent whose reply has not come
    bool unwritten;        //  the publisher's buffer holds commands
    uint64_t published;
    char command[64 + BENCH_MESSAGE_MAX];
    size_t prefix_size;
} rstate_t;

//  Handle one reply on subscriber index.
static void
s_take (rstate_t *self, int index, redisReply *reply)
{
    sink_t *sink = &self->run->sink;
    if (reply->type == REDIS_REPLY_ARRAY && reply->elements == 3
        && reply->element[0]->type == REDIS_REPLY_STRING) {
        const char *kind = reply->element[0]->str;
        if (strcmp (kind, "message") == 0) {
            sink_deliver (sink, index, reply->element[2]->str, reply->element[2]->len);
            return;
        }
        if (strcmp (kind, "subscribe") == 0 && !self->subscribed[index]) {
            self->subscribed[index] = true;
            sink_set_ready (sink, index);
            return;
        }
    }
    atomic_fetch_add (&sink->disorder, 1);
}

static void *
s_subscribers (void *argument)
{
    rstate_t *self = argument;
    int count = self->run->subscribers;
    while (!atomic_load (&self->run->stopping)) {
        int rc = poll (self->items, (nfds_t) count, 100);
        if (rc == -1 && errno != EINTR)
            break;
        for (int index = 0; index < count && rc > 0; index++) {
            if (!(self->items[index].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            redisContext *context = self->subs[index];
            if (redisBufferRead (context) != REDIS_OK) {
                run_fail (self->run, "Redis subscriber %d: %s", index, context->errstr);
                self->items[index].fd = -1;
                sink_set_failed (&self->run->sink, index);
                continue;
            }
            void *reply;
            while (redisGetReplyFromReader (context, &reply) == REDIS_OK && reply) {
                s_take (self, index, reply);
                freeReplyObject (reply);
            }
        }
    }
    return NULL;
}

//  Write what the publisher has buffered and read the replies that came;
//  with block, wait up to BENCH_IDLE_MS for either. Returns 0 or -1.
static int
s_pump (rstate_t *self, bool block)
{
    redisContext *context = self->pub;
    struct pollfd item = {context->fd, (short) (POLLIN | (self->unwritten ? POLLOUT : 0)), 0};
    int rc = poll (&item, 1, block ? BENCH_IDLE_MS : 0);
    if (rc == -1 && errno != EINTR) {
        run_fail (self->run, "Redis publisher: poll: %s", strerror (errno));
        return -1;
    }
    if (block && rc == 0) {
        run_fail (self->run, "Redis publisher: no progress in %d ms", BENCH_IDLE_MS);
        return -1;
    }
    if (item.revents & POLLOUT) {
        int done = 0;
        if (redisBufferWrite (context, &done) != REDIS_OK)
            goto failed;
        self->unwritten = !done;
    }
    if (item.revents & (POLLIN | POLLHUP | POLLERR)) {
        if (redisBufferRead (context) != REDIS_OK)
            goto failed;
        void *reply;
        while (redisGetReplyFromReader (context, &reply) == REDIS_OK && reply) {
            bool error = ((redisReply *) reply)->type == REDIS_REPLY_ERROR;
            freeReplyObject (reply);
            if (error) {
                run_fail (self->run, "Redis refused a PUBLISH");
                return -1;
            }
            self->outstanding--;
        }
    }
    return 0;
failed:
    run_fail (self->run, "Redis publisher: %s", context->errstr);
    return -1;
}

//  Connect without blocking, then wait until the connection is up.
static redisContext *
s_connect_publisher (rstate_t *self)
{
    redisContext *context = redisConnectNonBlock ("127.0.0.1", self->run->port);
    if (!context || context->err) {
        run_fail (self->run, "Redis publisher cannot connect: %s",
                  context ? context->errstr : "out of memory");
        if (context)
            redisFree (context);
        return NULL;
    }
    struct pollfd item = {context->fd, POLLOUT, 0};
    int error = 0;
    socklen_t size = sizeof error;
    if (poll (&item, 1, BENCH_READY_TIMEOUT_MS) != 1
        || getsockopt (context->fd, SOL_SOCKET, SO_ERROR, &error, &size) || error) {
        run_fail (self->run, "Redis publisher cannot connect: %s", strerror (error));
        redisFree (context);
        return NULL;
    }
    return context;
}

static int
s_open (run_t *run)
{
    rstate_t *self = run->state;
    self->run = run;
    int count = run->subscribers;
    self->subs = backend_calloc (run, (size_t) count, sizeof *self->subs);
    self->items = backend_calloc (run, (size_t) count, sizeof *self->items);
    self->subscribed = backend_calloc (run, (size_t) count, sizeof *self->subscribed);
    if (!self->subs || !self->items || !self->subscribed)
        return -1;
    for (int index = 0; index < count; index++) {
        redisContext *context = redisConnect ("127.0.0.1", run->port);
        self->subs[index] = context;
        if (!context || context->err) {
            run_fail (run, "Redis subscriber cannot connect: %s",
                      context ? context->errstr : "out of memory");
            return -1;
        }
        int done = 0;
        if (redisAppendCommand (context, "SUBSCRIBE %s", BENCH_TOPIC) != REDIS_OK)
            return -1;
        while (!done)
            if (redisBufferWrite (context, &done) != REDIS_OK) {
                run_fail (run, "Redis subscriber cannot subscribe: %s", context->errstr);
                return -1;
            }
        self->items[index] = (struct pollfd){context->fd, POLLIN, 0};
    }
    if (backend_start_reader (run, s_subscribers, self))
        return -1;

    self->pub = s_connect_publisher (self);
    if (!self->pub)
        return -1;
    //  The command is built once; each event only overwrites the body.
    self->prefix_size = (size_t) snprintf (self->command, sizeof self->command,
                                           "*3\r\n$7\r\nPUBLISH\r\n$%zu\r\n%s\r\n$",
                                           strlen (BENCH_TOPIC), BENCH_TOPIC);
    //  The path: one PING answered.
    if (redisAppendCommand (self->pub, "PING") != REDIS_OK) {
        run_fail (run, "Redis publisher cannot PING");
        return -1;
    }
    self->outstanding = 1;
    self->unwritten = true;
    while (self->outstanding)
        if (s_pump (self, true))
            return -1;
    if (!sink_wait_ready (&run->sink, count, BENCH_READY_TIMEOUT_MS)) {
        run_fail (run, "%d of %d Redis subscribers confirmed within %d ms",
                  atomic_load (&run->sink.ready), count, BENCH_READY_TIMEOUT_MS);
        return -1;
    }
    return 0;
}

static int
s_publish (run_t *run, const uint8_t *body, size_t size)
{
    rstate_t *self = run->state;
    int length = snprintf (self->command + self->prefix_size,
                           sizeof self->command - self->prefix_size, "%zu\r\n", size);
    size_t offset = self->prefix_size + (size_t) length;
    if (offset + size + 2 > sizeof self->command) {
        run_fail (run, "event too large");
        return -1;
    }
    memcpy (self->command + offset, body, size);
    memcpy (self->command + offset + size, "\r\n", 2);
    if (redisAppendFormattedCommand (self->pub, self->command, offset + size + 2) != REDIS_OK) {
        run_fail (run, "Redis publisher: out of memory");
        return -1;
    }
    self->outstanding++;
    self->unwritten = true;
    self->published++;
    //  In latency runs each event leaves at once; otherwise in batches.
    if (run->rate || self->published % PUMP_EVERY == 0)
        if (s_pump (self, false))
            return -1;
    while (self->outstanding >= WINDOW)
        if (s_pump (self, true))
            return -1;
    return 0;
}

static int
s_flush (run_t *run)
{
    rstate_t *self = run->state;
    while (self->unwritten || self->outstanding)
        if (s_pump (self, true))
            return -1;
    return 0;
}

static void
s_close (run_t *run)
{
    rstate_t *self = run->state;
    for (int index = 0; self->subs && index < run->subscribers; index++)
        if (self->subs[index])
            redisFree (self->subs[index]);
    if (self->pub)
        redisFree (self->pub);
    free (self->subs);
    free (self->items);
    free (self->subscribed);
}

const backend_t bench_redis_backend = {sizeof (rstate_t), s_open,  s_publish,
                                       s_flush,           s_close, NULL};
