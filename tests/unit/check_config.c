#include <check.h>
#include "suites.h"

Suite *config_suite(void)
{
    Suite *s = suite_create("config");
    return s;
}
