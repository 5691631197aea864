/* encdec_convert --hf DIR --out MODEL.h5 [--dtype fp32|fp16|bf16] [--quiet]
 * Converts a Hugging Face checkpoint directory into encdec_tp's HDF5 model file. On any error it
 * names the tensor or config key and leaves no output file. */
#include <stdio.h>
#include <string.h>

#include "launch/partial_file.h"
#include "models/convert.h"
#include "runtime/config.h"

static int usage(void) {
    fprintf(stderr, "usage: encdec_convert --hf DIR --out MODEL.h5 [--dtype fp32|fp16|bf16] "
                    "[--quiet]\n");
    return 2;
}

int main(int argc, char **argv) {
    convert_options opt = {.dtype = DTYPE_FP32, .progress = 1};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--quiet")) {
            opt.progress = 0;
            continue;
        }
        if (!v) return usage();
        if (!strcmp(a, "--hf")) opt.hf_dir = v;
        else if (!strcmp(a, "--out")) opt.out_path = v;
        else if (!strcmp(a, "--dtype")) {
            if (!strcmp(v, "fp32")) opt.dtype = DTYPE_FP32;
            else if (!strcmp(v, "fp16")) opt.dtype = DTYPE_FP16;
            else if (!strcmp(v, "bf16")) opt.dtype = DTYPE_BF16;
            else {
                fprintf(stderr, "encdec_convert: --dtype: '%s' is not one of fp32 | fp16 | bf16\n", v);
                return 2;
            }
        } else {
            return usage();
        }
        i++;
    }
    if (!opt.hf_dir || !opt.out_path) return usage();
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
