/* The programs' output files are written under a temporary name and renamed into place when
 * complete. This removes the temporary file when the program is ended by SIGTERM, SIGINT or
 * SIGHUP (mpirun sends SIGTERM to every rank when one dies), then lets the signal end it as
 * before; SIGKILL and crashes cannot be caught (README: what such a run leaves). */
#ifndef ENCDEC_PARTIAL_FILE_H
#define ENCDEC_PARTIAL_FILE_H

/* Installs the handlers for `path` (copied; NULL: nothing to remove, no handlers). */
void partial_file_remove_on_signals(const char *path);

#endif
