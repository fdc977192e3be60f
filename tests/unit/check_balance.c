#include <check.h>
#include "suites.h"

Suite *balance_suite(void)
{
    Suite *s = suite_create("balance");
    return s;
}
