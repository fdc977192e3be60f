/*
 * h2gatectl.c: command line client of the h2gate control socket, plus
 * "probe", an HTTP/2 client diagnosis that needs no daemon.
 *
 *   h2gatectl [-s SOCKET] [--json] [-T SECONDS] COMMAND [ARGS]
 *
 * Each control command is one request line on the socket (ctl_client.c)
 * and one answer, printed as a table (ctl_render.c) or, with --json, as
 * the raw "result"; "top" (ctl_top.c) asks several of them every second
 * and draws a live view.  Exit status: 0 ok; 1 the daemon answered ok:false
 * (or check found errors, or the probe failed); 2 usage error, or the
 * daemon could not be reached / did not answer.
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl/ctl_client.h"
#include "runtime/failalloc.h"
#include "runtime/jsonmem.h"
#include "ctl/ctl_probe.h"
#include "ctl/ctl_render.h"
#include "ctl/ctl_top.h"

#define DEFAULT_SOCKET "/run/h2gate/control.sock"
#define EXIT_FAILED 1
#define EXIT_USAGE 2

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: h2gatectl [-s SOCKET] [--json] [-T SECONDS] COMMAND [ARGS]\n"
            "Control and inspect a running h2gate; probe any HTTP/2 server.\n\n"
            "Commands (talk to the daemon's control socket):\n"
            "  status          version, uptime, listeners, connection counts\n"
            "  sessions        one line per client session\n"
            "  session ID      one session and its streams\n"
            "  tunnels         CONNECT, WebSocket and tunnel streams\n"
            "  upstreams       the addresses of upstream host names, per worker\n"
            "  stats           counters and histograms\n"
            "  reload          re-read the configuration (errors keep the running one)\n"
            "  drain [--exit]  close the listeners, let sessions finish (GOAWAY, Connection: close);\n"
            "                  the process stays up until resume; --exit: then exit (as SIGTERM)\n"
            "  resume          listen and accept again after a drain\n"
            "  check FILE      validate FILE and show what a reload would change\n"
            "  config          the effective configuration (defaults filled in)\n"
            "  top [-d SECS] [-n N] [--sort bytes|age|streams]\n"
            "                  live view of sessions and tunnels, refreshed every SECS (default 1);\n"
            "                  keys: q quit, b/a/s sort by bytes/age/streams, r reverse, space refresh;\n"
            "                  not on a terminal: N plain snapshots (default 1), then exit\n"
            "Without the daemon:\n"
            "  probe URL [--insecure] [--h2c] [--cacert FILE] [--connect-to HOST:PORT]\n"
            "                  ALPN, TLS, certificate, SETTINGS, ALTSVC/ORIGIN, a GET, timings\n\n"
            "Options:\n"
            "  -s, --socket PATH   control socket (default $H2GATE_CONTROL, else " DEFAULT_SOCKET ")\n"
            "  -j, --json          print the raw JSON result\n"
            "  -T, --timeout SECS  give up after SECS seconds (default 10)\n"
            "  -V, --version       print the version and exit\n"
            "  -h, --help          print this help and exit\n");
}

enum cmd_kind { C_STATUS, C_SESSIONS, C_SESSION, C_TUNNELS, C_UPSTREAMS, C_STATS, C_RELOAD, C_DRAIN, C_RESUME, C_CHECK,
                C_CONFIG, C_PROBE, C_TOP };

static const struct command {
    const char *name;
    enum cmd_kind kind;
    int nargs;
    const char *args; /* for the usage error */
} commands[] = {
    {"status", C_STATUS, 0, ""},   {"sessions", C_SESSIONS, 0, ""}, {"session", C_SESSION, 1, " ID"},
    {"tunnels", C_TUNNELS, 0, ""}, {"stats", C_STATS, 0, ""},       {"reload", C_RELOAD, 0, ""},
    {"drain", C_DRAIN, 0, ""},     {"check", C_CHECK, 1, " FILE"},  {"config", C_CONFIG, 0, ""},
    {"probe", C_PROBE, 1, " URL"},  {"upstreams", C_UPSTREAMS, 0, ""}, {"resume", C_RESUME, 0, ""},
    {"top", C_TOP, 0, ""},
};

/* Prints the daemon's error and errors[] (each "file:line:col: msg") to
 * stderr, prefixed with `what` when given. */
static void print_errors(const char *what, const json_t *resp)
{
    const json_t *e = json_object_get(resp, "error");
    const json_t *errs = json_object_get(resp, "errors");
    if (errs == NULL)
        errs = json_object_get(json_object_get(resp, "result"), "errors");
    fprintf(stderr, "h2gatectl: %s%s%s\n", what ? what : "", what ? ": " : "",
            json_is_string(e) ? json_string_value(e) : "failed");
    size_t i;
    json_t *v;
    json_array_foreach((json_t *)errs, i, v) {
        if (json_is_string(v))
            fprintf(stderr, "%s\n", json_string_value(v));
    }
}

/* FILE made absolute against the current directory, without requiring it
 * to exist here (the daemon reports what it cannot read). */
static char *absolute(const char *file)
{
    char *rp = realpath(file, NULL);
    if (rp != NULL)
        return rp;
    if (file[0] == '/')
        return strdup(file);
    char cwd[PATH_MAX];
    if (getcwd(cwd, sizeof(cwd)) == NULL)
        return strdup(file);
    size_t n = strlen(cwd) + strlen(file) + 2;
    char *p = malloc(n);
    if (p != NULL)
        snprintf(p, n, "%s/%s", cwd, file);
    return p;
}

static json_t *build_request(const struct command *c, char **argv, bool drain_exit)
{
    json_t *req = json_pack("{s:s}", "cmd", c->name);
    if (req == NULL)
        return NULL;
    if (drain_exit)
        json_object_set_new(req, "exit", json_true());
    if (c->kind == C_SESSION) {
        char *end;
        errno = 0;
        long long id = strtoll(argv[0], &end, 10);
        if (errno != 0 || *end != '\0' || end == argv[0] || id < 0) {
            fprintf(stderr, "h2gatectl: session: '%s' is not a session id (see h2gatectl sessions)\n",
                    argv[0]);
            json_decref(req);
            return NULL;
        }
        json_object_set_new(req, "id", json_integer(id));
    } else if (c->kind == C_CHECK) {
        char *abs = absolute(argv[0]);
        if (abs == NULL) {
            fprintf(stderr, "h2gatectl: out of memory\n");
            json_decref(req);
            return NULL;
        }
        json_object_set_new(req, "file", json_string(abs));
        free(abs);
    }
    return req;
}

static int print_json(const json_t *v)
{
    char *d = json_dumps(v, JSON_INDENT(2) | JSON_ENCODE_ANY | JSON_REAL_PRECISION(15));
    if (d == NULL)
        return -1;
    puts(d);
    free(d);
    return 0;
}

static int render(const struct command *c, const json_t *result, char **argv)
{
    switch (c->kind) {
    case C_STATUS: return ctl_render_status(stdout, result);
    case C_SESSIONS: return ctl_render_sessions(stdout, result);
    case C_SESSION: return ctl_render_session(stdout, result);
    case C_TUNNELS: return ctl_render_tunnels(stdout, result);
    case C_UPSTREAMS: return ctl_render_upstreams(stdout, result);
    case C_STATS: return ctl_render_stats(stdout, result);
    case C_CHECK: return ctl_render_check(stdout, argv[0], result);
    case C_CONFIG: return ctl_render_config(stdout, result);
    case C_RELOAD:
        printf("reloaded\n");
        return 0;
    case C_DRAIN:
        if (json_is_true(json_object_get(result, "exit")))
            printf("stopping: listeners closed, sessions finish (up to timeouts.shutdown), then exit\n");
        else
            printf("draining: listeners closed, sessions finish; the process stays up (h2gatectl resume)\n");
        return 0;
    case C_RESUME:
        printf("serving: accepting again\n");
        return 0;
    case C_PROBE: case C_TOP: break;
    }
    return -1;
}

static int run_control(const struct command *c, char **argv, const char *sock, bool json,
                       int timeout_ms, bool drain_exit)
{
    /* jansson loses what it cannot allocate without saying so
     * (jsonmem.h): a request or an answer it touched then is not used. */
    jsonmem_begin();
    json_t *req = build_request(c, argv, drain_exit);
    if (jsonmem_failed()) {
        fprintf(stderr, "h2gatectl: out of memory\n");
        json_decref(req);
        return EXIT_USAGE;
    }
    if (req == NULL)
        return EXIT_USAGE;
    int err_no = 0;
    char err[256];
    struct ctl_conn *conn = ctl_connect(sock, timeout_ms, &err_no, err, sizeof(err));
    if (conn == NULL) {
        const char *hint = "";
        if (err_no == ENOENT || err_no == ECONNREFUSED)
            hint = " (is h2gate running? see control.socket in h2gate.yaml)";
        else if (err_no == EACCES || err_no == EPERM)
            hint = " (the socket is mode 0600: run h2gatectl as the user h2gate runs as, or as root)";
        fprintf(stderr, "h2gatectl: cannot connect to %s: %s%s\n", sock, err, hint);
        json_decref(req);
        return EXIT_USAGE;
    }
    json_t *resp = ctl_request(conn, req, err, sizeof(err));
    ctl_close(conn);
    json_decref(req);
    if (resp == NULL) {
        fprintf(stderr, "h2gatectl: %s: %s\n", sock, err);
        return EXIT_USAGE;
    }

    int rc = 0;
    const json_t *result = json_object_get(resp, "result");
    if (!json_is_true(json_object_get(resp, "ok"))) {
        /* check: an invalid file is an answer, not a failure of the
         * request, but still exit 1 */
        if (json && result != NULL)
            print_json(c->kind == C_CHECK ? result : resp);
        else if (json)
            print_json(resp);
        char what[300];
        if (c->kind == C_CHECK)
            snprintf(what, sizeof(what), "%s", argv[0]);
        else if (c->nargs > 0)
            snprintf(what, sizeof(what), "%s %s", c->name, argv[0]);
        else
            snprintf(what, sizeof(what), "%s", c->name);
        print_errors(what, resp);
        rc = EXIT_FAILED;
    } else if (result == NULL) {
        fprintf(stderr, "h2gatectl: %s: answer without a result\n", c->name);
        rc = EXIT_USAGE;
    } else if (json) {
        print_json(result);
        if (c->kind == C_CHECK && !json_is_true(json_object_get(result, "valid")))
            rc = EXIT_FAILED;
    } else {
        if (render(c, result, argv) != 0)
            rc = EXIT_USAGE;
        if (c->kind == C_CHECK && !json_is_true(json_object_get(result, "valid"))) {
            print_errors(argv[0], resp);
            rc = EXIT_FAILED;
        }
    }
    json_decref(resp);
    if (fflush(stdout) != 0 && rc == 0)
        rc = EXIT_USAGE;
    if (jsonmem_failed() || ctl_render_incomplete()) {
        fprintf(stderr, "h2gatectl: out of memory: what was printed is incomplete\n");
        rc = EXIT_USAGE;
    }
    return rc;
}

static const struct command *find_command(const char *name)
{
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        if (strcmp(name, commands[i].name) == 0)
            return &commands[i];
    return NULL;
}

/* false (said on stderr) when an option belongs to another command. */
static bool options_fit(const struct command *c, bool probe_opt, bool drain_exit, bool top_opt, bool json)
{
    if (top_opt && c->kind != C_TOP) {
        fprintf(stderr, "h2gatectl: -d, -n and --sort are top options\n");
        return false;
    }
    if (json && c->kind == C_TOP) {
        fprintf(stderr, "h2gatectl: top has no --json (use sessions --json, tunnels --json)\n");
        return false;
    }
    if (probe_opt && c->kind != C_PROBE) {
        fprintf(stderr, "h2gatectl: --insecure, --h2c, --cacert and --connect-to are probe options\n");
        return false;
    }
    if (drain_exit && c->kind != C_DRAIN) {
        fprintf(stderr, "h2gatectl: --exit is a drain option\n");
        return false;
    }
    return true;
}

/* -d SECONDS, -n N, --sort KEY into `to`; -1 (said on stderr) when the
 * value is not one. */
static int top_option(int ch, const char *arg, struct ctl_top_opts *to)
{
    char *end;
    errno = 0;
    if (ch == 'd') {
        double d = strtod(arg, &end);
        if (*end != '\0' || end == arg || !(d >= 0.1) || d > 86400) {
            fprintf(stderr, "h2gatectl: -d: '%s' is not a number of seconds [0.1..86400]\n", arg);
            return -1;
        }
        to->delay_ms = (int)(d * 1000);
    } else if (ch == 'n') {
        long n = strtol(arg, &end, 10);
        if (errno != 0 || *end != '\0' || end == arg || n < 1) {
            fprintf(stderr, "h2gatectl: -n: '%s' is not a number of refreshes (1 or more)\n", arg);
            return -1;
        }
        to->iterations = n;
    } else {
        int k = ctl_top_sort_parse(arg);
        if (k < 0) {
            fprintf(stderr, "h2gatectl: --sort: '%s' is not bytes, age or streams\n", arg);
            return -1;
        }
        to->sort = (enum ctl_top_sort)k;
    }
    return 0;
}

/* -T SECONDS as milliseconds, or -1 (said on stderr). */
static int timeout_option(const char *arg)
{
    char *end;
    double s = strtod(arg, &end);
    if (*end != '\0' || end == arg || !(s > 0) || s > 86400) {
        fprintf(stderr, "h2gatectl: --timeout: '%s' is not a number of seconds (0..86400]\n", arg);
        return -1;
    }
    int ms = (int)(s * 1000);
    return ms < 1 ? 1 : ms;
}

int main(int argc, char **argv)
{
    enum { O_INSECURE = 256, O_H2C, O_CACERT, O_CONNECT_TO, O_EXIT, O_SORT };
    static const struct option opts[] = {
        {"socket", required_argument, NULL, 's'},
        {"json", no_argument, NULL, 'j'},
        {"timeout", required_argument, NULL, 'T'},
        {"version", no_argument, NULL, 'V'},
        {"help", no_argument, NULL, 'h'},
        {"insecure", no_argument, NULL, O_INSECURE},
        {"h2c", no_argument, NULL, O_H2C},
        {"cacert", required_argument, NULL, O_CACERT},
        {"connect-to", required_argument, NULL, O_CONNECT_TO},
        {"exit", no_argument, NULL, O_EXIT},
        {"sort", required_argument, NULL, O_SORT},
        {NULL, 0, NULL, 0},
    };
    failalloc_init();
    jsonmem_init();
    const char *sock = getenv("H2GATE_CONTROL");
    if (sock == NULL || sock[0] == '\0')
        sock = DEFAULT_SOCKET;
    bool json = false, probe_opt = false, drain_exit = false, top_opt = false;
    struct ctl_probe_opts po = {0};
    struct ctl_top_opts to = {.delay_ms = 1000, .sort = CTL_TOP_BYTES};
    int timeout_ms = 10000;
    int ch;
    while ((ch = getopt_long(argc, argv, "s:jT:Vhkd:n:", opts, NULL)) != -1) {
        switch (ch) {
        case 's': sock = optarg; break;
        case 'j': json = true; break;
        case 'T':
            if ((timeout_ms = timeout_option(optarg)) < 0)
                return EXIT_USAGE;
            break;
        case 'V': printf("h2gatectl %s\n", PACKAGE_VERSION); return 0;
        case 'h': usage(stdout); return 0;
        case 'k': /* curl's spelling of --insecure */
        case O_INSECURE: po.insecure = probe_opt = true; break;
        case O_H2C: po.h2c = probe_opt = true; break;
        case O_CACERT: po.cacert = optarg; probe_opt = true; break;
        case O_CONNECT_TO: po.connect = optarg; probe_opt = true; break;
        case O_EXIT: drain_exit = true; break;
        case 'd': case 'n': case O_SORT:
            if (top_option(ch, optarg, &to) != 0)
                return EXIT_USAGE;
            top_opt = true;
            break;
        default: usage(stderr); return EXIT_USAGE;
        }
    }
    if (optind >= argc) {
        usage(stderr);
        return EXIT_USAGE;
    }
    const struct command *c = find_command(argv[optind]);
    if (c == NULL) {
        fprintf(stderr, "h2gatectl: unknown command '%s' (see h2gatectl --help)\n", argv[optind]);
        return EXIT_USAGE;
    }
    int nargs = argc - optind - 1;
    if (nargs != c->nargs) {
        fprintf(stderr, "h2gatectl: usage: h2gatectl %s%s\n", c->name, c->args);
        return EXIT_USAGE;
    }
    if (!options_fit(c, probe_opt, drain_exit, top_opt, json))
        return EXIT_USAGE;
    if (c->kind == C_PROBE) {
        po.url = argv[optind + 1];
        po.json = json;
        po.timeout_ms = timeout_ms;
        return ctl_probe(&po);
    }
    if (c->kind == C_TOP) {
        to.socket = sock;
        to.timeout_ms = timeout_ms;
        return ctl_top(&to);
    }
    return run_control(c, argv + optind + 1, sock, json, timeout_ms, drain_exit);
}
