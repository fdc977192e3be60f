/*
 * control.h: the control socket h2gatectl talks to (man h2gatectl(8)):
 * a unix stream socket, mode 0600, one JSON request per line, one JSON
 * answer per line ({"ok":true,"result":...} or {"ok":false,"error":...}).
 *
 * Created by the process on its main thread before privileges are
 * dropped, freed at shutdown; it owns its listener and client
 * connections.  Requests that need the workers' data (sessions, tunnels)
 * are answered asynchronously once every worker replied.
 */
#ifndef H2G_CONTROL_H
#define H2G_CONTROL_H

struct h2g_process;
struct h2g_control;

/* NULL (error logged) if the socket cannot be created. */
struct h2g_control *control_new(struct h2g_process *p, const char *path);
void control_free(struct h2g_control *c);

#endif
