#include <check.h>
#include "suites.h"

Suite *acl_suite(void)
{
    Suite *s = suite_create("acl");
    return s;
}
