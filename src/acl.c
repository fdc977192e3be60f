/* acl.c: to be written */
#include "acl.h"
