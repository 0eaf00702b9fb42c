/*  keygen.c - role: write a CURVE key pair in czmq's certificate format.

    FILE gets the public key (give it to the hub's --curve-allow folder, or
    to clients as --curve-server-key); FILE_secret gets the pair (this
    process's --curve-secret). */

#include "herald.h"
#include "log.h"
#include "roles.h"

#include <czmq.h>

int
keygen_main (const config_t *cfg)
{
    zcert_t *cert = zcert_new ();
    if (!cert) {
        log_error ("cannot make a key pair: %s", zmq_strerror (zmq_errno ()));
        return HERALD_EXIT_SOFTWARE;
    }
    zcert_set_meta (cert, "created-by", "herald %s", HERALD_VERSION);
    int rc = HERALD_EXIT_OK;
    if (zcert_save (cert, cfg->out) == 0)
        printf ("%s\nwrote %s and %s_secret\n", zcert_public_txt (cert), cfg->out, cfg->out);
    else {
        log_error ("cannot write %s and %s_secret: %s", cfg->out, cfg->out, strerror (errno));
        rc = HERALD_EXIT_CANTCREAT;
    }
    zcert_destroy (&cert);
    return rc;
}
