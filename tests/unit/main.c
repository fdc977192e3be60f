/* Runs every core suite (CK_RUN_SUITE=name picks one, as Check allows). */
#include <check.h>
#include <stdlib.h>

#include "suites.h"

int main(void)
{
    SRunner *sr = srunner_create(units_suite());
    srunner_add_suite(sr, config_suite());
    srunner_add_suite(sr, acl_suite());
    srunner_add_suite(sr, route_suite());
    srunner_add_suite(sr, route_labels_suite());
    srunner_add_suite(sr, h2_resume_suite());
    srunner_add_suite(sr, path_suite());
    srunner_add_suite(sr, balance_suite());
    srunner_add_suite(sr, addrset_suite());
    srunner_add_suite(sr, hdr_suite());
    srunner_add_suite(sr, h2_to_h1_suite());
    srunner_add_suite(sr, h2_to_h2_suite());
    srunner_add_suite(sr, h1_to_h2_suite());
    srunner_add_suite(sr, h1_parse_suite());
    srunner_add_suite(sr, h1_resp_suite());
    srunner_add_suite(sr, proxy_proto_suite());
    srunner_add_suite(sr, ticket_keys_suite());
    srunner_add_suite(sr, memcached_suite());
    srunner_add_suite(sr, slab_suite());
    srunner_add_suite(sr, tls_record_suite());
    srunner_add_suite(sr, fuzz_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
