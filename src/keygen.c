/*  keygen.c - role: write a CURVE key pair in czmq's certificate format.

    FILE gets the public key (give it to the hub's --curve-allow folder, or
    to clients as --curve-server-key); FILE_secret gets the pair (this
    process's --curve-secret), readable by its owner only. A key pair that
    is there already is never replaced without --force: a hub's secret key,
    overwritten by mistake, locks out every client. */

#include "herald.h"
#include "log.h"
#include "roles.h"

#include <czmq.h>

//  Remove path if it is there. Returns 0, or -1 with errno.
static int
s_remove (const char *path)
{
    return unlink (path) == 0 || errno == ENOENT ? 0 : -1;
}

int
keygen_main (const config_t *cfg)
{
    char secret[CONFIG_TEXT_MAX + 8];
    snprintf (secret, sizeof secret, "%s_secret", cfg->out);
    const char *existing = zsys_file_exists (cfg->out) ? cfg->out
                           : zsys_file_exists (secret) ? secret
                                                       : NULL;
    if (existing && !cfg->force) {
        log_error ("%s exists: not replacing a key pair (--force does)", existing);
        return HERALD_EXIT_CANTCREAT;
    }
    //  --force: make the files anew, so that the secret one gets its
    //  owner-only mode whatever the old one had.
    if (existing && (s_remove (cfg->out) || s_remove (secret))) {
        log_error ("cannot replace %s and %s: %s", cfg->out, secret, strerror (errno));
        return HERALD_EXIT_CANTCREAT;
    }
    zcert_t *cert = zcert_new ();
    if (!cert) {
        log_error ("cannot make a key pair: %s", zmq_strerror (zmq_errno ()));
        return HERALD_EXIT_SOFTWARE;
    }
    zcert_set_meta (cert, "created-by", "herald %s", HERALD_VERSION);
    int rc = HERALD_EXIT_OK;
    if (zcert_save (cert, cfg->out) == 0)
        printf ("public key: %s\nwrote %s (the public key) and %s (the key pair, owner only)\n",
                zcert_public_txt (cert), cfg->out, secret);
    else {
        log_error ("cannot write %s and %s: %s", cfg->out, secret, strerror (errno));
        rc = HERALD_EXIT_CANTCREAT;
    }
    zcert_destroy (&cert);
    return rc;
}
