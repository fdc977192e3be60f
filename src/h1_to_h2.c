/* h1_to_h2.c: to be written */
#include "h1_to_h2.h"
