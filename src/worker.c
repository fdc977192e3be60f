/* worker.c: to be written */
