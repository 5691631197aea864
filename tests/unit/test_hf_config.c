/* Hugging Face configs (models/hf_config.h, models/hf_generation.h) and the presets read through
 * them (models/presets.h): an optional token id absent / null / set / of the wrong type;
 * generation_config.json over config.json's generation defaults (present, absent, broken); the
 * translation presets' specs as the family code reads the hub configs. */
#include <stdio.h>

#include "models/hf_config.h"
#include "models/hf_generation.h"
#include "models/presets.h"
#include "models/spec.h"
#include "tests/unit/check.h"

static void test_token_id(void) {
    hf_config *c = NULL;
    ed_error err;
    CHECK(hf_config_parse(&c, "{\"a\": null, \"b\": 7, \"c\": \"x\"}", "t.json", &err) == ED_OK);
    int v = 0;
    CHECK(hf_get_token_id(c, "missing", 3, &v, &err) == ED_OK && v == 3);
    CHECK(hf_get_token_id(c, "a", 3, &v, &err) == ED_OK && v == -1); /* None: no token */
    CHECK(hf_get_token_id(c, "b", 3, &v, &err) == ED_OK && v == 7);
    CHECK(hf_get_token_id(c, "c", 3, &v, &err) == ED_ERR);
    CHECK_MSG(err, "key c");
    hf_config_destroy(c);
    CHECK(hf_config_parse(&c, "[1, 2]", "list.json", &err) == ED_ERR);
    CHECK_MSG(err, "list.json");
}

/* Writes text into dir/name. */
static void write_file(const char *dir, const char *name, const char *text) {
    char path[1100];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    if (!f) return;
    fputs(text, f);
    fclose(f);
}

static void test_generation_config(void) {
    char dir[512], path[1100];
    ed_error err;
    CHECK(check_tmpdir(dir, sizeof dir, "hf_generation") == 0);
    model_spec s;
    spec_init_defaults(&s);
    s.eos_id = 2, s.decoder_start_id = 2, s.forced_bos_id = 5, s.forced_eos_id = 2;
    /* No file: config.json's values stay. */
    CHECK(hf_generation_apply(dir, &s, &err) == ED_OK);
    CHECK(s.eos_id == 2 && s.decoder_start_id == 2 && s.forced_bos_id == 5 && s.forced_eos_id == 2);
    /* The file's values replace them; forced ids it lacks (or sets to null) are none. */
    write_file(dir, "generation_config.json",
               "{\"decoder_start_token_id\": 7, \"eos_token_id\": [9, 10], \"forced_eos_token_id\": null}");
    CHECK(hf_generation_apply(dir, &s, &err) == ED_OK);
    CHECK(s.eos_id == 9 && s.decoder_start_id == 7 && s.forced_bos_id == -1 && s.forced_eos_id == -1);
    write_file(dir, "generation_config.json", "{\"forced_eos_token_id\": 4}");
    CHECK(hf_generation_apply(dir, &s, &err) == ED_OK && s.forced_eos_id == 4 && s.eos_id == 9);
    /* A broken file is an error naming it. */
    write_file(dir, "generation_config.json", "{\"eos_token_id\": ");
    CHECK(hf_generation_apply(dir, &s, &err) == ED_ERR);
    CHECK_MSG(err, "generation_config.json");
    write_file(dir, "generation_config.json", "{\"decoder_start_token_id\": 1.5}");
    CHECK(hf_generation_apply(dir, &s, &err) == ED_ERR);
    CHECK_MSG(err, "decoder_start_token_id");
    snprintf(path, sizeof path, "%s/generation_config.json", dir);
    remove(path);
    rmdir(dir);
}

static void test_translation_presets(void) {
    model_spec s;
    ed_error err;
    CHECK(preset_spec("opus-mt-en-de", &s, &err) == ED_OK);
    CHECK(s.vocab_size == 58101 && s.d_model == 512 && s.enc_layers == 6 && s.forced_eos_id == 0 &&
          s.pad_id == 58100 && s.decoder_start_id == 58100 && s.logits_bias);
    CHECK(preset_spec("nllb-200-distilled-600M", &s, &err) == ED_OK);
    CHECK(s.vocab_size == 256206 && s.d_model == 1024 && s.enc_layers == 12 && s.d_ff == 4096 &&
          s.eos_id == 2 && s.forced_eos_id == -1);
    CHECK(preset_spec("nllb-200-3.3B", &s, &err) == ED_OK);
    CHECK(s.d_model == 2048 && s.dec_layers == 24 && s.d_ff == 8192);
    CHECK(preset_spec("pegasus-large", &s, &err) == ED_OK);
    CHECK(s.vocab_size == 96103 && s.enc_layers == 16 && s.forced_eos_id == 1 && s.pre_norm);
    CHECK(preset_spec("opus-mt-xx", &s, &err) == ED_ERR);
    CHECK_MSG(err, "opus-mt-en-de");
}

int main(void) {
    test_token_id();
    test_generation_config();
    test_translation_presets();
    TEST_MAIN_END("test_hf_config");
}
