#include "models/presets.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/parallel_for.h"
#include "common/quant.h"
#include "models/family.h"
#include "models/h5_model.h"
#include "models/weight_table.h"

typedef struct preset {
    const char *name;
    int vocab, d_model, d_kv, heads, d_ff, enc_layers, dec_layers, gated, tied;
    int bart; /* 1 = mBART-style spec */
} preset;

static const preset presets[] = {
    {"t5-small", 32128, 512, 64, 8, 2048, 6, 6, 0, 1, 0},
    {"t5-base", 32128, 768, 64, 12, 3072, 12, 12, 0, 1, 0},
    {"t5-large", 32128, 1024, 64, 16, 4096, 24, 24, 0, 1, 0},
    {"flan-t5-xl", 32128, 2048, 64, 32, 5120, 24, 24, 1, 0, 0},
    {"flan-t5-xxl", 32128, 4096, 64, 64, 10240, 24, 24, 1, 0, 0},
    {"mbart-large", 250054, 1024, 64, 16, 4096, 12, 12, 0, 1, 1},
};

/* Translation models by their hub config.json (the keys that shape the math, as shipped), read by
 * the same family code that converts the real checkpoints. */
typedef struct hf_preset {
    const char *name;
    const model_family *family;
    const char *config;
} hf_preset;

#define M2M100_CONFIG(D_MODEL, FFN, LAYERS)                                                        \
    "{\"architectures\": [\"M2M100ForConditionalGeneration\"], \"activation_function\": \"relu\", " \
    "\"d_model\": " #D_MODEL ", \"encoder_ffn_dim\": " #FFN ", \"decoder_ffn_dim\": " #FFN ", "       \
    "\"encoder_layers\": " #LAYERS ", \"decoder_layers\": " #LAYERS ", "                            \
    "\"encoder_attention_heads\": 16, \"decoder_attention_heads\": 16, "                          \
    "\"max_position_embeddings\": 1024, \"scale_embedding\": true, \"vocab_size\": 256206, "       \
    "\"pad_token_id\": 1, \"bos_token_id\": 0, \"eos_token_id\": 2, \"decoder_start_token_id\": 2}"

static const hf_preset hf_presets[] = {
    {"nllb-200-distilled-600M", &family_m2m100, M2M100_CONFIG(1024, 4096, 12)},
    {"nllb-200-3.3B", &family_m2m100, M2M100_CONFIG(2048, 8192, 24)},
    {"opus-mt-en-de", &family_marian,
     "{\"architectures\": [\"MarianMTModel\"], \"activation_function\": \"swish\", "
     "\"d_model\": 512, \"encoder_ffn_dim\": 2048, \"decoder_ffn_dim\": 2048, "
     "\"encoder_layers\": 6, \"decoder_layers\": 6, \"encoder_attention_heads\": 8, "
     "\"decoder_attention_heads\": 8, \"max_position_embeddings\": 512, "
     "\"scale_embedding\": true, \"static_position_embeddings\": true, \"vocab_size\": 58101, "
     "\"decoder_vocab_size\": 58101, \"share_encoder_decoder_embeddings\": true, "
     "\"pad_token_id\": 58100, \"eos_token_id\": 0, \"decoder_start_token_id\": 58100, "
     "\"forced_eos_token_id\": 0}"},
    {"pegasus-large", &family_pegasus,
     "{\"architectures\": [\"PegasusForConditionalGeneration\"], \"activation_function\": "
     "\"relu\", \"d_model\": 1024, \"encoder_ffn_dim\": 4096, \"decoder_ffn_dim\": 4096, "
     "\"encoder_layers\": 16, \"decoder_layers\": 16, \"encoder_attention_heads\": 16, "
     "\"decoder_attention_heads\": 16, \"max_position_embeddings\": 1024, "
     "\"scale_embedding\": true, \"static_position_embeddings\": true, \"vocab_size\": 96103, "
     "\"pad_token_id\": 0, \"eos_token_id\": 1, \"decoder_start_token_id\": 0, "
     "\"forced_eos_token_id\": 1}"},
};

static ed_status hf_preset_spec(const hf_preset *p, model_spec *s, ed_error *err) {
    hf_config *cfg = NULL;
    char path[128];
    snprintf(path, sizeof path, "preset %s", p->name);
    if (hf_config_parse(&cfg, p->config, path, err)) return ED_ERR;
    ed_status st = p->family->spec_from_config(cfg, s, err);
    hf_config_destroy(cfg);
    return st ? ED_ERR : model_spec_validate(s, path, err);
}

ed_status preset_spec(const char *name, model_spec *s, ed_error *err) {
    for (size_t i = 0; i < sizeof hf_presets / sizeof hf_presets[0]; i++)
        if (!strcmp(hf_presets[i].name, name)) return hf_preset_spec(&hf_presets[i], s, err);
    for (size_t i = 0; i < sizeof presets / sizeof presets[0]; i++) {
        const preset *p = &presets[i];
        if (strcmp(p->name, name)) continue;
        spec_init_defaults(s);
        snprintf(s->family, sizeof s->family, "%s", p->bart ? "mbart" : "t5");
        s->vocab_size = p->vocab;
        s->d_model = p->d_model;
        s->d_kv = p->d_kv;
        s->num_heads = p->heads;
        s->d_ff = p->d_ff;
        s->enc_layers = p->enc_layers;
        s->dec_layers = p->dec_layers;
        s->gated_ffn = p->gated;
        s->tied_head = p->tied;
        if (p->bart) { /* mBART-large-50 */
            s->act = ACT_GELU;
            s->norm = NORM_LAYER;
            s->norm_eps = 1e-5f;
            s->linear_bias = 1;
            s->learned_pos = 1;
            s->max_positions = 1024;
            s->pos_offset = 2;
            s->embed_scale = sqrtf((float)p->d_model);
            s->embed_norm = 1;
            s->attn_scale = 1.0f / sqrtf((float)p->d_kv);
            s->logits_bias = 1;
            s->pad_id = 1;
            s->eos_id = 2;
            s->decoder_start_id = 2;
        } else {
            s->act = p->gated ? ACT_GELU_NEW : ACT_RELU;
            s->norm = NORM_RMS;
            s->norm_eps = 1e-6f;
            s->rel_buckets = 32;
            s->rel_max_distance = 128;
            s->scale_decoder_outputs = p->tied;
            s->pad_id = 0;
            s->eos_id = 1;
            s->decoder_start_id = 0;
        }
        return spec_validate(s, err);
    }
    char names[512] = "";
    for (size_t i = 0; i < sizeof presets / sizeof presets[0]; i++) {
        strncat(names, i ? ", " : "", sizeof names - strlen(names) - 1);
        strncat(names, presets[i].name, sizeof names - strlen(names) - 1);
    }
    for (size_t i = 0; i < sizeof hf_presets / sizeof hf_presets[0]; i++) {
        strncat(names, ", ", sizeof names - strlen(names) - 1);
        strncat(names, hf_presets[i].name, sizeof names - strlen(names) - 1);
    }
    return ed_fail(err, "unknown model name '%s' (known: %s)", name, names);
}

typedef struct random_ctx {
    h5_model *out;
    int dtype, quant, quant_embed;
    uint64_t state;
    ed_error *err;
} random_ctx;

/* A zero-mean, unit-variance random value: xorshift64* mapped to uniform [-sqrt(3), sqrt(3)).
 * Cheap on purpose (flan-t5-xxl has 11e9 weights; Box-Muller took minutes), and the
 * distribution's shape does not matter to a benchmark. */
static float next_unit(uint64_t *st) {
    *st ^= *st >> 12, *st ^= *st << 25, *st ^= *st >> 27;
    uint64_t a = *st * 2685821657736338717ull;
    return (float)((a >> 40) * (1.0 / 16777216.0) * 3.4641016151377544 - 1.7320508075688772);
}

/* splitmix64: a well-mixed, never-zero generator state from a seed and a block number. */
static uint64_t block_state(uint64_t seed, uint64_t block) {
    uint64_t z = seed + (block + 1) * 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    return z ? z : 1;
}

/* A tensor's values in blocks of RANDOM_BLOCK, each drawn from its own state (block_state of
 * the tensor's seed), so the values do not depend on how many threads draw them. */
enum { RANDOM_BLOCK = 1 << 16 };
typedef struct fill_job {
    float *buf;
    size_t n;
    uint64_t seed;
    int is_norm;
    float scale;
} fill_job;

static void fill_blocks(void *vjob, size_t range, size_t begin, size_t end) {
    (void)range;
    const fill_job *j = vjob;
    for (size_t b = begin; b < end; b++) {
        uint64_t st = block_state(j->seed, b);
        const size_t last = (b + 1) * RANDOM_BLOCK < j->n ? (b + 1) * RANDOM_BLOCK : j->n;
        for (size_t i = b * RANDOM_BLOCK; i < last; i++) {
            const float z = next_unit(&st);
            j->buf[i] = j->is_norm ? 1.0f + 0.05f * z : j->scale * z;
        }
    }
}

static int write_random(void *vctx, const weight_ref *r) {
    random_ctx *c = vctx;
    size_t n = (size_t)r->shape[0] * (size_t)r->shape[1];
    float *buf = malloc((n ? n : 1) * sizeof(float)); /* (malloc(0) may return NULL) */
    if (!buf) {
        ed_fail(c->err, "out of memory for tensor %s", r->name);
        return -1;
    }
    const char *leaf = strrchr(r->name, '.') ? strrchr(r->name, '.') + 1 : r->name;
    fill_job job = {.buf = buf, .n = n, .seed = c->state, .scale = 0.02f};
    job.is_norm = strstr(leaf, "norm") && !strstr(leaf, "_b");
    if (r->rank == 2) job.scale = 1.0f / sqrtf((float)r->shape[1]);
    if (!strcmp(r->name, "embed.tokens") || strstr(r->name, "pos_embed")) job.scale = 1.0f;
    c->state = block_state(c->state, (uint64_t)-2); /* the next tensor's seed */
    parallel_for((n + RANDOM_BLOCK - 1) / RANDOM_BLOCK, 4, &job, fill_blocks);
    ed_status st = weight_is_quantized(r->decl, c->quant, c->quant_embed)
                       ? h5_model_write_quantized(c->out, r->name, r->shape, buf, c->quant, c->err)
                       : h5_model_write_tensor(c->out, r->name, r->rank, r->shape, buf, c->dtype,
                                               c->err);
    free(buf);
    return st ? -1 : 0;
}

ed_status preset_write_random(const model_spec *spec, const char *path, int dtype, int quant,
                              int quant_embed, unsigned seed, ed_error *err) {
    char tmp[1100];
    snprintf(tmp, sizeof tmp, "%s.partial-%ld", path, (long)getpid());
    const int q = quant == QUANT_INT8 || quant == QUANT_FP8 ? quant : QUANT_NONE;
    random_ctx c = {.dtype = dtype, .quant = q, .quant_embed = quant_embed,
                    .state = 0x9E3779B97F4A7C15ull ^ seed, .err = err};
    if (h5_model_create(&c.out, tmp, err)) return ED_ERR;
    ed_status st = h5_model_write_spec(c.out, spec, "random-weights", err);
    if (st == ED_OK && weight_table_foreach(spec, write_random, &c)) st = ED_ERR;
    if (h5_model_close(c.out, st ? NULL : err)) st = ED_ERR;
    if (st == ED_OK && rename(tmp, path)) st = ed_fail(err, "%s: cannot rename into place", path);
    if (st) remove(tmp);
    return st;
}
