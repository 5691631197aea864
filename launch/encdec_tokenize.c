/* encdec_tokenize (--model MODEL.h5 | --hf DIR) [--decode] [--keep-special] [--src-lang L]
 * encdec_tokenize --help | --version
 * A model's own tokenizer on the command line (models/tokenizer.h): each line of stdin becomes one
 * JSON array of ids, or with --decode each line (a JSON array of ids) one JSON string. A bad
 * line is reported on stderr naming its number, answered with `null` so output lines stay
 * aligned with input lines, and makes the exit status 1. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "launch/cli.h"
#include "models/tokenizer.h"

static const char usage_line[] =
    "usage: encdec_tokenize (--model MODEL.h5 | --hf DIR) [--decode] [--keep-special] "
    "[--src-lang L]\n"
    "       encdec_tokenize --help | --version\n";

static int usage(const char *what, const char *flag) {
    return cli_usage("encdec_tokenize", usage_line, what, flag);
}

static void help(void) {
    printf("%s\n"
           "Runs a model's own tokenizer (as Hugging Face's AutoTokenizer does) on stdin, one line\n"
           "at a time: the tool to reach for when an output looks wrong.\n\n"
           "  --model MODEL.h5  the tokenizer stored in a converted model (encdec_convert keeps\n"
           "                    the tokenizer files of the HF folder)\n"
           "  --hf DIR          the tokenizer files of a Hugging Face folder\n"
           "  (default)         each line of text -> a JSON array of ids, special tokens added\n"
           "                    as the model's tokenizer adds them (T5: </s>; BART: <s> .. </s>)\n"
           "  --decode          each line, a JSON array of ids -> a JSON string\n"
           "                    (decode(ids, skip_special_tokens=True))\n"
           "  --keep-special    with --decode: keep special tokens in the text\n"
           "  --src-lang L      mBART-50 / NLLB: the source language code (de_DE, deu_Latn)\n"
           "  --help, --version\n\n"
           "A bad line is reported on stderr with its number and answered with null; the exit\n"
           "status is then 1 (2: a bad command line).\n", usage_line);
}

static int encode_line(const tokenizer *t, const char *line, size_t len, const char *src,
                       long no) {
    int32_t *ids = NULL;
    size_t n = 0;
    ed_error err;
    if (tokenizer_encode(t, line, len, src, &ids, &n, &err)) {
        fprintf(stderr, "encdec_tokenize: line %ld: %s\n", no, err.msg);
        puts("null");
        return 1;
    }
    putchar('[');
    for (size_t i = 0; i < n; i++) printf(i ? ", %d" : "%d", ids[i]);
    puts("]");
    free(ids);
    return 0;
}

static int decode_line(const tokenizer *t, const char *line, size_t len, int skip, long no) {
    cJSON *a = cJSON_ParseWithLength(line, len);
    int bad = !cJSON_IsArray(a);
    int n = bad ? 0 : cJSON_GetArraySize(a);
    int32_t *ids = malloc(((size_t)n + 1) * sizeof *ids);
    const char *why = bad ? "not a JSON array of ids" : NULL;
    int i = 0;
    for (const cJSON *e = bad ? NULL : a->child; e && !why; e = e->next, i++) {
        if (!cJSON_IsNumber(e) || e->valuedouble != (double)(int32_t)e->valuedouble)
            why = "holds something other than an integer id";
        else ids[i] = (int32_t)e->valuedouble;
    }
    cJSON_Delete(a);
    char *text = NULL;
    size_t tl = 0;
    ed_error err;
    if (!why && !ids) why = "out of memory";
    if (!why && tokenizer_decode(t, ids, (size_t)n, skip, &text, &tl, &err)) why = err.msg;
    free(ids);
    if (why) {
        fprintf(stderr, "encdec_tokenize: line %ld: %s\n", no, why);
        puts("null");
        return 1;
    }
    cJSON *s = cJSON_CreateString(text);
    char *js = s ? cJSON_PrintUnformatted(s) : NULL;
    puts(js ? js : "null");
    free(js);
    cJSON_Delete(s);
    free(text);
    return js ? 0 : 1;
}

int main(int argc, char **argv) {
    const char *model = NULL, *hf = NULL, *src = NULL;
    int decode = 0, skip = 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (cli_info_flag("encdec_tokenize", a, help)) return 0;
        if (!strcmp(a, "--decode")) { decode = 1; continue; }
        if (!strcmp(a, "--keep-special")) { skip = 0; continue; }
        if (strcmp(a, "--model") && strcmp(a, "--hf") && strcmp(a, "--src-lang"))
            return cli_unknown_flag("encdec_tokenize", usage_line, a);
        if (!v) return usage("needs a value", a);
        if (!strcmp(a, "--model")) model = v;
        else if (!strcmp(a, "--hf")) hf = v;
        else src = v;
        i++;
    }
    if (!model == !hf) return usage("give exactly one of --model MODEL.h5 and --hf DIR", NULL);
    tokenizer *t = NULL;
    ed_error err;
    if (model ? tokenizer_load_h5(&t, model, &err) : tokenizer_load_dir(&t, hf, &err)) {
        fprintf(stderr, "encdec_tokenize: %s\n", err.msg);
        return 1;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t got;
    long no = 0;
    int failed = 0;
    while ((got = getline(&line, &cap, stdin)) >= 0) {
        no++;
        size_t len = (size_t)got;
        if (len && line[len - 1] == '\n') len--;
        failed |= decode ? decode_line(t, line, len, skip, no) : encode_line(t, line, len, src, no);
    }
    free(line);
    tokenizer_destroy(t);
    if (fflush(stdout)) {
        perror("encdec_tokenize: stdout");
        return 1;
    }
    return failed;
}
