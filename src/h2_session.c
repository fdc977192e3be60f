/* h2_session.c: to be written */
