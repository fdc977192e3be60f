/* h1_session.c: to be written */
