/*  ctl.c - herald_ctl, a test tool: send any request, well-formed or not,
    to a hub's control endpoint and print the reply, one frame a line; or
    publish any message, well-formed or not, to the hub's frontend.

    usage: herald_ctl ENDPOINT [--dealer] [--timeout MS] [--big N] [--unread N] FRAME...
           herald_ctl ENDPOINT [--timeout MS] --publish FRONTEND FRAME...
      --dealer    send as a DEALER, without the empty delimiter frame
      --big N     append a frame of N bytes
      --unread N  first send the request N times from a DEALER that never
                  reads a reply, and keep it connected meanwhile
      --publish   send the frames as messages to FRONTEND ("--then" starts
                  the next message; \xHH in a frame is that byte), then
                  prove with a probe, as a publisher does, that the hub has
                  taken all of them; print OK
    Exit 0 with a reply, 69 without one within the timeout (default 2000). */

#include "client.h"
#include "herald.h"

#include <ctype.h>
#include <czmq.h>

//  A frame from an argument: \xHH is that byte.
static zframe_t *
s_frame (const char *text)
{
    size_t length = strlen (text), size = 0;
    char *bytes = malloc (length + 1);
    for (size_t index = 0; index < length; index++) {
        if (text[index] == '\\' && text[index + 1] == 'x'
            && isxdigit ((unsigned char) text[index + 2])
            && isxdigit ((unsigned char) text[index + 3])) {
            char hex[3] = {text[index + 2], text[index + 3], 0};
            bytes[size++] = (char) strtol (hex, NULL, 16);
            index += 3;
        } else
            bytes[size++] = text[index];
    }
    zframe_t *frame = zframe_new (bytes, size);
    free (bytes);
    return frame;
}

//  --publish: the messages, then probes until the hub says one arrived
//  (client.c). Messages on one connection arrive in order, so by then the
//  hub has taken every message sent before the probe.
static int
s_publish (const char *control, const char *frontend, int timeout, int count, char *frames[])
{
    zsock_t *pub = zsock_new (ZMQ_XPUB);
    if (!pub || zsock_connect (pub, "%s", frontend)) {
        fprintf (stderr, "herald_ctl: cannot connect to %s\n", frontend);
        zsock_destroy (&pub);
        return 64;
    }
    //  Once the hub's subscription has arrived, nothing is dropped.
    zsock_set_rcvtimeo (pub, timeout);
    zframe_t *subscription = zframe_recv (pub);
    bool subscribed = subscription != NULL;
    zframe_destroy (&subscription);
    zmsg_t *message = zmsg_new ();
    for (int index = 0; index <= count && subscribed; index++) {
        if (index == count || streq (frames[index], "--then")) {
            zmsg_send (&message, pub);
            message = zmsg_new ();
        } else
            zmsg_append (message, &(zframe_t *){s_frame (frames[index])});
    }
    zmsg_destroy (&message);

    //  The hub has taken every message once a probe sent after them arrives.
    client_t *client =
        subscribed ? client_new (control, &(sock_curve_t){0}, (uint64_t) timeout) : NULL;
    bool proven = client && client_prove_publisher (client, zsock_resolve (pub), frontend) == 0;
    client_destroy (&client);
    if (proven)
        printf ("OK\n");
    else if (!subscribed)
        fprintf (stderr, "herald_ctl: no subscription from the hub within %d ms\n", timeout);
    zsock_destroy (&pub);
    return proven ? 0 : 69;
}

int
main (int argc, char *argv[])
{
    if (argc < 2) {
        fprintf (stderr,
                 "usage: herald_ctl ENDPOINT [--dealer] [--timeout MS] [--big N] [--unread N] "
                 "FRAME... | --publish FRONTEND FRAME...\n");
        return 64;
    }
    bool dealer = false;
    int timeout = 2000;
    long unread = 0;
    zmsg_t *request = zmsg_new ();
    for (int index = 2; index < argc; index++) {
        if (streq (argv[index], "--publish") && index + 1 < argc) {
            zmsg_destroy (&request);
            return s_publish (argv[1], argv[index + 1], timeout, argc - index - 2,
                              argv + index + 2);
        } else if (streq (argv[index], "--dealer"))
            dealer = true;
        else if (streq (argv[index], "--unread") && index + 1 < argc)
            unread = atol (argv[++index]);
        else if (streq (argv[index], "--timeout") && index + 1 < argc)
            timeout = atoi (argv[++index]);
        else if (streq (argv[index], "--big") && index + 1 < argc) {
            size_t size = (size_t) atol (argv[++index]);
            char *big = malloc (size);
            memset (big, 'x', size);
            zmsg_addmem (request, big, size);
            free (big);
        } else
            zmsg_addstr (request, argv[index]);
    }
    //  A client that never reads: the hub must drop its replies, not block
    //  or grow, and go on answering everyone else.
    zsock_t *deaf = unread ? zsock_new (ZMQ_DEALER) : NULL;
    if (deaf) {  //  every request reaches the hub, even after our answer
        zsock_set_sndtimeo (deaf, timeout);
        zsock_set_linger (deaf, timeout);
    }
    if (deaf && zsock_connect (deaf, "%s", argv[1]) == 0) {
        for (long count = 0; count < unread; count++) {
            zmsg_t *copy = zmsg_dup (request);
            zmsg_pushmem (copy, NULL, 0);
            if (zmsg_send (&copy, deaf)) {
                fprintf (stderr, "herald_ctl: could not send request %ld\n", count + 1);
                zmsg_destroy (&copy);
                break;
            }
        }
    }
    zsock_t *client = zsock_new (dealer ? ZMQ_DEALER : ZMQ_REQ);
    if (!client || zsock_connect (client, "%s", argv[1])) {
        fprintf (stderr, "herald_ctl: cannot connect to %s\n", argv[1]);
        zmsg_destroy (&request);
        zsock_destroy (&client);
        return 64;
    }
    zsock_set_rcvtimeo (client, timeout);
    int rc = 69;
    if (zmsg_size (request) == 0 && dealer)
        zmsg_addmem (request, NULL, 0);
    if (zmsg_send (&request, client) == 0) {
        zmsg_t *reply = zmsg_recv (client);
        if (reply) {
            for (char *frame = zmsg_popstr (reply); frame; frame = zmsg_popstr (reply)) {
                printf ("%s\n", frame);
                free (frame);
            }
            zmsg_destroy (&reply);
            rc = 0;
        } else
            fprintf (stderr, "herald_ctl: no reply from %s within %d ms\n", argv[1], timeout);
    }
    zmsg_destroy (&request);
    zsock_destroy (&client);
    zsock_destroy (&deaf);
    return rc;
}
