/* One Suite per core module; tests/unit/check_<module>.c defines it. */
#ifndef H2G_SUITES_H
#define H2G_SUITES_H
#include <check.h>
Suite *units_suite(void);
Suite *config_suite(void);
Suite *acl_suite(void);
Suite *route_suite(void);
Suite *route_labels_suite(void);
Suite *h2_resume_suite(void);
Suite *path_suite(void);
Suite *balance_suite(void);
Suite *addrset_suite(void);
Suite *hdr_suite(void);
Suite *h2_to_h1_suite(void);
Suite *h2_to_h2_suite(void);
Suite *h1_to_h2_suite(void);
Suite *h1_parse_suite(void);
Suite *h1_resp_suite(void);
Suite *proxy_proto_suite(void);
Suite *ticket_keys_suite(void);
Suite *memcached_suite(void);
Suite *slab_suite(void);
Suite *tls_record_suite(void);
Suite *fuzz_suite(void);
#endif
