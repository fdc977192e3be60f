/* listener.c: to be written */
