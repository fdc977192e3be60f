#include <check.h>
#include "suites.h"

Suite *units_suite(void)
{
    Suite *s = suite_create("units");
    return s;
}
