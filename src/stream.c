/* stream.c: to be written */
