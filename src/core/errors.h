/*
 * errors.h: the error convention of h2gate's core.
 *
 * Core functions return 0 or a negative H2G_ERR_*; parsers return NULL on
 * success or a static message.  H2G_ERR_IS_FATAL tells errors that must end
 * the whole client connection from those that end one stream.
 */
#ifndef H2G_ERRORS_H
#define H2G_ERRORS_H

enum {
    H2G_OK = 0,
    H2G_ERR_NOMEM = -1,      /* allocation failed (fatal) */
    H2G_ERR_MALFORMED = -2,  /* peer sent a message we must reject */
    H2G_ERR_TOO_LARGE = -3,  /* a configured cap was exceeded */
    H2G_ERR_INCOMPLETE = -4, /* message ended early (EOF mid-body) */
    H2G_ERR_IO = -5,         /* socket error */
    H2G_ERR_TIMEOUT = -6,
    H2G_ERR_PAUSED = -7,     /* parser stopped at a point the caller asked for */
};

#define H2G_ERR_IS_FATAL(e) ((e) == H2G_ERR_NOMEM)

/* The message a parser returns when it ran out of memory, told apart by
 * its address: that is h2gate's failure (503, "out of memory"), not the
 * input's (400, a configuration error). */
extern const char h2g_msg_nomem[];

#endif
