#include <check.h>
#include "suites.h"

Suite *h1_to_h2_suite(void)
{
    Suite *s = suite_create("h1_to_h2");
    return s;
}
