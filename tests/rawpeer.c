/*  rawpeer.c - herald_rawpeer, a test tool: a ZMTP 3.1 peer written by hand
    on a plain TCP socket, not with libzmq, to send what no libzmq socket
    would (libzmq's own subscription trie cannot even hold a subscription
    of 120 kB).

    usage: herald_rawpeer PORT [--hold] FRAME...
      Connects to 127.0.0.1:PORT, says it is a SUB (NULL mechanism), reads
      the hub's greeting and READY, then sends each FRAME: "+SIZE" is a
      SUBSCRIBE command for SIZE bytes of 'a', "-SIZE" its CANCEL, as
      libzmq 4.3's SUB sends them. Then it waits for the hub to hang up: exit 0 when it
      does (during the frames or after them), 2 if it has not after 10 s.
      With --hold, it prints "sent" once the frames are sent and keeps the
      connection until it is killed; 1 if the hub hung up before. Exit 69
      if nothing answers at PORT, 1 if the handshake fails. */

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

//  One command frame (long): SUBSCRIBE or CANCEL, then size bytes of 'a'.
static int
s_send_subscription (int fd, bool subscribe, size_t size)
{
    const char *name = subscribe ? "SUBSCRIBE" : "CANCEL";
    size_t name_size = strlen (name);
    uint8_t head[9 + 1 + 9] = {0x06};
    uint64_t length = (uint64_t) (1 + name_size + size);
    for (int index = 0; index < 8; index++)
        head[1 + index] = (uint8_t) (length >> (8 * (7 - index)));
    head[9] = (uint8_t) name_size;
    memcpy (head + 10, name, name_size);
    char *topic = malloc (size ? size : 1);
    if (!topic)
        return -1;
    memset (topic, 'a', size);
    int rc = s_send_all (fd, head, 10 + name_size) || s_send_all (fd, topic, size) ? -1 : 0;
    free (topic);
    return rc;
}

int
main (int argc, char *argv[])
{
    if (argc < 3) {
        fprintf (stderr, "usage: herald_rawpeer PORT [--hold] FRAME...\n");
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
        bool subscribe = argv[index][0] == '+';
        if (s_send_subscription (fd, subscribe, (size_t) atol (argv[index] + 1))) {
            if (!hold)
                return 0;  //  hung up while we sent: what we wait for
            fprintf (stderr, "herald_rawpeer: the hub hung up before frame %d\n", index - 1);
            return 1;
        }
    }
    if (hold) {
        printf ("sent\n");
        fflush (stdout);
        while (true)
            pause ();  //  until killed
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
