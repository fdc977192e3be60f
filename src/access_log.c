/* access_log.c: to be written */
