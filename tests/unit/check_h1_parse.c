#include <check.h>
#include "suites.h"

Suite *h1_parse_suite(void)
{
    Suite *s = suite_create("h1_parse");
    return s;
}
