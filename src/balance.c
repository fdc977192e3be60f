/* balance.c: to be written */
#include "balance.h"
