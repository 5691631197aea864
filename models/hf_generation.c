#include "models/hf_generation.h"

#include <stdio.h>
#include <unistd.h>

#include "models/hf_config.h"

ed_status hf_generation_apply(const char *dir, model_spec *s, ed_error *err) {
    char path[1100];
    snprintf(path, sizeof path, "%s/generation_config.json", dir);
    if (access(path, F_OK) != 0) return ED_OK;
    hf_config *g = NULL;
    if (hf_config_load_file(&g, dir, "generation_config.json", err)) return ED_ERR;
    ed_status st = hf_get_int(g, "decoder_start_token_id", s->decoder_start_id,
                              &s->decoder_start_id, err) ||
                   hf_get_int_or_first(g, "eos_token_id", s->eos_id, &s->eos_id, err) ||
                   hf_get_token_id(g, "forced_bos_token_id", -1, &s->forced_bos_id, err) ||
                   hf_get_token_id(g, "forced_eos_token_id", -1, &s->forced_eos_id, err)
                       ? ED_ERR
                       : ED_OK;
    hf_config_destroy(g);
    return st;
}
