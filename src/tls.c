/* tls.c: to be written */
