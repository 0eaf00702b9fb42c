/*  config.h - one role's settings: defaults <- environment <- argv.

    Every option --some-name can also be given as HERALD_SOME_NAME; the
    command line wins. Values are validated once, here, so the roles can
    trust what they are given. */

#ifndef HERALD_CONFIG_H_INCLUDED
#define HERALD_CONFIG_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define CONFIG_TEXT_MAX 256
#define CONFIG_LIST_MAX 64  //  values of an option that may be given several times

//  An option given several times: its values, pointing into argv or the
//  environment, which outlive the run. Values on the command line replace
//  those from the environment.
typedef struct {
    const char *items[CONFIG_LIST_MAX];
    size_t count;
    bool from_argv;
} config_list_t;

typedef enum {
    ROLE_NONE = 0,
    ROLE_HUB = 1 << 0,
    ROLE_PUB = 1 << 1,
    ROLE_SUB = 1 << 2,
    ROLE_DEMO = 1 << 3,
    ROLE_STATS = 1 << 4,
    ROLE_KEYGEN = 1 << 5,
} role_t;

typedef struct {
    role_t role;
    char program[CONFIG_TEXT_MAX];   //  how this binary was started: argv[0]
    char frontend[CONFIG_TEXT_MAX];  //  hub binds it, publishers connect
    char backend[CONFIG_TEXT_MAX];   //  hub binds it, subscribers connect
    char control[CONFIG_TEXT_MAX];   //  hub binds it, clients connect
    char topic[CONFIG_TEXT_MAX];     //  the first --topic
    bool topic_given;
    config_list_t topics;         //  sub: every --topic
    char format[16];              //  pub: herald|multipart|frame; sub: story|text|json|raw
    config_list_t messages;       //  pub: --message, each an event
    uint64_t repeat;              //  pub: send the messages this many times
    char file[CONFIG_TEXT_MAX];   //  pub: a file, one event ("-": standard input)
    char lines[CONFIG_TEXT_MAX];  //  pub: a file, an event per line ("-": standard input)
    bool terminate_given;         //  pub: --terminate or --no-terminate was given
    bool count_given, interval_given;
    bool ignore_terminate;  //  sub: TERMINATE does not end it
    char name[CONFIG_TEXT_MAX];
    char curve_secret[CONFIG_TEXT_MAX];            //  our key pair, czmq certificate
    char curve_server_key[CONFIG_TEXT_MAX];        //  a client: the hub's public certificate
    char curve_allow[CONFIG_TEXT_MAX];             //  the hub: folder of keys let in everywhere
    char curve_allow_publish[CONFIG_TEXT_MAX];     //  ... on the frontend
    char curve_allow_subscribe[CONFIG_TEXT_MAX];   //  ... on the backend
    char curve_allow_control[CONFIG_TEXT_MAX];     //  ... on the control port
    char curve_allow_terminate[CONFIG_TEXT_MAX];   //  keys that may publish TERMINATE
    char curve_allow_federation[CONFIG_TEXT_MAX];  //  ... on the federation port: hubs below
    char curve_upstream_key[CONFIG_TEXT_MAX];      //  the hub: its upstream's public key
    char federation[CONFIG_TEXT_MAX];              //  hub binds it, hubs below connect
    char upstream[CONFIG_TEXT_MAX];                //  hub: the hub above, "" for none
    char out[CONFIG_TEXT_MAX];                     //  keygen: where to write the key pair
    uint64_t events;
    uint64_t interval_ms;
    uint64_t size;  //  publisher: pad payloads with zero bytes to this size
    uint64_t wait_subscribers;
    uint64_t wait_timeout_ms;
    uint64_t max_messages;  //  0: read until TERMINATE
    uint64_t ready_delay_ms;
    uint64_t idle_timeout_ms;
    uint64_t delay_ms;  //  subscriber: wait after each event (a slow consumer)
    uint64_t subscribers;
    uint64_t seed;
    bool seed_given;
    uint64_t hwm;
    uint64_t drain_timeout_ms;
    uint64_t max_message_size;   //  hub: largest frame accepted, bytes
    uint64_t max_topic_size;     //  hub: longest subscription accepted, bytes
    uint64_t max_subscriptions;  //  hub: most subscriptions of one subscriber, 0: no limit
    uint64_t heartbeat_ms;       //  hub: ZMTP ping interval to subscribers, 0: none
    uint64_t expect;
    bool expect_given;
    bool count;              //  publisher: ask and print the count before each event
    bool terminate;          //  publisher ends with TERMINATE
    bool exit_on_terminate;  //  hub exits once TERMINATE has passed
    bool drop_slow;          //  hub: a full subscriber queue drops, rather than waits
    bool force;              //  keygen: replace a key pair that is there
    bool verbose;
} config_t;

typedef enum {
    CONFIG_RUN,      //  settings valid: run the role
    CONFIG_HELP,     //  --help was asked for
    CONFIG_VERSION,  //  --version was asked for
    CONFIG_BAD       //  error holds a one-line reason
} config_result_t;

//  Fill cfg from argv (argv[1] is the role) and the environment. On
//  CONFIG_BAD, error holds one line naming the option or variable at fault.
config_result_t config_load (config_t *cfg, int argc, char *const *argv, char *error,
                             size_t error_size);

//  Print usage for a role (ROLE_NONE: the overview) to out.
void config_print_help (FILE *out, role_t role);

//  Turn a bind endpoint into the endpoint a local client connects to
//  ("tcp://*:5559" becomes "tcp://127.0.0.1:5559"). Returns 0, or -1 if out
//  is too small.
int config_connect_endpoint (const char *bind_endpoint, char *out, size_t size);

//  Self test.
void config_test (bool verbose);

#endif
