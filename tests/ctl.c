/*  ctl.c - herald_ctl, a test tool: send any request, well-formed or not,
    to a hub's control endpoint and print the reply, one frame a line.

    usage: herald_ctl ENDPOINT [--dealer] [--timeout MS] [--big N] [--unread N] FRAME...
      --dealer    send as a DEALER, without the empty delimiter frame
      --big N     append a frame of N bytes
      --unread N  first send the request N times from a DEALER that never
                  reads a reply, and keep it connected meanwhile
    Exit 0 with a reply, 69 without one within the timeout (default 2000). */

#include <czmq.h>

int
main (int argc, char *argv[])
{
    if (argc < 2) {
        fprintf (stderr,
                 "usage: herald_ctl ENDPOINT [--dealer] [--timeout MS] [--big N] FRAME...\n");
        return 64;
    }
    bool dealer = false;
    int timeout = 2000;
    long unread = 0;
    zmsg_t *request = zmsg_new ();
    for (int index = 2; index < argc; index++) {
        if (streq (argv[index], "--dealer"))
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
