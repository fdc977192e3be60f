#include "process/ticket_sync.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/memcached.h"
#include "core/ticket_keys.h"
#include "runtime/log.h"

#define MC_KEY "h2gate:ticket-keys"
#define REFRESH_S 60
#define ROTATE_S 3600 /* the value's expiry: then someone adds new keys */
#define IO_TIMEOUT_S 5

enum mc_state {
    MC_IDLE, /* no conversation */
    MC_GET,  /* "get" sent, its reply awaited */
    MC_ADD,  /* "add" of keys we made sent, its reply awaited */
};

struct server {
    struct h2g_ticket_sync *ts;
    char *name;                    /* "host:port" as written */
    struct h2g_hostport addr;
    struct h2g_ticket_store *store; /* owned reference */
    struct h2g_ticket_keys_text last; /* the keys in the store (n 0: our
                                         own random key, none from memcached) */
    struct h2g_ticket_keys_text made; /* MC_ADD: the keys we offered */
    enum mc_state state;
    int gets;                      /* "get"s in this round (add lost: 2) */
    bool failing;                  /* the last round failed (logged once) */
    struct bufferevent *bev;       /* the round's connection, or NULL */
    struct event *timer;
};

struct h2g_ticket_sync {
    struct event_base *base; /* NULL until started */
    struct evdns_base *dns;
    struct server **servers;
    size_t n_servers;
};

/* One random key: 80 bytes, in the text format (108 base64 characters). */
static bool random_key(struct h2g_ticket_key *k, char b64[H2G_TICKET_KEY_B64_LEN + 1])
{
    unsigned char raw[H2G_TICKET_KEY_LEN];
    if (RAND_bytes(raw, sizeof(raw)) != 1)
        return false;
    if (k != NULL) {
        memcpy(k->name, raw, sizeof(k->name));
        memcpy(k->aes, raw + sizeof(k->name), sizeof(k->aes));
        memcpy(k->hmac, raw + sizeof(k->name) + sizeof(k->aes), sizeof(k->hmac));
    }
    if (b64 != NULL)
        EVP_EncodeBlock((unsigned char *)b64, raw, sizeof(raw));
    OPENSSL_cleanse(raw, sizeof(raw));
    return true;
}

static void round_end(struct server *s)
{
    if (s->bev != NULL)
        bufferevent_free(s->bev);
    s->bev = NULL;
    s->state = MC_IDLE;
    OPENSSL_cleanse(&s->made, sizeof(s->made));
}

static void round_failed(struct server *s, const char *why)
{
    if (!s->failing)
        LOG_WARN("ticket keys: memcached %s: %s; keeping the last keys", s->name, why);
    s->failing = true;
    round_end(s);
}

/* Puts keys (checked text) in the store; false after logging. */
static bool apply(struct server *s, const struct h2g_ticket_keys_text *kt)
{
    struct h2g_ticket_key keys[H2G_TICKET_KEYS_MAX];
    char err[256];
    int n = ticket_keys_decode(kt, s->name, keys, err, sizeof(err));
    if (n < 0) {
        round_failed(s, err);
        return false;
    }
    bool changed = s->last.n != kt->n || memcmp(s->last.keys, kt->keys, sizeof(kt->keys[0]) * kt->n) != 0;
    ticket_store_set(s->store, keys, (size_t)n);
    OPENSSL_cleanse(keys, sizeof(keys));
    s->last = *kt;
    if (s->failing)
        LOG_INFO("ticket keys: memcached %s answers again", s->name);
    else if (changed)
        LOG_INFO("ticket keys: %d key(s) from memcached %s", n, s->name);
    s->failing = false;
    return true;
}

static void send_get(struct server *s)
{
    s->state = MC_GET;
    s->gets++;
    evbuffer_add_printf(bufferevent_get_output(s->bev), "get " MC_KEY "\r\n");
}

/* The key is absent: a new key first, then the first one we had. */
static void send_add(struct server *s)
{
    struct h2g_ticket_keys_text *m = &s->made;
    memset(m, 0, sizeof(*m));
    if (!random_key(NULL, m->keys[0].b64)) {
        round_failed(s, "no random bytes for a new key");
        return;
    }
    m->n = 1;
    if (s->last.n > 0)
        m->keys[m->n++] = s->last.keys[0];
    char text[2 * (H2G_TICKET_KEY_B64_LEN + 1) + 1] = "";
    for (size_t i = 0; i < m->n; i++) {
        m->keys[i].line = (unsigned)i + 1;
        strcat(strcat(text, m->keys[i].b64), "\n");
    }
    s->state = MC_ADD;
    evbuffer_add_printf(bufferevent_get_output(s->bev), "add " MC_KEY " 0 %d %zu\r\n%s\r\n", ROTATE_S,
                        strlen(text), text);
    OPENSSL_cleanse(text, sizeof(text));
}

/* A value: the keys, checked as a file's. */
static void got_value(struct server *s, const char *val, size_t vlen)
{
    struct h2g_ticket_keys_text kt;
    unsigned line;
    const char *err = h2g_ticket_keys_parse(val, vlen, &kt, &line);
    if (err != NULL) {
        char why[256];
        snprintf(why, sizeof(why), "the value of " MC_KEY ":%u: %s", line, err);
        round_failed(s, why);
        return;
    }
    if (apply(s, &kt))
        round_end(s);
    OPENSSL_cleanse(&kt, sizeof(kt));
}

/* One reply in in: the next step.  false: more bytes are needed. */
static bool step(struct server *s, struct evbuffer *in)
{
    size_t len = evbuffer_get_length(in), used = 0, off = 0, vlen = 0;
    const char *buf = (const char *)evbuffer_pullup(in, -1);
    enum h2g_mc_reply r;
    const char *err = buf == NULL ? "out of memory"
                      : s->state == MC_GET
                          ? h2g_mc_parse_get(buf, len, H2G_TICKET_KEYS_FILE_MAX, &r, &used, &off, &vlen)
                          : h2g_mc_parse_store(buf, len, &r, &used);
    if (err != NULL) {
        round_failed(s, err);
        return true;
    }
    if (r == H2G_MC_INCOMPLETE)
        return false;
    if (r == H2G_MC_VALUE) {
        got_value(s, buf + off, vlen);
        return true;
    }
    evbuffer_drain(in, used);
    if (r == H2G_MC_MISS && s->gets < 2)
        send_add(s);
    else if (r == H2G_MC_MISS)
        round_failed(s, MC_KEY " absent again after an add lost to another");
    else if (r == H2G_MC_STORED && apply(s, &s->made))
        round_end(s);
    else if (r == H2G_MC_NOT_STORED)
        send_get(s); /* another instance added first: take its keys */
    return s->state == MC_IDLE;
}

static void read_cb(struct bufferevent *bev, void *arg)
{
    struct server *s = arg;
    while (s->state != MC_IDLE && !step(s, bufferevent_get_input(bev)))
        return;
}

static void event_cb(struct bufferevent *bev, short what, void *arg)
{
    struct server *s = arg;
    if (what & BEV_EVENT_CONNECTED)
        return;
    char why[128];
    int dns_err = bufferevent_socket_get_dns_error(bev);
    if (what & BEV_EVENT_TIMEOUT)
        snprintf(why, sizeof(why), "no answer within %d s", IO_TIMEOUT_S);
    else if (dns_err != 0)
        snprintf(why, sizeof(why), "%s", evutil_gai_strerror(dns_err));
    else if (what & BEV_EVENT_EOF)
        snprintf(why, sizeof(why), "connection closed");
    else
        snprintf(why, sizeof(why), "%s", evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
    round_failed(s, why);
}

/* A round: connect, get (and maybe add), close.  Skipped while one runs,
 * or when no TLS context uses the store any more (a reload dropped the
 * listener). */
static void round_start(evutil_socket_t fd, short what, void *arg)
{
    struct server *s = arg;
    if (s->state != MC_IDLE || !ticket_store_in_use(s->store))
        return;
    s->bev = bufferevent_socket_new(s->ts->base, -1, BEV_OPT_CLOSE_ON_FREE);
    if (s->bev == NULL) {
        round_failed(s, "out of memory");
        return;
    }
    struct timeval tv = {IO_TIMEOUT_S, 0};
    bufferevent_set_timeouts(s->bev, &tv, &tv);
    bufferevent_setcb(s->bev, read_cb, NULL, event_cb, s);
    s->gets = 0;
    send_get(s);
    if (bufferevent_enable(s->bev, EV_READ | EV_WRITE) != 0 ||
        bufferevent_socket_connect_hostname(s->bev, s->ts->dns, AF_UNSPEC, s->addr.host, s->addr.port) != 0)
        round_failed(s, "cannot connect");
}

static int server_start(struct h2g_ticket_sync *ts, struct server *s)
{
    s->timer = event_new(ts->base, -1, EV_PERSIST, round_start, s);
    struct timeval every = {REFRESH_S, 0};
    if (s->timer == NULL || event_add(s->timer, &every) != 0)
        return -1;
    event_active(s->timer, EV_TIMEOUT, 0);
    return 0;
}

static void server_free(struct server *s)
{
    if (s == NULL)
        return;
    round_end(s);
    if (s->timer != NULL)
        event_free(s->timer);
    ticket_store_unref(s->store);
    OPENSSL_cleanse(&s->last, sizeof(s->last));
    free(s->name);
    free(s);
}

static struct server *server_new(struct h2g_ticket_sync *ts, const struct h2g_tls_config *tc)
{
    struct server *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return NULL;
    s->ts = ts;
    s->addr = tc->ticket_keys_memcached_addr;
    struct h2g_ticket_key own;
    s->name = strdup(tc->ticket_keys_memcached);
    if (s->name == NULL || !random_key(&own, NULL) || (s->store = ticket_store_new(&own, 1)) == NULL ||
        (ts->base != NULL && server_start(ts, s) != 0)) {
        server_free(s);
        s = NULL;
    }
    OPENSSL_cleanse(&own, sizeof(own));
    return s;
}

int ticket_sync_store(struct h2g_ticket_sync *ts, const struct h2g_tls_config *tc,
                      struct h2g_ticket_store **out)
{
    *out = NULL;
    if (tc == NULL || tc->ticket_keys_memcached == NULL)
        return 0;
    for (size_t i = 0; i < ts->n_servers; i++) {
        if (strcmp(ts->servers[i]->name, tc->ticket_keys_memcached) == 0) {
            *out = ts->servers[i]->store;
            return 0;
        }
    }
    struct server **v = realloc(ts->servers, (ts->n_servers + 1) * sizeof(*v));
    if (v == NULL)
        return -1;
    ts->servers = v;
    struct server *s = server_new(ts, tc);
    if (s == NULL)
        return -1;
    ts->servers[ts->n_servers++] = s;
    *out = s->store;
    return 0;
}

struct h2g_ticket_sync *ticket_sync_new(void)
{
    return calloc(1, sizeof(struct h2g_ticket_sync));
}

int ticket_sync_start(struct h2g_ticket_sync *ts, struct event_base *base)
{
    ts->base = base;
    ts->dns = evdns_base_new(base, EVDNS_BASE_INITIALIZE_NAMESERVERS | EVDNS_BASE_DISABLE_WHEN_INACTIVE);
    if (ts->dns == NULL)
        ts->dns = evdns_base_new(base, 0); /* no resolv.conf: numeric addresses still work */
    if (ts->dns == NULL)
        return -1;
    for (size_t i = 0; i < ts->n_servers; i++)
        if (server_start(ts, ts->servers[i]) != 0)
            return -1;
    return 0;
}

void ticket_sync_refresh(struct h2g_ticket_sync *ts)
{
    for (size_t i = 0; ts->base != NULL && i < ts->n_servers; i++)
        if (ts->servers[i]->timer != NULL)
            event_active(ts->servers[i]->timer, EV_TIMEOUT, 0);
}

void ticket_sync_free(struct h2g_ticket_sync *ts)
{
    if (ts == NULL)
        return;
    for (size_t i = 0; i < ts->n_servers; i++)
        server_free(ts->servers[i]);
    free(ts->servers);
    if (ts->dns != NULL)
        evdns_base_free(ts->dns, 0);
    free(ts);
}
