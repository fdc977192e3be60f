/* conn.c: to be written */
