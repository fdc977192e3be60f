/* h1_parse.c: to be written */
#include "h1_parse.h"
