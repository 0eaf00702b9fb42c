/*  ctl.c - herald_ctl, a test tool: send any request, well-formed or not,
    to a hub's control endpoint and print the reply, one frame a line.

    usage: herald_ctl ENDPOINT [--dealer] [--timeout MS] [--big N] FRAME...
      --dealer    send as a DEALER, without the empty delimiter frame
      --big N     append a frame of N bytes
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
    zmsg_t *request = zmsg_new ();
    for (int index = 2; index < argc; index++) {
        if (streq (argv[index], "--dealer"))
            dealer = true;
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
    return rc;
}
