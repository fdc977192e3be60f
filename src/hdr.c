/* hdr.c: to be written */
#include "hdr.h"
