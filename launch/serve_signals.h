/* Drain signals of a server run (http_port set; docs/SERVING.md). On rank 0, the first SIGTERM,
 * SIGINT or SIGUSR1 (mpirun forwards SIGUSR1 to every rank without killing them) starts the
 * engine's drain; a second ends the job at once through MPI_Abort (removing a partial output
 * file first), so no rank is left in a collective. The other ranks ignore the three signals:
 * they stop with rank 0's stop plan. The handler only writes to a pipe; a watcher thread acts. */
#ifndef ENCDEC_SERVE_SIGNALS_H
#define ENCDEC_SERVE_SIGNALS_H

#include "runtime/engine.h"

void serve_signals_install(engine *e, int rank);

#endif
