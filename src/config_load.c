/* config_load.c: to be written */
#include "config_load.h"
