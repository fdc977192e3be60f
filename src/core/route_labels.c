#include "core/route_labels.h"

#include <stdlib.h>
#include <string.h>

static const char *const pseudo[H2G_SLOT_FIRST] = {"(none)", "(connect)", "(other)"};

int h2g_route_labels_init(struct h2g_route_labels *l)
{
    l->n = 0;
    l->v = calloc(H2G_ROUTE_SLOTS, sizeof(*l->v));
    if (l->v == NULL)
        return -1;
    for (size_t i = 0; i < H2G_SLOT_FIRST; i++) {
        l->v[i].origin = strdup(pseudo[i]);
        l->v[i].route = strdup(pseudo[i]);
        l->n++;
        if (l->v[i].origin == NULL || l->v[i].route == NULL) {
            h2g_route_labels_free(l);
            return -1;
        }
    }
    return 0;
}

void h2g_route_labels_free(struct h2g_route_labels *l)
{
    for (size_t i = 0; l->v != NULL && i < l->n; i++) {
        free(l->v[i].origin);
        free(l->v[i].route);
    }
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

const char *h2g_origin_label(const struct h2g_origin_config *o)
{
    return o->n_hosts > 0 ? o->hosts[0] : "(none)";
}

/* A linear search: a configuration holds tens of routes, and this runs
 * at load and reload only. */
static unsigned slot_of(struct h2g_route_labels *l, const char *origin, const char *route)
{
    for (size_t i = H2G_SLOT_FIRST; i < l->n; i++)
        if (strcmp(l->v[i].origin, origin) == 0 && strcmp(l->v[i].route, route) == 0)
            return (unsigned)i;
    if (l->n >= H2G_ROUTE_SLOTS)
        return H2G_SLOT_OTHER;
    char *o = strdup(origin), *r = strdup(route);
    if (o == NULL || r == NULL) {
        free(o);
        free(r);
        return H2G_SLOT_OTHER;
    }
    l->v[l->n].origin = o;
    l->v[l->n].route = r;
    return (unsigned)l->n++;
}

size_t h2g_route_labels_assign(struct h2g_route_labels *l, struct h2g_config *c)
{
    for (size_t i = 0; i < c->n_origins; i++) {
        struct h2g_origin_config *o = &c->origins[i];
        for (size_t j = 0; j < o->n_routes; j++)
            o->routes[j].stats_slot = l->v != NULL ? slot_of(l, h2g_origin_label(o), o->routes[j].path)
                                                   : H2G_SLOT_OTHER;
    }
    return l->n;
}
