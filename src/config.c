/*  config.c - one role's settings: defaults <- environment <- argv.

    All options live in one table: name, kind, the roles that accept it,
    where it is stored, its range and its help line. Parsing, environment
    lookup, validation and --help are all driven by that table. */

#include "config.h"
#include "herald.h"
#include "roles.h"
#include "text.h"
#include "wire.h"

#include <assert.h>
#include <ctype.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

typedef enum {
    KIND_ENDPOINT,
    KIND_TOPIC,
    KIND_NAME,
    KIND_PATH,
    KIND_NUMBER,
    KIND_FLAG,
    KIND_TEXT  //  any text, given once or more: a config_list_t
} kind_t;

typedef struct {
    const char *name;   //  "--name" on the command line, HERALD_NAME outside
    const char *value;  //  what help calls its value: --name VALUE
    kind_t kind;
    unsigned roles;     //  the roles that accept it (role_t bits)
    size_t offset;      //  where it is stored in config_t
    size_t given;       //  for some numbers: a bool set when the option is given
    uint64_t min, max;  //  for numbers
    const char *help;
} option_t;

#define AT(field)   offsetof (config_t, field)
#define NO_GIVEN    ((size_t) -1)
#define ONE_HOUR_MS 3600000
#define ALL_ROLES   (~0u)  //  every role in the table, however many
#define CLIENTS     (ROLE_PUB | ROLE_SUB | ROLE_STATS)

static const option_t s_options[] = {
    {"frontend", "ENDPOINT", KIND_ENDPOINT, ROLE_HUB | ROLE_PUB | ROLE_DEMO, AT (frontend),
     NO_GIVEN, 0, 0, "the hub's endpoint for publishers"},
    {"backend", "ENDPOINT", KIND_ENDPOINT, ROLE_HUB | ROLE_SUB | ROLE_DEMO, AT (backend), NO_GIVEN,
     0, 0, "the hub's endpoint for subscribers"},
    {"control", "ENDPOINT", KIND_ENDPOINT, ROLE_HUB | CLIENTS | ROLE_DEMO, AT (control), NO_GIVEN,
     0, 0, "the hub's control endpoint"},
    {"federation", "ENDPOINT", KIND_ENDPOINT, ROLE_HUB, AT (federation), NO_GIVEN, 0, 0,
     "the hub's endpoint for hubs below it (docs/federation.md)"},
    {"upstream", "ENDPOINT", KIND_ENDPOINT, ROLE_HUB, AT (upstream), NO_GIVEN, 0, 0,
     "join the federation of the hub whose --federation endpoint this is, below it"},
    {"topic", "TOPIC", KIND_TOPIC, CLIENTS, AT (topic), AT (topic_given), 0, 0,
     "event topic (sub: a prefix, and several --topic may be given; stats: print this topic's "
     "count)"},
    {"format", "FORMAT", KIND_NAME, ROLE_PUB | ROLE_SUB, AT (format), NO_GIVEN, 0, 0,
     "pub: herald, multipart ([topic][payload]) or frame ('topic payload'); sub: story, text (the "
     "payloads), json (an object a line) or raw (lengths and bytes)"},
    {"message", "TEXT", KIND_TEXT, ROLE_PUB, AT (messages), NO_GIVEN, 0, 0,
     "publish TEXT (several --message: each, in order) instead of the story"},
    {"repeat", "N", KIND_NUMBER, ROLE_PUB, AT (repeat), NO_GIVEN, 1, 1000000000,
     "publish the --message list this many times"},
    {"file", "PATH", KIND_PATH, ROLE_PUB, AT (file), NO_GIVEN, 0, 0,
     "publish the file's contents as one event ('-': standard input)"},
    {"lines", "PATH", KIND_PATH, ROLE_PUB, AT (lines), NO_GIVEN, 0, 0,
     "publish each line of the file as an event ('-', or a lone - argument: standard input)"},
    {"ignore-terminate", NULL, KIND_FLAG, ROLE_SUB, AT (ignore_terminate), NO_GIVEN, 0, 0,
     "do not subscribe to TERMINATE, nor end on it: for a long-lived subscriber"},
    {"events", "N", KIND_NUMBER, ROLE_PUB | ROLE_DEMO, AT (events), NO_GIVEN, 0, 1000000000,
     "number of events to publish"},
    {"interval", "MS", KIND_NUMBER, ROLE_PUB | ROLE_DEMO, AT (interval_ms), AT (interval_given), 0,
     ONE_HOUR_MS,
     "milliseconds between events (default: 100 for the story, 0 for --message, --file and "
     "--lines)"},
    {"size", "BYTES", KIND_NUMBER, ROLE_PUB, AT (size), NO_GIVEN, 0, 1000000,
     "pad each event's payload with zero bytes to this many bytes (0: the text alone)"},
    {"wait-subscribers", "N", KIND_NUMBER, ROLE_PUB, AT (wait_subscribers), NO_GIVEN, 0, 1000000,
     "before the first event, wait until the hub counts this many subscribers"},
    {"wait-timeout", "MS", KIND_NUMBER, CLIENTS, AT (wait_timeout_ms), NO_GIVEN, 0, ONE_HOUR_MS,
     "milliseconds to wait for the hub (pub: and the subscribers), then exit 69 (0: no limit)"},
    {"count", NULL, KIND_FLAG, ROLE_PUB, AT (count), AT (count_given), 0, 0,
     "before each event, ask the hub and print 'Publisher has N subscribers' (default: yes "
     "for the story, no for --message, --file and --lines)"},
    {"terminate", NULL, KIND_FLAG, ROLE_PUB, AT (terminate), AT (terminate_given), 0, 0,
     "publish TERMINATE after the last event (--no-terminate: don't) (default: yes for the "
     "story, no for --message, --file and --lines)"},
    {"name", "NAME", KIND_NAME, ROLE_SUB, AT (name), NO_GIVEN, 0, 0,
     "subscriber's name in the story (default: from host name and pid)"},
    {"max-messages", "N", KIND_NUMBER, ROLE_SUB, AT (max_messages), NO_GIVEN, 0, UINT64_MAX,
     "leave after this many messages (0: read until TERMINATE)"},
    {"ready-delay", "MS", KIND_NUMBER, ROLE_SUB, AT (ready_delay_ms), NO_GIVEN, 0, ONE_HOUR_MS,
     "milliseconds before reading; messages queue meanwhile"},
    {"idle-timeout", "MS", KIND_NUMBER, ROLE_SUB, AT (idle_timeout_ms), NO_GIVEN, 0, UINT32_MAX,
     "give up (exit 69) after this many milliseconds without a message (0: never)"},
    {"delay", "MS", KIND_NUMBER, ROLE_SUB, AT (delay_ms), NO_GIVEN, 0, ONE_HOUR_MS,
     "milliseconds to wait after each event: plays a slow consumer"},
    {"subscribers", "N", KIND_NUMBER, ROLE_DEMO, AT (subscribers), NO_GIVEN, 1, 1000,
     "number of subscribers"},
    {"seed", "N", KIND_NUMBER, ROLE_DEMO, AT (seed), AT (seed_given), 0, UINT64_MAX,
     "seed for the random choices (default: from the clock, logged)"},
    {"hwm", "N", KIND_NUMBER, ROLE_HUB | ROLE_PUB | ROLE_SUB, AT (hwm), NO_GIVEN, 0, 100000000,
     "queue limit in messages per connection and direction (0: no limit, memory unbounded)"},
    {"exit-on-terminate", NULL, KIND_FLAG, ROLE_HUB, AT (exit_on_terminate), NO_GIVEN, 0, 0,
     "exit once TERMINATE has passed and subscribers, publishers and hubs below have left"},
    {"drain-timeout", "MS", KIND_NUMBER, ROLE_HUB, AT (drain_timeout_ms), NO_GIVEN, 0, ONE_HOUR_MS,
     "with --exit-on-terminate: milliseconds to wait for them to leave (0: no limit)"},
    {"max-message-size", "BYTES", KIND_NUMBER, ROLE_HUB, AT (max_message_size), NO_GIVEN, 1,
     (uint64_t) INT32_MAX,
     "largest frame a publisher may send; one sending a larger one is disconnected"},
    {"max-topic-size", "BYTES", KIND_NUMBER, ROLE_HUB, AT (max_topic_size), NO_GIVEN,
     HERALD_MAX_TOPIC_LEAST, HERALD_MAX_TOPIC_LIMIT,
     "longest subscription; a subscriber sending a longer one is disconnected"},
    {"max-subscriptions", "N", KIND_NUMBER, ROLE_HUB, AT (max_subscriptions), NO_GIVEN, 0,
     UINT32_MAX,
     "most subscriptions one subscriber may hold; one sending more is disconnected (0: no "
     "limit)"},
    {"heartbeat", "MS", KIND_NUMBER, ROLE_HUB | ROLE_SUB, AT (heartbeat_ms), NO_GIVEN, 0, 60000,
     "milliseconds between pings (hub: to each subscriber, and one silent for 3 is dropped, and "
     "to the hubs above and below it, dropped after 2; "
     "sub: to the hub, so it knows a subscriber that is behind is alive) (0: off)"},
    {"drop-slow", NULL, KIND_FLAG, ROLE_HUB, AT (drop_slow), NO_GIVEN, 0, 0,
     "a subscriber whose queue (--hwm) is full misses events, and reports the gap, "
     "while the others go on (--no-drop-slow: everyone, publishers too, waits for it)"},
    {"expect", "N", KIND_NUMBER, ROLE_STATS, AT (expect), AT (expect_given), 0, 1000000,
     "with --topic: wait until the count equals this (exit 69 at --wait-timeout)"},
    {"curve-secret", "FILE", KIND_PATH, ROLE_HUB | CLIENTS, AT (curve_secret), NO_GIVEN, 0, 0,
     "CURVE: this process's key pair (a herald keygen secret file)"},
    {"curve-server-key", "FILE", KIND_PATH, CLIENTS, AT (curve_server_key), NO_GIVEN, 0, 0,
     "CURVE: the hub's public key file; turns CURVE on (stats: without it, --curve-secret is "
     "taken as the hub's own key pair, as in the hub's health check)"},
    {"curve-allow", "DIR", KIND_PATH, ROLE_HUB, AT (curve_allow), NO_GIVEN, 0, 0,
     "CURVE: folder of the public key files of the clients let in on every port "
     "(default: any key, unless the port has its own list)"},
    {"curve-allow-publish", "DIR", KIND_PATH, ROLE_HUB, AT (curve_allow_publish), NO_GIVEN, 0, 0,
     "CURVE: folder of the public keys that may publish (frontend), besides --curve-allow"},
    {"curve-allow-subscribe", "DIR", KIND_PATH, ROLE_HUB, AT (curve_allow_subscribe), NO_GIVEN, 0,
     0, "CURVE: folder of the public keys that may subscribe (backend), besides --curve-allow"},
    {"curve-allow-control", "DIR", KIND_PATH, ROLE_HUB, AT (curve_allow_control), NO_GIVEN, 0, 0,
     "CURVE: folder of the public keys that may use the control port, besides --curve-allow"},
    {"curve-allow-terminate", "DIR", KIND_PATH, ROLE_HUB, AT (curve_allow_terminate), NO_GIVEN, 0,
     0,
     "CURVE: folder of the public keys that may publish TERMINATE (default: any key that may "
     "publish)"},
    {"curve-allow-federation", "DIR", KIND_PATH, ROLE_HUB, AT (curve_allow_federation), NO_GIVEN, 0,
     0, "CURVE: folder of the public keys of the hubs that may join below, besides --curve-allow"},
    {"curve-upstream-key", "FILE", KIND_PATH, ROLE_HUB, AT (curve_upstream_key), NO_GIVEN, 0, 0,
     "CURVE: the --upstream hub's public key file (needed with --curve-secret and --upstream)"},
    {"out", "FILE", KIND_PATH, ROLE_KEYGEN, AT (out), NO_GIVEN, 0, 0,
     "write the public key to this file and the key pair to FILE_secret"},
    {"force", NULL, KIND_FLAG, ROLE_KEYGEN, AT (force), NO_GIVEN, 0, 0,
     "replace the key pair at --out if there is one"},
    {"verbose", NULL, KIND_FLAG, ALL_ROLES, AT (verbose), NO_GIVEN, 0, 0, "log debug lines"},
};
#define OPTION_COUNT (sizeof s_options / sizeof s_options[0])

static const char *
s_role_name (role_t role)
{
    const role_info_t *info = roles_of (role);
    return info ? info->name : "herald";
}

//  Each role's defaults; the hub binds, clients connect.
static void
s_set_defaults (config_t *cfg, role_t role)
{
    memset (cfg, 0, sizeof *cfg);
    cfg->role = role;
    bool binds = role == ROLE_HUB || role == ROLE_DEMO;
    strcpy (cfg->frontend, binds ? HERALD_FRONTEND_BIND : HERALD_FRONTEND_CONNECT);
    strcpy (cfg->backend, binds ? HERALD_BACKEND_BIND : HERALD_BACKEND_CONNECT);
    strcpy (cfg->control, binds ? HERALD_CONTROL_BIND : HERALD_CONTROL_CONNECT);
    strcpy (cfg->federation, HERALD_FEDERATION_BIND);
    strcpy (cfg->topic, role == ROLE_STATS ? "" : "event");
    strcpy (cfg->format, role == ROLE_SUB ? "story" : role == ROLE_PUB ? "herald" : "");
    cfg->repeat = 1;
    strcpy (cfg->out, "herald.cert");
    cfg->events = role == ROLE_DEMO ? HERALD_DEMO_EVENTS : 9;
    cfg->interval_ms = role == ROLE_DEMO ? HERALD_DEMO_INTERVAL_MS : HERALD_INTERVAL_DEFAULT_MS;
    cfg->wait_timeout_ms = HERALD_WAIT_TIMEOUT_DEFAULT_MS;
    cfg->idle_timeout_ms = HERALD_IDLE_TIMEOUT_DEFAULT_MS;
    cfg->subscribers = HERALD_DEMO_SUBSCRIBERS;
    cfg->hwm = HERALD_HWM_DEFAULT;
    cfg->drain_timeout_ms = HERALD_DRAIN_TIMEOUT_DEFAULT_MS;
    cfg->heartbeat_ms = HERALD_HEARTBEAT_DEFAULT_MS;
    cfg->max_message_size = HERALD_MAX_MESSAGE_DEFAULT;
    cfg->max_topic_size = HERALD_MAX_TOPIC_DEFAULT;
    cfg->max_subscriptions = HERALD_MAX_SUBSCRIPTIONS_DEFAULT;
    cfg->terminate = true;
    cfg->count = true;
    cfg->drop_slow = true;
}

//  "wait-subscribers" -> "HERALD_WAIT_SUBSCRIBERS".
static void
s_env_name (const char *option, char *out, size_t size)
{
    size_t length = (size_t) snprintf (out, size, "HERALD_%s", option);
    for (size_t index = 0; index < length && index < size; index++)
        out[index] = out[index] == '-' ? '_' : (char) toupper ((unsigned char) out[index]);
}

static bool
s_is_printable (const char *text)
{
    for (; *text; text++)
        if (!isprint ((unsigned char) *text))
            return false;
    return true;
}

//  An endpoint is transport://address with a transport herald can use:
//  between processes, so not inproc.
static bool
s_is_endpoint (const char *text)
{
    static const char *const transports[] = {"tcp://", "ipc://"};
    for (size_t index = 0; index < sizeof transports / sizeof transports[0]; index++) {
        size_t length = strlen (transports[index]);
        if (strncmp (text, transports[index], length) == 0)
            return text[length] != 0 && s_is_printable (text) && !strchr (text, ' ');
    }
    return false;
}

static bool
s_parse_flag (const char *text, bool *value)
{
    static const char *const yes[] = {"1", "yes", "true", "on"};
    static const char *const no[] = {"0", "no", "false", "off"};
    for (size_t index = 0; index < 4; index++) {
        if (strcmp (text, yes[index]) == 0)
            return *value = true, true;
        if (strcmp (text, no[index]) == 0)
            return *value = false, true;
    }
    return false;
}

//  Store one option's value; on failure write why into error. source names
//  where the value came from ("--events" or "HERALD_EVENTS").
static int
s_set (config_t *cfg, const option_t *option, const char *value, const char *source, char *error,
       size_t error_size)
{
    char *field = (char *) cfg + option->offset;
    const char *problem = NULL;
    if (option->kind == KIND_FLAG) {
        if (!s_parse_flag (value, (bool *) field))
            problem = "is not yes or no";
    } else if (option->kind == KIND_NUMBER) {
        if (text_parse_u64 (value, strlen (value), option->min, option->max, (uint64_t *) field)) {
            snprintf (error, error_size, "%s: '%.64s' is not a whole number from %llu to %llu",
                      source, value, (unsigned long long) option->min,
                      (unsigned long long) option->max);
            return -1;
        }
    } else if (option->kind == KIND_TEXT) {
        config_list_t *list = (config_list_t *) field;
        bool argv_value = strncmp (source, "--", 2) == 0;
        if (argv_value && !list->from_argv)
            list->count = 0;  //  the command line replaces the environment
        list->from_argv = argv_value;
        if (list->count == CONFIG_LIST_MAX) {
            snprintf (error, error_size, "%s: given more than %d times", source, CONFIG_LIST_MAX);
            return -1;
        }
        list->items[list->count++] = value;
    } else if (strlen (value) >= CONFIG_TEXT_MAX)
        problem = "is too long";
    else if (option->kind == KIND_ENDPOINT && !s_is_endpoint (value))
        problem = "is not an endpoint like tcp://host:port or ipc:///path";
    else if (option->kind == KIND_TOPIC && wire_topic_is_reserved (value, strlen (value)))
        problem = "starts with " HERALD_RESERVED_PREFIX ", which is reserved";
    else if (option->kind == KIND_TOPIC && !s_is_printable (value))
        problem = "has unprintable characters";
    else if ((option->kind == KIND_NAME || option->kind == KIND_PATH)
             && (!*value || !s_is_printable (value)))
        problem = "must be printable and not empty";
    else {
        strcpy (field, value);
        //  Every --topic, for sub; the command line replaces the
        //  environment.
        config_list_t *topics = &cfg->topics;
        bool argv_value = strncmp (source, "--", 2) == 0;
        if (option->kind == KIND_TOPIC && argv_value && !topics->from_argv)
            topics->count = 0;
        if (option->kind == KIND_TOPIC && topics->count == CONFIG_LIST_MAX) {
            snprintf (error, error_size, "%s: given more than %d times", source, CONFIG_LIST_MAX);
            return -1;
        }
        if (option->kind == KIND_TOPIC) {
            topics->from_argv = argv_value;
            topics->items[topics->count++] = value;
        }
    }
    if (problem) {
        snprintf (error, error_size, "%s: '%.64s' %s", source, value, problem);
        return -1;
    }
    if (option->given != NO_GIVEN)
        *((bool *) ((char *) cfg + option->given)) = true;
    return 0;
}

static const option_t *
s_find (const char *name, size_t length, unsigned role)
{
    for (size_t index = 0; index < OPTION_COUNT; index++)
        if ((s_options[index].roles & role) && strlen (s_options[index].name) == length
            && strncmp (s_options[index].name, name, length) == 0)
            return &s_options[index];
    return NULL;
}

//  The option whose name is closest to name among the roles in mask, if
//  it is close enough to be a typo (a quarter of the name's letters
//  wrong, at least one); else NULL.
static const option_t *
s_closest (const char *name, unsigned mask)
{
    const option_t *best = NULL;
    size_t limit = strlen (name) / 4 > 1 ? strlen (name) / 4 : 1;
    size_t best_distance = limit + 1;
    for (size_t index = 0; index < OPTION_COUNT; index++) {
        if (!(s_options[index].roles & mask))
            continue;
        size_t distance = text_distance (name, s_options[index].name);
        if (distance < best_distance) {
            best = &s_options[index];
            best_distance = distance;
        }
    }
    return best;
}

//  A HERALD_* variable that is no option of any role: a typo that would
//  otherwise be ignored in silence.
static int
s_check_environment (char *error, size_t error_size)
{
    extern char **environ;
    for (char **entry = environ; entry && *entry; entry++) {
        if (strncmp (*entry, "HERALD_", 7) != 0)
            continue;
        const char *equals = strchr (*entry, '=');
        size_t length = equals ? (size_t) (equals - *entry) : strlen (*entry);
        char option[64];
        if (length - 7 >= sizeof option)
            length = sizeof option + 6;
        for (size_t index = 7; index < length; index++)
            option[index - 7] = (*entry)[index] == '_' ? '-' : (char) tolower ((*entry)[index]);
        option[length - 7] = 0;
        if (s_find (option, strlen (option), ALL_ROLES))
            continue;
        const option_t *closest = s_closest (option, ALL_ROLES);
        char suggestion[96] = "";
        if (closest) {
            char variable[64];
            s_env_name (closest->name, variable, sizeof variable);
            snprintf (suggestion, sizeof suggestion, " (did you mean %s?)", variable);
        }
        snprintf (error, error_size, "unknown variable %.*s%s", (int) length, *entry, suggestion);
        return -1;
    }
    return 0;
}

//  Options from the environment: only those the role accepts are read, so
//  one set of HERALD_* variables can serve every role.
static int
s_load_environment (config_t *cfg, char *error, size_t error_size)
{
    if (s_check_environment (error, error_size))
        return -1;
    for (size_t index = 0; index < OPTION_COUNT; index++) {
        const option_t *option = &s_options[index];
        if (!(option->roles & cfg->role))
            continue;
        char variable[64];
        s_env_name (option->name, variable, sizeof variable);
        const char *value = getenv (variable);
        if (value && s_set (cfg, option, value, variable, error, error_size))
            return -1;
    }
    return 0;
}

//  Why --name is not an option of this role: another role's, or a typo.
static void
s_unknown_option (const config_t *cfg, const char *name, size_t length, char *error,
                  size_t error_size)
{
    char wanted[64];
    snprintf (wanted, sizeof wanted, "%.*s", (int) (length < 63 ? length : 63), name);
    const option_t *elsewhere = s_find (wanted, strlen (wanted), ALL_ROLES);
    const char *role = s_role_name (cfg->role);
    if (elsewhere) {
        char owners[64];
        roles_list (owners, sizeof owners, elsewhere->roles);
        snprintf (error, error_size, "--%s is an option of %s, not of %s (see herald %s --help)",
                  elsewhere->name, owners, role, role);
        return;
    }
    const option_t *closest = s_closest (wanted, cfg->role);
    const option_t *other = closest ? NULL : s_closest (wanted, ALL_ROLES);
    char owners[64];
    if (other)
        roles_list (owners, sizeof owners, other->roles);
    if (closest)
        snprintf (error, error_size, "unknown option '--%s' (did you mean --%s?)", wanted,
                  closest->name);
    else if (other)
        snprintf (error, error_size,
                  "unknown option '--%s' (did you mean --%s? That is an option of %s)", wanted,
                  other->name, owners);
    else
        snprintf (error, error_size, "unknown option '--%s' (see herald %s --help)", wanted, role);
}

//  Options from argv: --name VALUE, --name=VALUE; flags as --name, --no-name.
static config_result_t
s_load_arguments (config_t *cfg, int argc, char *const *argv, char *error, size_t error_size)
{
    const option_t *flag = NULL;  //  the option before, if it was a flag without a value
    for (int index = 2; index < argc; index++) {
        const char *arg = argv[index];
        //  A lone "-": lines from standard input, as mosquitto_pub -l.
        if (streq (arg, "-") && cfg->role == ROLE_PUB) {
            strcpy (cfg->lines, "-");
            flag = NULL;
            continue;
        }
        if (strncmp (arg, "--", 2) != 0) {
            if (flag)
                snprintf (error, error_size,
                          "unexpected argument '%.64s' (a flag takes its value as --%s=%.64s, "
                          "or --no-%s)",
                          arg, flag->name, arg, flag->name);
            else
                snprintf (error, error_size, "unexpected argument '%.64s'", arg);
            return CONFIG_BAD;
        }
        const char *name = arg + 2;
        const char *equals = strchr (name, '=');
        size_t length = equals ? (size_t) (equals - name) : strlen (name);
        const option_t *option = s_find (name, length, cfg->role);
        const char *value = equals ? equals + 1 : NULL;
        if (!option && !equals && strncmp (name, "no-", 3) == 0) {
            option = s_find (name + 3, length - 3, cfg->role);
            if (option && option->kind == KIND_FLAG)
                value = "no";
            else
                option = NULL;
        }
        if (!option) {
            s_unknown_option (cfg, name, length, error, error_size);
            return CONFIG_BAD;
        }
        flag = !value && option->kind == KIND_FLAG ? option : NULL;
        if (!value && option->kind == KIND_FLAG)
            value = "yes";
        if (!value) {
            if (index + 1 >= argc) {
                snprintf (error, error_size, "--%s needs a value", option->name);
                return CONFIG_BAD;
            }
            value = argv[++index];
        }
        char source[64];
        snprintf (source, sizeof source, "--%s", option->name);
        if (s_set (cfg, option, value, source, error, error_size))
            return CONFIG_BAD;
    }
    return CONFIG_RUN;
}

//  What pub publishes and how, and how sub prints: one source of events,
//  a known format; TERMINATE after one-off messages only if asked.
static config_result_t
s_check_publishing (config_t *cfg, char *error, size_t error_size)
{
    if (cfg->topics.count > 1 && cfg->role != ROLE_SUB) {
        snprintf (error, error_size, "--topic: only sub takes several");
        return CONFIG_BAD;
    }
    if (cfg->role == ROLE_SUB && cfg->topics.count == 0) {
        cfg->topics.items[0] = cfg->topic;
        cfg->topics.count = 1;
    }
    const char *const pub_formats[] = {"herald", "multipart", "frame", NULL};
    const char *const sub_formats[] = {"story", "text", "json", "raw", NULL};
    const char *const *formats = cfg->role == ROLE_PUB   ? pub_formats
                                 : cfg->role == ROLE_SUB ? sub_formats
                                                         : NULL;
    bool known = formats == NULL;
    for (size_t index = 0; formats && formats[index]; index++)
        known |= streq (cfg->format, formats[index]);
    if (!known) {
        snprintf (error, error_size, "--format: '%.32s' is not %s", cfg->format,
                  cfg->role == ROLE_PUB ? "herald, multipart or frame"
                                        : "story, text, json or raw");
        return CONFIG_BAD;
    }
    if (cfg->role != ROLE_PUB)
        return CONFIG_RUN;
    int sources = (cfg->messages.count > 0) + (*cfg->file != 0) + (*cfg->lines != 0);
    if (sources > 1) {
        snprintf (error, error_size, "give one of --message, --file and --lines");
        return CONFIG_BAD;
    }
    //  A one-off message must not end every subscriber: TERMINATE only
    //  when asked for. The story ends with it, as it always has, and tells
    //  the count at its own pace; the user's data goes at once, quietly.
    if (sources && !cfg->terminate_given)
        cfg->terminate = false;
    if (sources && !cfg->count_given)
        cfg->count = false;
    if (sources && !cfg->interval_given)
        cfg->interval_ms = 0;
    return CONFIG_RUN;
}

static bool
s_is_help (const char *arg)
{
    return strcmp (arg, "--help") == 0 || strcmp (arg, "-h") == 0;
}

static config_result_t
s_load (config_t *cfg, int argc, char *const *argv, char *error, size_t error_size)
{
    s_set_defaults (cfg, ROLE_NONE);
    char names[80];
    roles_list (names, sizeof names, ALL_ROLES);
    if (argc < 2) {
        snprintf (error, error_size, "missing role: %s (see herald --help)", names);
        return CONFIG_BAD;
    }
    if (s_is_help (argv[1]) || strcmp (argv[1], "help") == 0)
        return CONFIG_HELP;
    if (strcmp (argv[1], "--version") == 0)
        return CONFIG_VERSION;
    const role_info_t *info = roles_find (argv[1]);
    if (!info) {
        snprintf (error, error_size, "unknown role '%.64s': use %s", argv[1], names);
        return CONFIG_BAD;
    }
    s_set_defaults (cfg, info->role);
    snprintf (cfg->program, sizeof cfg->program, "%s", argv[0]);
    //  A help or version request wins over bad values in the environment.
    for (int index = 2; index < argc; index++) {
        if (s_is_help (argv[index]))
            return CONFIG_HELP;
        if (strcmp (argv[index], "--version") == 0)
            return CONFIG_VERSION;
    }
    if (s_load_environment (cfg, error, error_size))
        return CONFIG_BAD;
    config_result_t result = s_load_arguments (cfg, argc, argv, error, error_size);
    if (result != CONFIG_RUN)
        return result;
    //  A client cannot connect to "*": given the hub's bind endpoint (one
    //  environment for every role), it connects to this machine.
    if (info->role != ROLE_HUB && info->role != ROLE_DEMO
        && (config_connect_endpoint (cfg->frontend, cfg->frontend, sizeof cfg->frontend)
            || config_connect_endpoint (cfg->backend, cfg->backend, sizeof cfg->backend)
            || config_connect_endpoint (cfg->control, cfg->control, sizeof cfg->control))) {
        snprintf (error, error_size, "an endpoint is too long");
        return CONFIG_BAD;
    }
    if (info->role == ROLE_DEMO && cfg->events == 0) {
        snprintf (error, error_size, "--events must be at least 1");
        return CONFIG_BAD;
    }
    if (*cfg->curve_secret && !*cfg->curve_server_key && info->role != ROLE_HUB
        && info->role != ROLE_STATS) {
        snprintf (error, error_size, "--curve-secret needs --curve-server-key");
        return CONFIG_BAD;
    }
    if (*cfg->upstream && *cfg->curve_secret && !*cfg->curve_upstream_key) {
        snprintf (error, error_size, "--upstream with --curve-secret needs --curve-upstream-key");
        return CONFIG_BAD;
    }
    if (*cfg->curve_upstream_key && !(*cfg->upstream && *cfg->curve_secret)) {
        snprintf (error, error_size, "--curve-upstream-key needs --upstream and --curve-secret");
        return CONFIG_BAD;
    }
    const char *lists[] = {cfg->curve_allow,           cfg->curve_allow_publish,
                           cfg->curve_allow_subscribe, cfg->curve_allow_control,
                           cfg->curve_allow_terminate, cfg->curve_allow_federation};
    const char *list_names[] = {"allow",         "allow-publish",   "allow-subscribe",
                                "allow-control", "allow-terminate", "allow-federation"};
    for (size_t index = 0; index < sizeof lists / sizeof lists[0]; index++)
        if (*lists[index] && !*cfg->curve_secret) {
            snprintf (error, error_size, "--curve-%s needs --curve-secret", list_names[index]);
            return CONFIG_BAD;
        }
    if (info->role == ROLE_PUB && streq (cfg->topic, HERALD_TERMINATE)) {
        snprintf (error, error_size,
                  "--topic: '" HERALD_TERMINATE "' is the shutdown topic; publish it with "
                  "--terminate");
        return CONFIG_BAD;
    }
    if (info->role == ROLE_STATS && cfg->expect_given && !cfg->topic_given) {
        snprintf (error, error_size, "--expect needs --topic");
        return CONFIG_BAD;
    }
    return s_check_publishing (cfg, error, error_size);
}

config_result_t
config_load (config_t *cfg, int argc, char *const *argv, char *error, size_t error_size)
{
    char reason[256];
    config_result_t result = s_load (cfg, argc, argv, reason, sizeof reason);
    if (result != CONFIG_BAD)
        return result;
    //  Every line has the same shape: "herald ROLE: reason", and quotes
    //  what it was given, so keep it one printable line.
    if (cfg->role == ROLE_NONE)
        snprintf (error, error_size, "herald: %s", reason);
    else
        snprintf (error, error_size, "herald %s: %s", s_role_name (cfg->role), reason);
    for (char *next = error; *next; next++)
        if (!isprint ((unsigned char) *next))
            *next = '?';
    return result;
}

void
config_print_help (FILE *out, role_t role)
{
    if (role == ROLE_NONE) {
        fprintf (out,
                 "herald %s - a publish-subscribe hub on ZeroMQ\n\n"
                 "usage: herald ROLE [OPTIONS]\n\nroles:\n",
                 HERALD_VERSION);
        for (const role_info_t *info = roles; info->name; info++)
            fprintf (out, "  %-6s %s\n", info->name, info->purpose);
        fprintf (out, "\n'herald ROLE --help' lists a role's options. Every option --some-name\n"
                      "can also be set as HERALD_SOME_NAME; the command line wins.\n");
        return;
    }
    const role_info_t *info = roles_of (role);
    fprintf (out, "herald %s: %s\n\nusage: herald %s [OPTIONS]\n\noptions:\n", info->name,
             info->purpose, info->name);
    config_t defaults;
    s_set_defaults (&defaults, role);
    for (size_t index = 0; index < OPTION_COUNT; index++) {
        const option_t *option = &s_options[index];
        if (!(option->roles & role))
            continue;
        const char *field = (const char *) &defaults + option->offset;
        char variable[64], shown[CONFIG_TEXT_MAX + 32] = "", name[48];
        s_env_name (option->name, variable, sizeof variable);
        if (option->kind == KIND_NUMBER && option->given == NO_GIVEN)
            snprintf (shown, sizeof shown, " (default %llu)",
                      (unsigned long long) *(const uint64_t *) field);
        else if (option->kind == KIND_FLAG && !strstr (option->help, "default"))
            snprintf (shown, sizeof shown, " (default %s)", *(const bool *) field ? "yes" : "no");
        else if (option->kind == KIND_FLAG || option->kind == KIND_TEXT)
            ;  //  its help says the default, or there is none to say
        else if (option->kind != KIND_NUMBER && *field)
            snprintf (shown, sizeof shown, " (default %s)", field);
        else if (!strstr (option->help, "default"))
            snprintf (shown, sizeof shown, " (default none)");
        snprintf (name, sizeof name, "--%s%s%s", option->name, option->value ? " " : "",
                  option->value ? option->value : "");
        fprintf (out, "  %-26s %s%s [%s]\n", name, option->help, shown, variable);
    }
    fprintf (out, "  %-26s %s\n  %-26s %s\n", "--help", "show this help", "--version",
             "show the version");
}

int
config_connect_endpoint (const char *bind_endpoint, char *out, size_t size)
{
    const char *star = strstr (bind_endpoint, "://*:");
    char result[CONFIG_TEXT_MAX + 16];
    int length = star ? snprintf (result, sizeof result, "%.*s127.0.0.1%s",
                                  (int) (star - bind_endpoint) + 3, bind_endpoint, star + 4)
                      : snprintf (result, sizeof result, "%s", bind_endpoint);
    if (length < 0 || (size_t) length >= size || (size_t) length >= sizeof result)
        return -1;
    memcpy (out, result, (size_t) length + 1);  //  out may be bind_endpoint
    return 0;
}

//  --------------------------------------------------------------------------
//  Self test

static config_result_t
s_load_args (config_t *cfg, char *error, const char *first, ...)
{
    char *argv[32] = {"herald"};
    int argc = 1;
    va_list args;
    va_start (args, first);
    for (const char *arg = first; arg && argc < 31; arg = va_arg (args, const char *))
        argv[argc++] = (char *) arg;
    va_end (args);
    return config_load (cfg, argc, argv, error, 256);
}

void
config_test (bool verbose)
{
    config_t cfg;
    char error[256];

    //  Defaults differ by role: the hub binds, clients connect.
    assert (s_load_args (&cfg, error, "hub", NULL) == CONFIG_RUN);
    assert (streq (cfg.frontend, HERALD_FRONTEND_BIND));
    assert (cfg.hwm == HERALD_HWM_DEFAULT && !cfg.exit_on_terminate);
    assert (s_load_args (&cfg, error, "pub", NULL) == CONFIG_RUN);
    assert (streq (cfg.frontend, HERALD_FRONTEND_CONNECT) && cfg.events == 9 && cfg.terminate);

    //  Both spellings of a value, flags and their negation.
    assert (
        s_load_args (&cfg, error, "pub", "--events", "3", "--topic=news", "--no-terminate", NULL)
        == CONFIG_RUN);
    assert (cfg.events == 3 && streq (cfg.topic, "news") && !cfg.terminate);

    //  The environment is read, and the command line wins over it.
    setenv ("HERALD_WAIT_SUBSCRIBERS", "4", 1);
    setenv ("HERALD_EVENTS", "5", 1);
    assert (s_load_args (&cfg, error, "pub", "--events", "6", NULL) == CONFIG_RUN);
    assert (cfg.wait_subscribers == 4 && cfg.events == 6);
    setenv ("HERALD_EVENTS", "five", 1);
    assert (s_load_args (&cfg, error, "pub", NULL) == CONFIG_BAD);
    assert (strstr (error, "HERALD_EVENTS") && strstr (error, "five"));
    //  ... but only the variables of the role at hand.
    assert (s_load_args (&cfg, error, "sub", NULL) == CONFIG_RUN);
    unsetenv ("HERALD_EVENTS");
    unsetenv ("HERALD_WAIT_SUBSCRIBERS");

    //  Bad input gets one line that names the culprit.
    assert (s_load_args (&cfg, error, "pub", "--events", "-1", NULL) == CONFIG_BAD);
    assert (streq (error, "herald pub: --events: '-1' is not a whole number from 0 to 1000000000"));
    assert (s_load_args (&cfg, error, "pub", "--events", "99999999999999999999", NULL)
            == CONFIG_BAD);
    assert (s_load_args (&cfg, error, "sub", "--events", "3", NULL) == CONFIG_BAD);
    assert (streq (error, "herald sub: --events is an option of pub or demo, not of sub "
                          "(see herald sub --help)"));
    assert (s_load_args (&cfg, error, "pub", "--wait-subscriber", "3", NULL) == CONFIG_BAD);
    assert (streq (error, "herald pub: unknown option '--wait-subscriber' "
                          "(did you mean --wait-subscribers?)"));
    assert (s_load_args (&cfg, error, "pub", "--max-mesages", "3", NULL) == CONFIG_BAD);
    assert (streq (error, "herald pub: unknown option '--max-mesages' "
                          "(did you mean --max-messages? That is an option of sub)"));
    assert (s_load_args (&cfg, error, "pub", "--count", "no", NULL) == CONFIG_BAD);
    assert (streq (error, "herald pub: unexpected argument 'no' "
                          "(a flag takes its value as --count=no, or --no-count)"));
    assert (s_load_args (&cfg, error, "pub", "--topic", "TERMINATE", NULL) == CONFIG_BAD);
    assert (s_load_args (&cfg, error, "hub", "--foo", NULL) == CONFIG_BAD);
    assert (streq (error, "herald hub: unknown option '--foo' (see herald hub --help)"));
    assert (s_load_args (&cfg, error, "hub", "--zzzzzzzzzz", NULL) == CONFIG_BAD);
    assert (streq (error, "herald hub: unknown option '--zzzzzzzzzz' (see herald hub --help)"));

    //  A HERALD_* variable that no role knows is a typo: say so, whatever
    //  the role, and suggest the closest.
    setenv ("HERALD_WAIT_SUBSCRIBER", "2", 1);
    assert (s_load_args (&cfg, error, "sub", NULL) == CONFIG_BAD);
    assert (streq (error, "herald sub: unknown variable HERALD_WAIT_SUBSCRIBER "
                          "(did you mean HERALD_WAIT_SUBSCRIBERS?)"));
    unsetenv ("HERALD_WAIT_SUBSCRIBER");

    //  0 switches a limit off where it can be switched off, never where
    //  it protects the hub.
    assert (s_load_args (&cfg, error, "sub", "--idle-timeout", "0", "--wait-timeout", "0", NULL)
            == CONFIG_RUN);
    assert (cfg.idle_timeout_ms == 0 && cfg.wait_timeout_ms == 0);
    assert (s_load_args (&cfg, error, "hub", "--hwm", "0", "--drain-timeout", "0", NULL)
            == CONFIG_RUN);
    assert (s_load_args (&cfg, error, "hub", "--max-message-size", "0", NULL) == CONFIG_BAD);
    assert (s_load_args (&cfg, error, "sub", "--no-name", NULL) == CONFIG_BAD);
    assert (s_load_args (&cfg, error, "pub", "--events", NULL) == CONFIG_BAD);
    assert (strstr (error, "needs a value"));
    assert (s_load_args (&cfg, error, "hub", "--frontend", "localhost:5559", NULL) == CONFIG_BAD);
    assert (strstr (error, "--frontend"));
    assert (s_load_args (&cfg, error, "pub", "--topic", "$herald/x", NULL) == CONFIG_BAD);
    assert (s_load_args (&cfg, error, "sub", "--name", "", NULL) == CONFIG_BAD);
    assert (s_load_args (&cfg, error, "hub", "stray", NULL) == CONFIG_BAD);
    assert (s_load_args (&cfg, error, "bogus", NULL) == CONFIG_BAD);
    assert (
        streq (error, "herald: unknown role 'bogus': use hub, pub, sub, demo, stats or keygen"));
    assert (s_load_args (&cfg, error, "hub", "a\nb", NULL) == CONFIG_BAD);
    assert (strstr (error, "'a?b'"));
    assert (s_load_args (&cfg, error, "demo", "--events", "0", NULL) == CONFIG_BAD);
    assert (s_load_args (&cfg, error, "stats", "--expect", "1", NULL) == CONFIG_BAD);
    assert (s_load_args (&cfg, error, "hub", "--exit-on-terminate=maybe", NULL) == CONFIG_BAD);

    //  Help and version win over anything else on the line.
    assert (s_load_args (&cfg, error, "hub", "--bogus", "--help", NULL) == CONFIG_HELP);
    assert (s_load_args (&cfg, error, "--version", NULL) == CONFIG_VERSION);
    assert (s_load_args (&cfg, error, "demo", "--seed", "7", NULL) == CONFIG_RUN);
    assert (cfg.seed_given && cfg.seed == 7);

    char endpoint[64];
    assert (config_connect_endpoint ("tcp://*:5559", endpoint, sizeof endpoint) == 0);
    assert (streq (endpoint, "tcp://127.0.0.1:5559"));
    assert (config_connect_endpoint ("ipc:///tmp/x", endpoint, sizeof endpoint) == 0);
    assert (streq (endpoint, "ipc:///tmp/x"));
    assert (config_connect_endpoint ("tcp://*:5559", endpoint, 8) == -1);
    if (verbose)
        config_print_help (stdout, ROLE_PUB);
}
