/*
 * path.c: request-path normalization (src/core/path.h), what every request is
 * routed on.
 *
 * Input: byte 0 picks the entry (even: h2g_path_normalize on the rest, as
 * for an HTTP/2 :path; odd: h2g_path_absolute_form first, then the path
 * it yields made origin-form as h1_session.c does); the rest is the
 * request-target, in a heap block of exactly its size.
 *
 * Checked on success: the output is no longer than the input, starts with
 * '/' (or is "*"), holds no control byte or '#', no dot-segment and no
 * escape that should have been decoded or upper-cased in its path part;
 * it equals what a plain RFC 3986 5.2.4 remove_dot_segments gives after
 * the decoding path.h describes; normalizing it again changes nothing.
 */
#include <stdbool.h>
#include <string.h>

#include "core/errors.h"
#include "fuzz.h"
#include "core/path.h"

static int hexval(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static bool unreserved(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~';
}

/* The reference: decode (path.h's rules) into out, then RFC 3986 5.2.4
 * on the path part, written the way the RFC states it (slow and plain).
 * Returns the length, or (size_t)-1 where path.h says the input is
 * refused. */
static size_t reference(const char *in, size_t len, char *out)
{
    if (len == 1 && in[0] == '*') {
        out[0] = '*';
        return 1;
    }
    if (len == 0 || in[0] != '/')
        return (size_t)-1;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)in[i];
        if (c < 0x20 || c == 0x7f || c == '#')
            return (size_t)-1;
    }
    size_t qpos = len;
    for (size_t i = 0; i < len; i++)
        if (in[i] == '?') {
            qpos = i;
            break;
        }
    /* Decoding: unreserved escapes become their byte, others upper-case. */
    char *dec = fuzz_dup(in, len, 1);
    size_t dl = 0;
    for (size_t i = 0; i < qpos; i++) {
        if (in[i] != '%') {
            dec[dl++] = in[i];
            continue;
        }
        /* Both digits in the path part ("%4?" is refused). */
        int h = i + 2 < qpos ? hexval((unsigned char)in[i + 1]) : -1;
        int l = i + 2 < qpos ? hexval((unsigned char)in[i + 2]) : -1;
        if (h < 0 || l < 0) {
            free(dec);
            return (size_t)-1;
        }
        unsigned char v = (unsigned char)(h * 16 + l);
        if (v < 0x20 || v == 0x7f) {
            free(dec);
            return (size_t)-1;
        }
        if (unreserved(v)) {
            dec[dl++] = (char)v;
        } else {
            static const char hx[] = "0123456789ABCDEF";
            dec[dl++] = '%';
            dec[dl++] = hx[v >> 4];
            dec[dl++] = hx[v & 15];
        }
        i += 2;
    }
    /* RFC 3986 5.2.4 on dec[0..dl): the input buffer is a moving window. */
    const char *ib = dec;
    size_t il = dl;
    size_t ol = 0;
    while (il > 0) {
        if (il >= 3 && memcmp(ib, "../", 3) == 0) {
            ib += 3, il -= 3;
        } else if (il >= 2 && memcmp(ib, "./", 2) == 0) {
            ib += 2, il -= 2;
        } else if (il >= 3 && memcmp(ib, "/./", 3) == 0) {
            ib += 2, il -= 2;
        } else if (il == 2 && memcmp(ib, "/.", 2) == 0) {
            ib += 1, il -= 1;
            ((char *)ib)[0] = '/';
        } else if ((il >= 4 && memcmp(ib, "/../", 4) == 0) || (il == 3 && memcmp(ib, "/..", 3) == 0)) {
            if (il == 3) {
                ib += 2, il -= 2;
                ((char *)ib)[0] = '/';
            } else {
                ib += 3, il -= 3;
            }
            while (ol > 0 && out[ol - 1] != '/')
                ol--;
            if (ol > 0)
                ol--;
        } else if ((il == 1 && ib[0] == '.') || (il == 2 && memcmp(ib, "..", 2) == 0)) {
            il = 0;
        } else {
            size_t k = 1;
            while (k < il && ib[k] != '/')
                k++;
            memcpy(out + ol, ib, k);
            ol += k;
            ib += k, il -= k;
        }
    }
    free(dec);
    memcpy(out + ol, in + qpos, len - qpos);
    return ol + (len - qpos);
}

static void check_normalized(const char *p, size_t n)
{
    if (n == 1 && p[0] == '*')
        return;
    FUZZ_CHECK(n > 0 && p[0] == '/');
    size_t q = 0;
    while (q < n && p[q] != '?')
        q++;
    for (size_t i = 0; i < n; i++)
        FUZZ_CHECK((unsigned char)p[i] >= 0x20 && p[i] != 0x7f && p[i] != '#');
    for (size_t i = 0; i < q; i++) {
        if (p[i] == '%') {
            /* Left encoded: two upper-case hex digits of a reserved byte. */
            FUZZ_CHECK(i + 2 < q);
            int h = hexval((unsigned char)p[i + 1]), l = hexval((unsigned char)p[i + 2]);
            FUZZ_CHECK(h >= 0 && l >= 0);
            FUZZ_CHECK(!(p[i + 1] >= 'a' && p[i + 1] <= 'f') && !(p[i + 2] >= 'a' && p[i + 2] <= 'f'));
            FUZZ_CHECK(!unreserved((unsigned char)(h * 16 + l)));
        }
        if (p[i] == '/') {
            /* No "." or ".." segment. */
            size_t e = i + 1;
            while (e < q && p[e] != '/')
                e++;
            size_t sl = e - i - 1;
            FUZZ_CHECK(!(sl == 1 && p[i + 1] == '.'));
            FUZZ_CHECK(!(sl == 2 && p[i + 1] == '.' && p[i + 2] == '.'));
        }
    }
}

/* Normalizes t[0..len) (borrowed) and checks the result. */
static void normalize_and_check(const char *t, size_t len)
{
    char *p = fuzz_dup(t, len, 0);
    char *ref = fuzz_dup(t, len, 1);
    size_t out = (size_t)-1;
    int rc = h2g_path_normalize(p, len, &out);
    size_t want = reference(t, len, ref);
    if (rc != 0) {
        FUZZ_CHECK(rc == H2G_ERR_MALFORMED);
        FUZZ_CHECK(memcmp(p, t, len) == 0); /* "p left unchanged" */
        FUZZ_CHECK(want == (size_t)-1);
        free(ref);
        free(p);
        return;
    }
    FUZZ_CHECK(out <= len);
    check_normalized(p, out);
    if (want != out || memcmp(p, ref, out) != 0) {
        fprintf(stderr, "in  %.*s\nout %.*s\nref %.*s\n", (int)len, t, (int)out, p,
                want == (size_t)-1 ? 7 : (int)want, want == (size_t)-1 ? "refused" : ref);
        FUZZ_CHECK(!"differs from RFC 3986 5.2.4");
    }
    /* Idempotent. */
    char *again = fuzz_dup(p, out, 0);
    size_t out2 = (size_t)-1;
    FUZZ_CHECK(h2g_path_normalize(again, out, &out2) == 0);
    FUZZ_CHECK(out2 == out && memcmp(again, p, out) == 0);
    free(again);
    free(ref);
    free(p);
}

int fuzz_path(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    bool absolute = data[0] & 1;
    const char *t = fuzz_dup(data + 1, size - 1, 0);
    size_t len = size - 1;
    if (!absolute) {
        normalize_and_check(t, len);
        free((void *)t);
        return 0;
    }
    const char *auth = NULL, *rest = NULL;
    size_t auth_len = 0, rest_len = 0;
    if (h2g_path_absolute_form(t, len, &auth, &auth_len, &rest, &rest_len) == 0) {
        /* Borrowed from t, in order, the authority not empty and without
         * userinfo or a path. */
        FUZZ_CHECK(auth >= t && auth_len > 0 && auth + auth_len <= t + len);
        FUZZ_CHECK(rest >= auth + auth_len && rest + rest_len == t + len);
        FUZZ_CHECK(memchr(auth, '@', auth_len) == NULL && memchr(auth, '/', auth_len) == NULL);
        FUZZ_CHECK(memchr(auth, '?', auth_len) == NULL && memchr(auth, '#', auth_len) == NULL);
        FUZZ_CHECK(rest_len == 0 || rest[0] == '/' || rest[0] == '?' || rest[0] == '#');
        if (rest_len > 0 && rest[0] == '/') {
            normalize_and_check(rest, rest_len);
        } else {
            /* h1_session.c: "http://host?q" is "/?q". */
            char *o = malloc(rest_len + 1);
            if (o == NULL)
                abort();
            o[0] = '/';
            memcpy(o + 1, rest, rest_len);
            normalize_and_check(o, rest_len + 1);
            free(o);
        }
    }
    free((void *)t);
    return 0;
}

H2G_FUZZ_TARGET(fuzz_path)
