/* route.c: to be written */
#include "route.h"
