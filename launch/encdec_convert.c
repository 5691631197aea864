/* encdec_convert --hf DIR --out MODEL.h5 [--dtype fp32|fp16|bf16] [--quantize int8|fp8]
 *                [--quantize-embeddings] [--quiet]
 * encdec_convert --help | --version
 * Converts a Hugging Face checkpoint directory into encdec_tp's HDF5 model file. On any error it
 * names the tensor or config key and leaves no output file. */
#include <stdio.h>
#include <string.h>

#include "launch/partial_file.h"
#include "models/convert.h"
#include "runtime/config.h"
#include "common/quant.h"
#include "launch/cli.h"

static const char usage_line[] =
    "usage: encdec_convert --hf DIR --out MODEL.h5 [--dtype fp32|fp16|bf16] [--quantize int8|fp8]\n"
    "                      [--quantize-embeddings] [--quiet]\n"
    "       encdec_convert --help | --version\n";

/* A usage error: the message, the usage line, exit status 2 (README). */
static int usage(const char *what, const char *flag) {
    return cli_usage("encdec_convert", usage_line, what, flag);
}

static void help(void) {
    printf("%s\n"
           "Converts a Hugging Face checkpoint folder (config.json with model.safetensors, or a\n"
           "sharded model.safetensors.index.json) into the HDF5 model file encdec_tp serves.\n"
           "Everything is checked before the file is written; errors name the key or tensor.\n\n"
           "  --hf DIR          the checkpoint folder\n"
           "  --out MODEL.h5    the model file (written as MODEL.h5.partial-PID, renamed when\n"
           "                    complete)\n"
           "  --dtype D         stored weights: fp32 (default) | fp16 | bf16\n"
           "  --quantize Q      the layers' projection matrices as int8 or fp8 (E4M3) codes\n"
           "                    with an fp32 scale per output row (weight-only; embeddings, LM\n"
           "                    head, norms, biases stay in --dtype): docs/MODEL_FORMAT.md\n"
           "  --quantize-embeddings  the token embedding and LM head too (with --quantize)\n"
           "  --quiet           no progress on stderr (on a terminal one line rewritten in\n"
           "                    place; elsewhere a line every 10 s and the last)\n"
           "  --help, -h        this text\n"
           "  --version         the version\n\n"
           "Supported architectures: the README's \"Supported architectures\" table; serving the\n"
           "result: encdec_tp --help and the README's \"Run config (YAML)\" table. Exit status:\n"
           "0 written; 2 a bad command line; 1 the conversion failed (no file left).\n",
           usage_line);
}

int main(int argc, char **argv) {
    convert_options opt = {.dtype = DTYPE_FP32, .progress = 1};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (cli_info_flag("encdec_convert", a, help)) return 0;
        if (!strcmp(a, "--quiet")) {
            opt.progress = 0;
            continue;
        }
        if (!strcmp(a, "--quantize-embeddings")) {
            opt.quantize_embeddings = 1;
            continue;
        }
        if (strcmp(a, "--hf") && strcmp(a, "--out") && strcmp(a, "--dtype") &&
            strcmp(a, "--quantize"))
            return cli_unknown_flag("encdec_convert", usage_line, a);
        if (!v) return usage("needs a value", a);
        if (!strcmp(a, "--hf")) opt.hf_dir = v;
        else if (!strcmp(a, "--out")) opt.out_path = v;
        else if (!strcmp(a, "--quantize")) {
            if (!strcmp(v, "int8")) opt.quantize = QUANT_INT8;
            else if (!strcmp(v, "fp8")) opt.quantize = QUANT_FP8;
            else {
                fprintf(stderr, "encdec_convert: --quantize: '%s' is not one of int8 | fp8\n", v);
                return 2;
            }
        } else if (!strcmp(a, "--dtype")) {
            if (!strcmp(v, "fp32")) opt.dtype = DTYPE_FP32;
            else if (!strcmp(v, "fp16")) opt.dtype = DTYPE_FP16;
            else if (!strcmp(v, "bf16")) opt.dtype = DTYPE_BF16;
            else {
                fprintf(stderr, "encdec_convert: --dtype: '%s' is not one of fp32 | fp16 | bf16\n", v);
                return 2;
            }
        }
        i++;
    }
    if (!opt.hf_dir) return usage("--hf DIR is required", NULL);
    if (!opt.out_path) return usage("--out MODEL.h5 is required", NULL);
    if (opt.quantize_embeddings && !opt.quantize)
        return usage("needs --quantize int8|fp8", "--quantize-embeddings");
    char partial[1100]; /* removed if SIGTERM / SIGINT / SIGHUP ends the conversion */
    convert_partial_path(opt.out_path, partial, sizeof partial);
    partial_file_remove_on_signals(partial);
    ed_error err;
    if (convert_hf_to_h5(&opt, &err)) {
        fprintf(stderr, "encdec_convert: %s\n", err.msg);
        return 1;
    }
    if (opt.progress) fprintf(stderr, "encdec_convert: wrote %s\n", opt.out_path);
    return 0;
}
