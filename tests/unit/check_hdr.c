#include <check.h>
#include "suites.h"

Suite *hdr_suite(void)
{
    Suite *s = suite_create("hdr");
    return s;
}
