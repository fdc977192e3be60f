#include "runtime/ssl_reason.h"

#include <openssl/err.h>
#include <stdbool.h>
#include <stdio.h>

const char *h2g_ssl_reason(char *buf, size_t len)
{
    unsigned long first = ERR_get_error(), e = first;
    bool nomem = first == 0;
    while (e != 0 && !nomem) {
        nomem = ERR_GET_REASON(e) == ERR_R_MALLOC_FAILURE;
        e = ERR_get_error();
    }
    if (nomem)
        snprintf(buf, len, "out of memory");
    else
        ERR_error_string_n(first, buf, len);
    ERR_clear_error();
    return buf;
}
