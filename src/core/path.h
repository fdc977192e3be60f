/*
 * path.h: request-path normalization (RFC 3986 6.2.2 and 5.2.4), so that
 * routes match the resource the upstream will serve and not a spelling
 * of it ("/public/../admin" is "/admin"; Envoy CVE-2019-9901).
 *
 * Pure: no allocation, works on the caller's bytes.  The normalized path
 * is never longer than the original, so it is written over it.
 */
#ifndef H2G_PATH_H
#define H2G_PATH_H

#include <stddef.h>

/*
 * Normalizes a :path value in place.
 *
 * Input: p[0..len), the request-target as the client sent it (HTTP/2
 * :path, or the HTTP/1.1 origin-form target); not NUL-terminated.
 * The path part ends at the first '?'; the query, from that '?' on, is
 * kept byte for byte (only checked for the bytes refused below).
 *
 * In the path part, in this order:
 *   - a percent-escape of an unreserved character (ALPHA DIGIT - . _ ~,
 *     hex digits in any case) is decoded: "%7euser" -> "~user";
 *   - every other escape stays encoded, hex digits upper-cased
 *     (RFC 3986 6.2.2.1): "%2f" -> "%2F".  "%2F" is data, never a
 *     separator, and is decoded once only ("%252e" stays "%252e");
 *   - dot-segments are removed (RFC 3986 5.2.4, on the decoded bytes):
 *     "/a/./b" -> "/a/b", "/a/b/.." -> "/a/", and ".." above the root
 *     stays at the root: "/../x" -> "/x", "/.." -> "/".
 * Slashes are not merged ("//a" stays, as in RFC 3986).  A backslash,
 * ';' and any other byte are data, not separators: "/..;/" and "/..\"
 * are not dot-segments.
 *
 * "*" (OPTIONS *, RFC 9112 3.2.4) is returned unchanged.
 *
 * Output: *out_len, the new length (<= len); p[0..*out_len) holds the
 * normalized path and query.  Bytes past *out_len are unspecified.
 *
 * Errors: H2G_ERR_MALFORMED (the request gets 400), p left unchanged:
 *   - empty, or not starting with '/' and not "*" (absolute-form must be
 *     split first: h2g_path_absolute_form);
 *   - a raw control byte (0x00-0x1F, 0x7F) anywhere, query included;
 *   - a raw '#' anywhere (a request-target has no fragment; forwarding
 *     one lets route and upstream disagree on where the path ends);
 *   - in the path part, an escape of a control byte (%00-%1F, %7F), or a
 *     '%' not followed by two hex digits ("%zz", "%4").
 */
int h2g_path_normalize(char *p, size_t len, size_t *out_len);

/*
 * Splits an HTTP/1.1 absolute-form request-target (RFC 9112 3.2.2,
 * "http://host:8080/p?q", what clients configured for a proxy send) into
 * its authority and what follows it.
 *
 * Input: t[0..len).  The scheme must be "http" or "https" (any case).
 * Output: *authority (borrowed from t, not empty, no userinfo) and *rest,
 * the path and query after it: may be empty ("http://host") or start
 * with '?' or '#' ("http://host?q"); the caller makes that "/" + rest.
 * Errors: H2G_ERR_MALFORMED when t is not such a target (another scheme,
 * no "//", an empty host, userinfo, which RFC 9110 4.2.4 deprecates).
 */
int h2g_path_absolute_form(const char *t, size_t len, const char **authority, size_t *authority_len,
                           const char **rest, size_t *rest_len);

#endif
