#include "h1_session.h"

#include <stdlib.h>

#include "conn.h"

struct h2g_h1_session {
    struct h2g_conn *conn;
};

struct h2g_h1_session *h1_session_new(struct h2g_conn *c)
{
    return NULL;
}

void h1_session_free(struct h2g_h1_session *h)
{
    free(h);
}

void h1_session_on_read(struct h2g_h1_session *h)
{
}

void h1_session_on_write(struct h2g_h1_session *h)
{
}

void h1_session_drain(struct h2g_h1_session *h)
{
}
