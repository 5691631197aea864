#include "launch/cli.h"

#include <stdio.h>
#include <string.h>

#include "encdec_version.h"

int cli_usage(const char *tool, const char *usage_text, const char *what, const char *flag) {
    if (what) fprintf(stderr, "%s: %s%s%s\n", tool, flag ? flag : "", flag ? ": " : "", what);
    fputs(usage_text, stderr);
    return 2;
}

int cli_unknown_flag(const char *tool, const char *usage_text, const char *arg) {
    fprintf(stderr, "%s: unknown flag '%s' (%s --help lists the flags)\n", tool, arg, tool);
    fputs(usage_text, stderr);
    return 2;
}

int cli_info_flag(const char *tool, const char *arg, void (*help)(void)) {
    if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) {
        help();
        return 1;
    }
    if (!strcmp(arg, "--version")) {
        printf("%s %s\n", tool, ENCDEC_VERSION);
        return 1;
    }
    return 0;
}
