/* h2_to_h1.c: to be written */
#include "h2_to_h1.h"
