/* A Hugging Face config.json, read with cJSON. Getters distinguish "absent" (the default is
 * used) from "present with the wrong type" (an error naming the key). Integers must be whole
 * numbers within int's range and floats finite: nothing out of range is ever cast. */
#ifndef ENCDEC_HF_CONFIG_H
#define ENCDEC_HF_CONFIG_H

#include "common/status.h"

typedef struct hf_config hf_config;

/* DIR/config.json. */
ed_status hf_config_load(hf_config **out, const char *dir, ed_error *err);
/* DIR/NAME (generation_config.json, ...): the same reader for another JSON object file. */
ed_status hf_config_load_file(hf_config **out, const char *dir, const char *name, ed_error *err);
/* A config from JSON text; `path` names it in errors. */
ed_status hf_config_parse(hf_config **out, const char *json, const char *path, ed_error *err);
void hf_config_destroy(hf_config *c);

int hf_config_has(const hf_config *c, const char *key);
ed_status hf_get_int(const hf_config *c, const char *key, int def, int *out, ed_error *err);
/* An optional token id: absent gives def, JSON null (Python's None, as HF writes it) gives -1
 * (none), anything else must be an integer. */
ed_status hf_get_token_id(const hf_config *c, const char *key, int def, int *out, ed_error *err);
/* An int, or the first element of a list of ints (eos_token_id may be a list). */
ed_status hf_get_int_or_first(const hf_config *c, const char *key, int def, int *out,
                              ed_error *err);
ed_status hf_get_float(const hf_config *c, const char *key, double def, double *out, ed_error *err);
ed_status hf_get_bool(const hf_config *c, const char *key, int def, int *out, ed_error *err);
/* Copies a string value (or def) into buf. */
ed_status hf_get_string(const hf_config *c, const char *key, const char *def, char *buf,
                        size_t cap, ed_error *err);
/* The first entry of "architectures", or "" when absent. */
const char *hf_config_architecture(const hf_config *c);
const char *hf_config_path(const hf_config *c);

#endif
