/*  rawpeer.c - herald_rawpeer, a test tool: a ZMTP 3.1 peer written by hand
    on a plain TCP socket, not with libzmq, to send what no libzmq socket
    would (libzmq's own subscription trie cannot even hold a subscription
    of 120 kB).

    usage: herald_rawpeer PORT [--hold] FRAME...
      Connects to 127.0.0.1:PORT, says it is a SUB (NULL mechanism), reads
      the hub's greeting and READY, then sends each FRAME:
        +SIZE     a SUBSCRIBE command for SIZE bytes of 'a', as libzmq
                  4.3's SUB sends one; -SIZE: its CANCEL
        +:TOPIC   a SUBSCRIBE command for TOPIC; -:TOPIC: its CANCEL
        1:TOPIC   a message of byte 1 then TOPIC, ZMTP 3.0's subscribe,
                  which libzmq takes on 3.1 too; 0:TOPIC: its unsubscribe
      Then it waits for the hub to hang up: exit 0 when it
      does (during the frames or after them), 2 if it has not after 10 s.
      With --hold, it prints "sent" once the frames are sent and keeps the
      connection, answering the hub's heartbeats, until it is killed; 1 if
      the hub hangs up, before or after. Exit 69 if nothing answers at
      PORT, 1 if the handshake fails. */

#include <arpa/inet.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define GREETING_SIZE 64
#define WAIT_MS       10000

static int
s_send_all (int fd, const void *data, size_t size)
{
    const uint8_t *bytes = data;
    while (size) {
        ssize_t sent = send (fd, bytes, size, MSG_NOSIGNAL);
        if (sent <= 0)
            return -1;
        bytes += sent;
        size -= (size_t) sent;
    }
    return 0;
}

//  Read exactly size bytes; -1 if the peer hangs up first.
static int
s_read_all (int fd, void *data, size_t size)
{
    uint8_t *bytes = data;
    while (size) {
        ssize_t got = recv (fd, bytes, size, 0);
        if (got <= 0)
            return -1;
        bytes += got;
        size -= (size_t) got;
    }
    return 0;
}

//  Read one frame of the hub's (flags, size, body), and drop it.
static int
s_skip_frame (int fd)
{
    uint8_t flags, length[8];
    uint64_t size = 0;
    if (s_read_all (fd, &flags, 1))
        return -1;
    int bytes = flags & 0x02 ? 8 : 1;
    if (s_read_all (fd, length, (size_t) bytes))
        return -1;
    for (int index = 0; index < bytes; index++)
        size = size << 8 | length[index];
    char sink[256];
    while (size) {
        size_t chunk = size < sizeof sink ? (size_t) size : sizeof sink;
        if (s_read_all (fd, sink, chunk))
            return -1;
        size -= chunk;
    }
    return 0;
}

//  One long frame: a command when command, else a message (flags 0x06 or
//  0x02), of head then body.
static int
s_send_frame (int fd, bool command, const void *head, size_t head_size, const void *body,
              size_t body_size)
{
    uint8_t prefix[9] = {command ? 0x06 : 0x02};
    uint64_t length = (uint64_t) (head_size + body_size);
    for (int index = 0; index < 8; index++)
        prefix[1 + index] = (uint8_t) (length >> (8 * (7 - index)));
    if (s_send_all (fd, prefix, sizeof prefix) || s_send_all (fd, head, head_size))
        return -1;
    return s_send_all (fd, body, body_size);
}

//  True if FRAME has one of the forms in the usage above.
static bool
s_known (const char *frame)
{
    if ((frame[0] == '0' || frame[0] == '1') && frame[1] == ':')
        return true;
    if (frame[0] != '+' && frame[0] != '-')
        return false;
    if (frame[1] == ':')
        return true;
    return frame[1] && strspn (frame + 1, "0123456789") == strlen (frame + 1);
}

//  One subscription, as FRAME (a known form) says; -1 if the hub hung up.
static int
s_send_subscription (int fd, const char *frame)
{
    bool subscribe = frame[0] == '+' || frame[0] == '1';
    //  The name's size, then the name (octal: a hex escape would take the C)
    const char *command = subscribe ? "\011SUBSCRIBE" : "\006CANCEL";
    size_t command_size = subscribe ? 10 : 7;
    if (frame[0] == '0' || frame[0] == '1')
        return s_send_frame (fd, false, subscribe ? "\x01" : "\x00", 1, frame + 2,
                             strlen (frame + 2));
    if (frame[1] == ':')
        return s_send_frame (fd, true, command, command_size, frame + 2, strlen (frame + 2));
    size_t size = (size_t) atol (frame + 1);
    char *topic = malloc (size ? size : 1);
    if (!topic)
        return -1;
    memset (topic, 'a', size);
    int rc = s_send_frame (fd, true, command, command_size, topic, size);
    free (topic);
    return rc;
}

//  --hold: read what the hub sends, and answer each PING command with a
//  PONG carrying its context, so that a hub that drops silent peers keeps
//  this one. Returns when the hub hangs up.
static void
s_hold (int fd)
{
    uint8_t flags, length[8], body[64];
    while (s_read_all (fd, &flags, 1) == 0) {
        int bytes = flags & 0x02 ? 8 : 1;
        uint64_t size = 0;
        if (s_read_all (fd, length, (size_t) bytes))
            return;
        for (int index = 0; index < bytes; index++)
            size = size << 8 | length[index];
        if (!(flags & 0x04) || size > sizeof body) {
            while (size) {  //  an event, or a long command: dropped
                size_t chunk = size < sizeof body ? (size_t) size : sizeof body;
                if (s_read_all (fd, body, chunk))
                    return;
                size -= chunk;
            }
            continue;
        }
        if (s_read_all (fd, body, (size_t) size))
            return;
        //  PING: name, a 2-byte TTL, then the context that PONG returns.
        if (size >= 7 && memcmp (body, "\x04PING", 5) == 0) {
            uint8_t pong[2 + 5 + sizeof body] = {0x04, (uint8_t) (size - 2), 0x04, 'P', 'O', 'N',
                                                 'G'};
            memcpy (pong + 7, body + 7, (size_t) size - 7);
            if (s_send_all (fd, pong, (size_t) size))
                return;
        }
    }
}

int
main (int argc, char *argv[])
{
    if (argc < 3) {
        fprintf (stderr, "usage: herald_rawpeer PORT [--hold] FRAME...\n");
        return 64;
    }
    for (int index = 2; index < argc; index++)
        if (strcmp (argv[index], "--hold") && !s_known (argv[index])) {
            fprintf (stderr, "herald_rawpeer: a frame of no known form: '%s'\n", argv[index]);
            return 64;
        }
    int fd = socket (AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in address = {.sin_family = AF_INET,
                                  .sin_port = htons ((uint16_t) atoi (argv[1]))};
    inet_pton (AF_INET, "127.0.0.1", &address.sin_addr);
    if (fd == -1 || connect (fd, (struct sockaddr *) &address, sizeof address)) {
        perror ("herald_rawpeer: connect");
        return 69;
    }
    //  Greeting: signature, version 3.1, mechanism NULL, not a server.
    uint8_t greeting[GREETING_SIZE] = {0xff, 0,    0, 0, 0,   0,   0,   0,
                                       0,    0x7f, 3, 1, 'N', 'U', 'L', 'L'};
    static const uint8_t ready[] = "\x04\x19\x05READY\x0bSocket-Type\x00\x00\x00\x03SUB";
    uint8_t theirs[GREETING_SIZE];
    if (s_send_all (fd, greeting, sizeof greeting) || s_read_all (fd, theirs, sizeof theirs)
        || s_send_all (fd, ready, sizeof ready - 1) || s_skip_frame (fd)) {
        fprintf (stderr, "herald_rawpeer: the handshake failed\n");
        return 1;
    }
    bool hold = false;
    for (int index = 2; index < argc; index++) {
        if (strcmp (argv[index], "--hold") == 0) {
            hold = true;
            continue;
        }
        if (s_send_subscription (fd, argv[index])) {
            if (!hold)
                return 0;  //  hung up while we sent: what we wait for
            fprintf (stderr, "herald_rawpeer: the hub hung up before frame %d\n", index - 1);
            return 1;
        }
    }
    if (hold) {
        printf ("sent\n");
        fflush (stdout);
        s_hold (fd);
        fprintf (stderr, "herald_rawpeer: the hub hung up after the frames\n");
        return 1;
    }
    //  Wait for the hub to hang up: read and drop what it sends meanwhile.
    struct pollfd item = {fd, POLLIN, 0};
    char sink[256];
    while (poll (&item, 1, WAIT_MS) == 1)
        if (recv (fd, sink, sizeof sink, 0) <= 0) {
            close (fd);
            return 0;
        }
    fprintf (stderr, "herald_rawpeer: the hub has not hung up after %d ms\n", WAIT_MS);
    return 2;
}
