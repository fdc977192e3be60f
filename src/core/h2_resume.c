#include "core/h2_resume.h"

#include <string.h>

/* The values a session starts with (RFC 9113 6.5.2), by id; the ones
 * without a default in the RFC (1 MAX_CONCURRENT_STREAMS, 6
 * MAX_HEADER_LIST_SIZE: unlimited) as nghttp2 reports them. */
static uint32_t default_value(int id)
{
    switch (id) {
    case NGHTTP2_SETTINGS_HEADER_TABLE_SIZE: return 4096;
    case NGHTTP2_SETTINGS_ENABLE_PUSH: return 1;
    case NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS: return UINT32_MAX;
    case NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE: return 65535;
    case NGHTTP2_SETTINGS_MAX_FRAME_SIZE: return 16384;
    case NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE: return UINT32_MAX;
    default: return 0;
    }
}

/* Ids whose values a client may send and nghttp2 keeps: 7 is unassigned;
 * 9 (NO_RFC7540_PRIORITIES) is kept only as 0 or 1. */
static bool replayable(int id, uint32_t v)
{
    return id != 7 && (id != 9 || v <= 1);
}

bool h2g_h2_resume_capture(nghttp2_session *ng, int32_t last_stream, struct h2g_h2_resume *r)
{
    memset(r, 0, sizeof(*r));
    /* Our own table need not be empty (h2_resume.h); the client's must. */
    if (nghttp2_session_get_hd_inflate_dynamic_table_size(ng) != 0 || nghttp2_session_want_write(ng) ||
        nghttp2_session_get_effective_recv_data_length(ng) != 0)
        return false;
    int32_t processed = nghttp2_session_get_last_proc_stream_id(ng);
    r->last_stream = last_stream > processed ? last_stream : processed;
    r->remote_window = nghttp2_session_get_remote_window_size(ng);
    for (int id = 1; id <= H2G_RESUME_NSET; id++) {
        if (id == 7)
            continue; /* unassigned: nghttp2 asserts on it */
        uint32_t v = nghttp2_session_get_remote_settings(ng, (nghttp2_settings_id)id);
        r->value[id] = v;
        if (v != default_value(id) && replayable(id, v))
            r->set |= (uint16_t)(1u << id);
    }
    /* What the client's window is short of is replayed as DATA on the
     * last stream, within that stream's window. */
    int32_t short_by = NGHTTP2_INITIAL_CONNECTION_WINDOW_SIZE - r->remote_window;
    return short_by <= 0 ||
           (r->last_stream > 0 && (uint32_t)short_by <= r->value[NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE]);
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* A frame header: length, type, flags, stream 0. */
static void frame_header(uint8_t *p, uint32_t len, uint8_t type, uint8_t flags)
{
    p[0] = (uint8_t)(len >> 16);
    p[1] = (uint8_t)(len >> 8);
    p[2] = (uint8_t)len;
    p[3] = type;
    p[4] = flags;
    put32(p + 5, 0);
}

/* DATA of zeros, as many bytes as *source->ptr says. */
static ssize_t zeros(nghttp2_session *ng, int32_t stream_id, uint8_t *buf, size_t length, uint32_t *flags,
                     nghttp2_data_source *source, void *ud)
{
    int32_t *left = source->ptr;
    size_t n = (size_t)*left < length ? (size_t)*left : length;
    memset(buf, 0, n);
    *left -= (int32_t)n;
    if (*left == 0)
        *flags |= NGHTTP2_DATA_FLAG_EOF;
    return (ssize_t)n;
}

/* Sends what the session has queued into nowhere. */
static int drop_output(nghttp2_session *ng)
{
    const uint8_t *data;
    ssize_t n;
    while ((n = nghttp2_session_mem_send(ng, &data)) > 0)
        ;
    return n < 0 ? (int)n : 0;
}

static int feed(nghttp2_session *ng, const uint8_t *p, size_t len)
{
    ssize_t n = nghttp2_session_mem_recv(ng, p, len);
    if (n < 0)
        return (int)n;
    if ((size_t)n != len)
        return NGHTTP2_ERR_PROTO;
    return drop_output(ng);
}

/* The client's last stream, so that nghttp2 counts stream ids from it
 * (a lower id is an error, a frame on it belongs to a closed stream): a
 * request whose header block takes nothing from either HPACK table
 * (static entries, a literal not indexed), answered at once with the
 * DATA the client's connection window is short of. */
static int replay_last_stream(nghttp2_session *ng, const struct h2g_h2_resume *r)
{
    static const uint8_t block[] = {0x82, 0x86, 0x84, 0x01, 0x01, 'a'}; /* GET http:// a / */
    uint8_t f[9 + sizeof(block)];
    frame_header(f, sizeof(block), NGHTTP2_HEADERS, NGHTTP2_FLAG_END_STREAM | NGHTTP2_FLAG_END_HEADERS);
    put32(f + 5, (uint32_t)r->last_stream);
    memcpy(f + 9, block, sizeof(block));
    int rv = feed(ng, f, sizeof(f));
    int32_t left = NGHTTP2_INITIAL_CONNECTION_WINDOW_SIZE - r->remote_window;
    nghttp2_nv status = {(uint8_t *)":status", (uint8_t *)"200", 7, 3, NGHTTP2_NV_FLAG_NONE};
    nghttp2_data_provider zero_bytes = {.source.ptr = &left, .read_callback = zeros};
    if (rv == 0)
        rv = nghttp2_submit_response(ng, r->last_stream, &status, 1, left > 0 ? &zero_bytes : NULL);
    if (rv == 0)
        rv = drop_output(ng);
    return rv == 0 && left > 0 ? NGHTTP2_ERR_FLOW_CONTROL : rv;
}

int h2g_h2_resume_replay(nghttp2_session *ng, const struct h2g_h2_resume *r)
{
    /* Our SETTINGS must have gone out before the ACK that answers them. */
    int rv = drop_output(ng);
    uint8_t buf[24 + 9];
    memcpy(buf, NGHTTP2_CLIENT_MAGIC, 24);
    frame_header(buf + 24, 0, NGHTTP2_SETTINGS, NGHTTP2_FLAG_NONE);
    if (rv == 0)
        rv = feed(ng, buf, sizeof(buf));
    /* One SETTINGS frame per value: within any max_settings, and each ACK
     * is drained before the next (max_outbound_ack). */
    for (int id = 1; rv == 0 && id <= H2G_RESUME_NSET; id++) {
        if (!(r->set & (1u << id)))
            continue;
        uint8_t f[9 + 6];
        frame_header(f, 6, NGHTTP2_SETTINGS, NGHTTP2_FLAG_NONE);
        f[9] = 0;
        f[10] = (uint8_t)id;
        put32(f + 11, r->value[id]);
        rv = feed(ng, f, sizeof(f));
    }
    if (rv == 0) {
        uint8_t ack[9];
        frame_header(ack, 0, NGHTTP2_SETTINGS, NGHTTP2_FLAG_ACK);
        rv = feed(ng, ack, sizeof(ack));
    }
    if (rv == 0 && r->last_stream > 0)
        rv = replay_last_stream(ng, r);
    int32_t credit = r->remote_window - NGHTTP2_INITIAL_CONNECTION_WINDOW_SIZE;
    if (rv == 0 && credit > 0) {
        uint8_t wu[9 + 4];
        frame_header(wu, 4, NGHTTP2_WINDOW_UPDATE, NGHTTP2_FLAG_NONE);
        put32(wu + 9, (uint32_t)credit);
        rv = feed(ng, wu, sizeof(wu));
    }
    return rv;
}
