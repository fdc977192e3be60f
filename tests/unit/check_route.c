#include <check.h>
#include "suites.h"

Suite *route_suite(void)
{
    Suite *s = suite_create("route");
    return s;
}
