/* Command-line helpers shared by the single-process tools (encdec_convert, encdec_tokenize): a
 * usage error, an unknown flag, and the --help / --version flags every tool answers alike. */
#ifndef ENCDEC_CLI_H
#define ENCDEC_CLI_H

/* Prints "TOOL: FLAG: WHAT" (FLAG left out when NULL; the line left out when WHAT is NULL), then
 * usage_text, to stderr. Returns 2, the exit status of a bad command line (README). */
int cli_usage(const char *tool, const char *usage_text, const char *what, const char *flag);

/* Prints "TOOL: unknown flag 'ARG' (TOOL --help lists the flags)" and usage_text to stderr.
 * Returns 2. */
int cli_unknown_flag(const char *tool, const char *usage_text, const char *arg);

/* --help or -h: calls help(); --version: prints "TOOL VERSION". Returns 1 when arg was one of
 * them (the tool then exits 0), else 0. */
int cli_info_flag(const char *tool, const char *arg, void (*help)(void));

#endif
