#include <check.h>
#include "suites.h"

Suite *h2_to_h1_suite(void)
{
    Suite *s = suite_create("h2_to_h1");
    return s;
}
