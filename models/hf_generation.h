/* A Hugging Face generation_config.json over the generation defaults that a family read from
 * config.json. transformers 5's generate() takes its defaults from that file alone when a
 * checkpoint ships it, so: decoder_start_token_id and eos_token_id (an int, or a list: its first)
 * replace config.json's where the file has them; forced_bos_token_id and forced_eos_token_id are
 * the file's, and absent or null there means none. A folder without the file changes nothing. */
#ifndef ENCDEC_HF_GENERATION_H
#define ENCDEC_HF_GENERATION_H

#include "common/status.h"
#include "models/spec.h"

ed_status hf_generation_apply(const char *dir, model_spec *s, ed_error *err);

#endif
