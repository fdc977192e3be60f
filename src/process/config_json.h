/*
 * config_json.h: a configuration snapshot as JSON (h2gatectl config: the
 * effective configuration, defaults filled in) and what differs between
 * two snapshots (h2gatectl check FILE).  Sizes are bytes, durations ms.
 */
#ifndef H2G_CONFIG_JSON_H
#define H2G_CONFIG_JSON_H

#include <jansson.h>

#include "core/config.h"

json_t *config_to_json(const struct h2g_config *c);
/* {"listeners":{"added":[],"removed":[]},"origins":{...},"routes":{...},
 *  "limits":{"key":[old,new]},"timeouts":{...},"other":{...}} */
json_t *config_diff(const struct h2g_config *old, const struct h2g_config *new_);

#endif
