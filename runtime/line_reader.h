/* Request lines from a stream, bounded: a line longer than the run's max_request_bytes is
 * refused as it is read (the rest of it is consumed and dropped, never held), so one huge line
 * costs no memory and no parsing. Lines may hold NUL bytes (their length is returned). */
#ifndef ENCDEC_LINE_READER_H
#define ENCDEC_LINE_READER_H

#include <stdio.h>
#include <sys/types.h>

#include "common/status.h"

enum { LINE_EOF = -1, LINE_TOO_LONG = -2, LINE_NO_MEMORY = -3 };

/* Reads the next line of f, its '\n' included when there is one, into *buf (grown as needed, up
 * to max_bytes + 1 bytes; NUL-terminated after the line). Returns its length; LINE_EOF at the
 * end of input with nothing read; LINE_TOO_LONG when the line holds more than max_bytes bytes
 * (*dropped receives how many it held, the '\n' excluded); LINE_NO_MEMORY. */
ssize_t line_read_bounded(FILE *f, size_t max_bytes, char **buf, size_t *cap, size_t *dropped);

#endif
