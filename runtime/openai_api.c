#include "runtime/openai_api.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static ed_status api_fail(api_error *e, int status, const char *param, const char *fmt, ...) {
    e->status = status;
    snprintf(e->param, sizeof e->param, "%s", param ? param : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->message, sizeof e->message, fmt, ap);
    va_end(ap);
    return ED_ERR;
}

/* OpenAI parameter <-> native field, where the names differ. */
typedef struct name_pair {
    const char *api, *native;
} name_pair;
static const name_pair completion_names[] = {
    {"prompt", "input_ids"},           {"max_tokens", "max_new_tokens"},
    {"min_tokens", "min_new_tokens"},  {"forced_bos_token_id", "forced_bos_id"},
    {"best_of", "beam_width"},         {"n", "num_return_sequences"},
    {"logprobs", "return_logprobs"},   {"decoder_input_ids", "decoder_input_ids"},
    {NULL, NULL}};
static const name_pair embedding_names[] = {{"input", "input_ids"}, {NULL, NULL}};

/* Native fields an OpenAI completion passes through under the same name (extensions). */
static const char *const passthrough[] = {"top_p", "top_k", "seed", "repetition_penalty",
                                          "no_repeat_ngram_size", "length_penalty",
                                          "early_stopping", "bad_words_ids", "stop_token_ids",
                                          "return_logits", "return_encoder_output", "src_lang",
                                          "tgt_lang", "stop", "stop_sequences", NULL};

void api_error_from_native(api_kind kind, const char *message, api_error *e) {
    const char *m = message;
    if (!strncmp(m, "line ", 5)) { /* request_parse's "line N: " prefix */
        const char *colon = strstr(m, ": ");
        if (colon) m = colon + 2;
    }
    e->status = 400;
    e->param[0] = 0;
    const char *f = strstr(m, "field ");
    char native[64] = "";
    if (f && sscanf(f + 6, "%63[A-Za-z0-9_]", native) == 1) {
        const name_pair *names = kind == API_EMBEDDINGS ? embedding_names
                                 : kind == API_COMPLETIONS ? completion_names : NULL;
        snprintf(e->param, sizeof e->param, "%s", native);
        for (const name_pair *p = names; p && p->api; p++)
            if (!strcmp(p->native, native)) snprintf(e->param, sizeof e->param, "%s", p->api);
    }
    snprintf(e->message, sizeof e->message, "%s", m);
}

char *api_error_body(const api_error *e) {
    cJSON *o = cJSON_CreateObject(), *x = cJSON_AddObjectToObject(o, "error");
    cJSON_AddStringToObject(x, "message", e->message);
    const char *type = e->status == 401   ? "authentication_error"
                       : e->status == 404 ? "not_found_error"
                       : e->status == 429 ? "rate_limit_error"
                       : e->status >= 500 ? "server_error"
                                          : "invalid_request_error";
    cJSON_AddStringToObject(x, "type", type);
    if (e->param[0]) cJSON_AddStringToObject(x, "param", e->param);
    else cJSON_AddNullToObject(x, "param");
    cJSON_AddNumberToObject(x, "code", e->status);
    char *text = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return text;
}

/* A list of token ids (every element an integer) or not. */
static int is_id_list(const cJSON *v) {
    if (!cJSON_IsArray(v)) return 0;
    for (const cJSON *x = v->child; x; x = x->next)
        if (!cJSON_IsNumber(x)) return 0;
    return 1;
}

/* prompt / input: ids, a list of id lists, text or a list of texts (with a tokenizer); *prompts
 * gets an array of id lists or strings (copies). */
static ed_status read_prompts(const cJSON *v, const char *param, int has_tokenizer,
                              cJSON **prompts, api_error *e) {
    if (!v) return api_fail(e, 400, param, "field %s is required", param);
    int texts = cJSON_IsString(v) || (cJSON_IsArray(v) && v->child && cJSON_IsString(v->child));
    if (texts && !has_tokenizer)
        return api_fail(e, 400, param, "field %s: text needs the model's tokenizer, which this "
                        "model file does not carry; send token ids", param);
    *prompts = cJSON_CreateArray();
    if (cJSON_IsString(v)) {
        cJSON_AddItemToArray(*prompts, cJSON_Duplicate(v, 1));
        return ED_OK;
    }
    if (texts) {
        for (const cJSON *p = v->child; p; p = p->next) {
            if (!cJSON_IsString(p)) {
                cJSON_Delete(*prompts);
                return api_fail(e, 400, param, "field %s: a list of texts holds only strings",
                                param);
            }
            cJSON_AddItemToArray(*prompts, cJSON_Duplicate(p, 1));
        }
        return ED_OK;
    }
    if (is_id_list(v)) { /* one prompt (an empty one is refused by request_parse) */
        cJSON_AddItemToArray(*prompts, cJSON_Duplicate(v, 1));
        return ED_OK;
    }
    if (!cJSON_IsArray(v) || !v->child) {
        cJSON_Delete(*prompts);
        return api_fail(e, 400, param, "field %s must be a list of token ids or a non-empty list "
                        "of such lists", param);
    }
    for (const cJSON *p = v->child; p; p = p->next) {
        if (!is_id_list(p)) {
            cJSON_Delete(*prompts);
            return api_fail(e, 400, param, "field %s must be a list of token ids or a list of "
                            "such lists", param);
        }
        cJSON_AddItemToArray(*prompts, cJSON_Duplicate(p, 1));
    }
    return ED_OK;
}

static int field_in(const char *name, const char *const *names) {
    for (; *names; names++)
        if (!strcmp(name, *names)) return 1;
    return 0;
}

static ed_status check_model(const cJSON *body, const api_context *ctx, api_error *e) {
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(body, "model");
    if (!m || cJSON_IsNull(m)) return ED_OK;
    if (!cJSON_IsString(m)) return api_fail(e, 400, "model", "field model must be a string");
    if (strcmp(m->valuestring, ctx->model_name))
        return api_fail(e, 404, "model", "the model '%s' does not exist: this server serves '%s'",
                        m->valuestring, ctx->model_name);
    return ED_OK;
}

/* A number field within [lo, hi] (NULL/null: *x unchanged). */
static ed_status read_number(const cJSON *body, const char *name, double lo, double hi, double *x,
                             int *present, api_error *e) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(body, name);
    if (present) *present = 0;
    if (!v || cJSON_IsNull(v)) return ED_OK;
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) || v->valuedouble < lo ||
        v->valuedouble > hi)
        return api_fail(e, 400, name, "field %s must be a number in [%g, %g]", name, lo, hi);
    *x = v->valuedouble;
    if (present) *present = 1;
    return ED_OK;
}

static int is_integer(double x) { return x == floor(x); }

/* Completion fields this server reads; anything else is refused by name. */
static const char *const completion_fields[] = {
    "model", "prompt", "max_tokens", "temperature", "top_p", "n", "best_of", "use_beam_search",
    "stop", "stop_token_ids", "logprobs", "seed", "stream", "stream_options", "echo", "suffix",
    "presence_penalty", "frequency_penalty", "logit_bias", "user", "decoder_input_ids",
    "decoder_prompt", "forced_bos_token_id", "min_tokens", "top_k", "repetition_penalty",
    "no_repeat_ngram_size", "length_penalty", "early_stopping", "bad_words_ids", "return_logits",
    "return_encoder_output", "ignore_eos", "src_lang", "tgt_lang", "stop_sequences", NULL};

/* Fields that must not ask for anything: echo true, a suffix, non-zero penalties, a bias. */
static ed_status refuse_unsupported(const cJSON *body, api_error *e) {
    const cJSON *v;
    if ((v = cJSON_GetObjectItemCaseSensitive(body, "echo")) && cJSON_IsTrue(v))
        return api_fail(e, 400, "echo", "field echo: echoing the prompt is not supported (an "
                        "encoder-decoder's prompt is not part of its output)");
    if ((v = cJSON_GetObjectItemCaseSensitive(body, "suffix")) && !cJSON_IsNull(v))
        return api_fail(e, 400, "suffix", "field suffix is not supported");
    const char *penalties[] = {"presence_penalty", "frequency_penalty"};
    for (int i = 0; i < 2; i++)
        if ((v = cJSON_GetObjectItemCaseSensitive(body, penalties[i])) && !cJSON_IsNull(v) &&
            !(cJSON_IsNumber(v) && v->valuedouble == 0))
            return api_fail(e, 400, penalties[i], "field %s is not supported (use "
                            "repetition_penalty)", penalties[i]);
    if ((v = cJSON_GetObjectItemCaseSensitive(body, "logit_bias")) && !cJSON_IsNull(v) &&
        !(cJSON_IsObject(v) && !v->child))
        return api_fail(e, 400, "logit_bias", "field logit_bias is not supported");
    return ED_OK;
}

static ed_status plan_alloc(api_plan *plan, int n, api_error *e) {
    plan->n_requests = n;
    plan->native = calloc((size_t)n, sizeof *plan->native);
    plan->prompt_len = calloc((size_t)n, sizeof *plan->prompt_len);
    plan->prefix_len = calloc((size_t)n, sizeof *plan->prefix_len);
    plan->text_sent = calloc((size_t)n, sizeof *plan->text_sent);
    if (!plan->native || !plan->prompt_len || !plan->prefix_len || !plan->text_sent)
        return api_fail(e, 500, NULL, "out of memory");
    return ED_OK;
}

static ed_status build_completions(const cJSON *body, const api_context *ctx, api_plan *plan,
                                   api_error *e) {
    for (const cJSON *f = body->child; f; f = f->next)
        if (!field_in(f->string, completion_fields))
            return api_fail(e, 400, f->string, "unknown field %s", f->string);
    if (check_model(body, ctx, e) || refuse_unsupported(body, e)) return ED_ERR;
    double max_tokens = 16, temperature = 1, n = 1, best_of = 0, logprobs = -1, seed = 0;
    int has_seed, has_best_of, has_logprobs;
    if (read_number(body, "max_tokens", 0, 1 << 30, &max_tokens, NULL, e) ||
        read_number(body, "temperature", 0, 1e6, &temperature, NULL, e) ||
        read_number(body, "n", 1, 16, &n, NULL, e) ||
        read_number(body, "best_of", 1, 16, &best_of, &has_best_of, e) ||
        read_number(body, "logprobs", 0, 20, &logprobs, &has_logprobs, e) ||
        read_number(body, "seed", 0, 18446744073709551615.0, &seed, &has_seed, e))
        return ED_ERR;
    if (!is_integer(max_tokens)) return api_fail(e, 400, "max_tokens", "field max_tokens must be an integer");
    if (!is_integer(n)) return api_fail(e, 400, "n", "field n must be an integer");
    if (has_logprobs && logprobs > 1)
        return api_fail(e, 400, "logprobs", "field logprobs: at most 1 (each generated token's "
                        "own log-probability; alternatives are not returned)");
    plan->want_logprobs = has_logprobs;
    const cJSON *beam = cJSON_GetObjectItemCaseSensitive(body, "use_beam_search");
    if (beam && !cJSON_IsBool(beam))
        return api_fail(e, 400, "use_beam_search", "field use_beam_search must be a boolean");
    int use_beam = cJSON_IsTrue(beam);
    if (!has_best_of) best_of = n;
    if (!is_integer(best_of) || best_of < n)
        return api_fail(e, 400, "best_of", "field best_of must be an integer >= n");
    if (!use_beam && best_of != n)
        return api_fail(e, 400, "best_of", "field best_of: without use_beam_search every sample "
                        "is returned, so best_of must equal n");
    if (use_beam && temperature != 0)
        return api_fail(e, 400, "temperature", "field temperature must be 0 with use_beam_search");
    const cJSON *stream = cJSON_GetObjectItemCaseSensitive(body, "stream");
    if (stream && !cJSON_IsBool(stream) && !cJSON_IsNull(stream))
        return api_fail(e, 400, "stream", "field stream must be a boolean");
    plan->stream = cJSON_IsTrue(stream);
    if (plan->stream && use_beam)
        return api_fail(e, 400, "stream", "beam search cannot stream: its best sequences are known "
                        "only at the end");
    const cJSON *so = cJSON_GetObjectItemCaseSensitive(body, "stream_options");
    if (so && !cJSON_IsNull(so)) {
        const cJSON *iu = cJSON_GetObjectItemCaseSensitive(so, "include_usage");
        if (!cJSON_IsObject(so) || (iu && !cJSON_IsBool(iu)))
            return api_fail(e, 400, "stream_options", "field stream_options must be an object "
                            "{\"include_usage\": bool}");
        plan->include_usage = cJSON_IsTrue(iu);
    }
    const cJSON *ignore_eos = cJSON_GetObjectItemCaseSensitive(body, "ignore_eos");
    if (ignore_eos && !cJSON_IsBool(ignore_eos))
        return api_fail(e, 400, "ignore_eos", "field ignore_eos must be a boolean");
    cJSON *prompts = NULL;
    if (read_prompts(cJSON_GetObjectItemCaseSensitive(body, "prompt"), "prompt",
                     ctx->has_tokenizer, &prompts, e))
        return ED_ERR;
    plan->n_prompts = cJSON_GetArraySize(prompts);
    plan->per_prompt = use_beam ? 1 : (int)n;
    plan->seqs_per_request = use_beam ? (int)n : 1;
    snprintf(plan->call_id, sizeof plan->call_id, "cmpl-%ld", ctx->call_no);
    if (plan_alloc(plan, plan->n_prompts * plan->per_prompt, e)) {
        cJSON_Delete(prompts);
        return ED_ERR;
    }
    const cJSON *dec = cJSON_GetObjectItemCaseSensitive(body, "decoder_input_ids");
    const cJSON *dec_prompt = cJSON_GetObjectItemCaseSensitive(body, "decoder_prompt");
    if (dec && dec_prompt) {
        cJSON_Delete(prompts);
        return api_fail(e, 400, "decoder_prompt", "give decoder_input_ids or decoder_prompt, not "
                        "both");
    }
    if (dec_prompt && !is_id_list(dec_prompt)) {
        cJSON_Delete(prompts);
        return api_fail(e, 400, "decoder_prompt", "field decoder_prompt must be a list of token "
                        "ids (the decoder start token is added)");
    }
    int i = 0;
    for (const cJSON *p = prompts->child; p; p = p->next)
        for (int j = 0; j < plan->per_prompt; j++, i++) {
            cJSON *o = plan->native[i] = cJSON_CreateObject();
            char id[64];
            snprintf(id, sizeof id, "%s-%d", plan->call_id, i);
            cJSON_AddStringToObject(o, "id", id);
            cJSON_AddItemToObject(o, cJSON_IsString(p) ? "text" : "input_ids",
                                  cJSON_Duplicate(p, 1));
            plan->prompt_len[i] = cJSON_GetArraySize(p); /* ids; text: set once encoded */
            cJSON_AddNumberToObject(o, "max_new_tokens", max_tokens);
            if (cJSON_IsTrue(ignore_eos)) cJSON_AddNumberToObject(o, "min_new_tokens", max_tokens);
            if (use_beam) {
                cJSON_AddNumberToObject(o, "beam_width", best_of);
                cJSON_AddNumberToObject(o, "num_return_sequences", n);
            } else if (temperature > 0) {
                cJSON_AddTrueToObject(o, "do_sample");
                cJSON_AddNumberToObject(o, "temperature", temperature);
                cJSON_AddNumberToObject(o, "top_k", 0); /* OpenAI has no top-k: off by default */
                /* each sample its own generator: seed + j, or a fresh seed per call */
                double s = has_seed ? seed : (double)(ctx->default_seed % 1000000000ULL);
                cJSON_AddNumberToObject(o, "seed", s + j);
            }
            if (plan->stream) cJSON_AddTrueToObject(o, "stream");
            if (has_logprobs) cJSON_AddTrueToObject(o, "return_logprobs");
            if (dec) {
                cJSON_AddItemToObject(o, "decoder_input_ids", cJSON_Duplicate(dec, 1));
                plan->prefix_len[i] = cJSON_IsArray(dec) ? cJSON_GetArraySize(dec) - 1 : 0;
            } else if (dec_prompt) {
                cJSON *ids = cJSON_AddArrayToObject(o, "decoder_input_ids");
                cJSON_AddItemToArray(ids, cJSON_CreateNumber(ctx->lim->decoder_start_id));
                for (const cJSON *x = dec_prompt->child; x; x = x->next)
                    cJSON_AddItemToArray(ids, cJSON_CreateNumber(x->valuedouble));
                plan->prefix_len[i] = cJSON_GetArraySize(dec_prompt);
            }
            if (plan->prefix_len[i] < 0) plan->prefix_len[i] = 0;
            const name_pair renamed[] = {{"forced_bos_token_id", "forced_bos_id"},
                                         {"min_tokens", "min_new_tokens"}};
            for (int k = 0; k < 2; k++) {
                const cJSON *v = cJSON_GetObjectItemCaseSensitive(body, renamed[k].api);
                if (v && !cJSON_IsNull(v) && !cJSON_GetObjectItemCaseSensitive(o, renamed[k].native))
                    cJSON_AddItemToObject(o, renamed[k].native, cJSON_Duplicate(v, 1));
            }
            for (const char *const *name = passthrough; *name; name++) {
                const cJSON *v = cJSON_GetObjectItemCaseSensitive(body, *name);
                if (!v || cJSON_IsNull(v)) continue;
                if (!strcmp(*name, "stop") && cJSON_IsArray(v) && !v->child) continue;
                if (!strcmp(*name, "seed") || (!strcmp(*name, "top_p") && temperature == 0) ||
                    (!strcmp(*name, "top_k") && temperature == 0))
                    continue; /* seed handled above; warpers only matter when sampling */
                if (cJSON_GetObjectItemCaseSensitive(o, *name)) /* the client's value wins */
                    cJSON_ReplaceItemInObjectCaseSensitive(o, *name, cJSON_Duplicate(v, 1));
                else
                    cJSON_AddItemToObject(o, *name, cJSON_Duplicate(v, 1));
            }
        }
    cJSON_Delete(prompts);
    return ED_OK;
}

static const char *const embedding_fields[] = {"model", "input", "encoding_format", "user",
                                               "dimensions", NULL};

static ed_status build_embeddings(const cJSON *body, const api_context *ctx, api_plan *plan,
                                  api_error *e) {
    for (const cJSON *f = body->child; f; f = f->next)
        if (!field_in(f->string, embedding_fields))
            return api_fail(e, 400, f->string, "unknown field %s", f->string);
    if (check_model(body, ctx, e)) return ED_ERR;
    const cJSON *dim = cJSON_GetObjectItemCaseSensitive(body, "dimensions");
    if (dim && !cJSON_IsNull(dim))
        return api_fail(e, 400, "dimensions", "field dimensions is not supported: embeddings have "
                        "the model's width");
    const cJSON *fmt = cJSON_GetObjectItemCaseSensitive(body, "encoding_format");
    int b64 = 0;
    if (fmt && !cJSON_IsNull(fmt)) {
        if (!cJSON_IsString(fmt) ||
            (strcmp(fmt->valuestring, "float") && strcmp(fmt->valuestring, "base64")))
            return api_fail(e, 400, "encoding_format", "field encoding_format must be \"float\" "
                            "or \"base64\"");
        b64 = !strcmp(fmt->valuestring, "base64");
    }
    cJSON *prompts = NULL;
    if (read_prompts(cJSON_GetObjectItemCaseSensitive(body, "input"), "input",
                     ctx->has_tokenizer, &prompts, e))
        return ED_ERR;
    plan->n_prompts = cJSON_GetArraySize(prompts);
    plan->per_prompt = plan->seqs_per_request = 1;
    snprintf(plan->call_id, sizeof plan->call_id, "embd-%ld", ctx->call_no);
    if (plan_alloc(plan, plan->n_prompts, e)) {
        cJSON_Delete(prompts);
        return ED_ERR;
    }
    int i = 0;
    for (const cJSON *p = prompts->child; p; p = p->next, i++) {
        cJSON *o = plan->native[i] = cJSON_CreateObject();
        char id[64];
        snprintf(id, sizeof id, "%s-%d", plan->call_id, i);
        cJSON_AddStringToObject(o, "id", id);
        cJSON_AddItemToObject(o, cJSON_IsString(p) ? "text" : "input_ids", cJSON_Duplicate(p, 1));
        plan->prompt_len[i] = cJSON_GetArraySize(p);
        cJSON_AddTrueToObject(o, "encode_only");
        cJSON_AddStringToObject(o, "pooling", "mean");
        if (b64) cJSON_AddStringToObject(o, "encoder_output_format", "base64-f32");
    }
    cJSON_Delete(prompts);
    return ED_OK;
}

static ed_status build_generate(const cJSON *body, const api_context *ctx, api_plan *plan,
                                api_error *e) {
    plan->n_prompts = plan->per_prompt = plan->seqs_per_request = 1;
    if (plan_alloc(plan, 1, e)) return ED_ERR;
    cJSON *o = plan->native[0] = cJSON_Duplicate(body, 1);
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(o, "id");
    if (!id) {
        snprintf(plan->call_id, sizeof plan->call_id, "gen-%ld", ctx->call_no);
        cJSON_AddStringToObject(o, "id", plan->call_id);
    } else {
        char *text = cJSON_PrintUnformatted(id);
        snprintf(plan->call_id, sizeof plan->call_id, "%s", text ? text : "?");
        free(text);
    }
    const cJSON *stream = cJSON_GetObjectItemCaseSensitive(o, "stream");
    plan->stream = cJSON_IsTrue(stream);
    const cJSON *ids = cJSON_GetObjectItemCaseSensitive(o, "input_ids");
    plan->prompt_len[0] = cJSON_IsArray(ids) ? cJSON_GetArraySize(ids) : 0;
    return ED_OK;
}

ed_status api_plan_build(api_kind kind, const cJSON *body, const api_context *ctx, api_plan *plan,
                         api_error *e) {
    memset(plan, 0, sizeof *plan);
    plan->kind = kind;
    if (!cJSON_IsObject(body)) return api_fail(e, 400, NULL, "the body must be a JSON object");
    ed_status st = kind == API_COMPLETIONS  ? build_completions(body, ctx, plan, e)
                   : kind == API_EMBEDDINGS ? build_embeddings(body, ctx, plan, e)
                                            : build_generate(body, ctx, plan, e);
    if (st) api_plan_free(plan);
    return st;
}

void api_plan_free(api_plan *plan) {
    for (int i = 0; plan->native && i < plan->n_requests; i++) cJSON_Delete(plan->native[i]);
    free(plan->native);
    free(plan->prompt_len);
    free(plan->prefix_len);
    free(plan->text_sent);
    plan->text_sent = NULL;
    plan->native = NULL;
    plan->prompt_len = plan->prefix_len = NULL;
    plan->n_requests = 0;
}

/* ---- answers ---- */

static const char *openai_reason(const char *native) {
    if (!native) return "stop";
    if (!strcmp(native, "eos") || !strcmp(native, "stop")) return "stop";
    return native; /* length, abort */
}

static int record_is_error(const cJSON *record, api_kind kind, api_error *e) {
    const cJSON *err = cJSON_GetObjectItemCaseSensitive(record, "error");
    if (!err) return 0;
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(err, "message");
    api_error_from_native(kind, cJSON_IsString(m) ? m->valuestring : "request failed", e);
    /* a request refused at admission is the client's; one that failed while running is ours */
    if (cJSON_IsString(m) && strstr(m->valuestring, "non-finite")) e->status = 500;
    return 1;
}

/* ids[from, n) of a JSON id array as a new array. */
static cJSON *id_slice(const cJSON *ids, int from) {
    cJSON *out = cJSON_CreateArray();
    int i = 0;
    for (const cJSON *x = ids ? ids->child : NULL; x; x = x->next, i++)
        if (i >= from) cJSON_AddItemToArray(out, cJSON_CreateNumber(x->valuedouble));
    return out;
}

/* OpenAI's logprobs object for generated ids[from..] with their logprobs (all generated). */
static cJSON *logprobs_object(const cJSON *ids, int from, const cJSON *lps) {
    cJSON *o = cJSON_CreateObject(), *tokens = cJSON_AddArrayToObject(o, "tokens");
    cJSON *tl = cJSON_AddArrayToObject(o, "token_logprobs");
    int i = 0;
    for (const cJSON *x = ids ? ids->child : NULL; x; x = x->next, i++) {
        if (i < from) continue;
        char name[32];
        snprintf(name, sizeof name, "token_id:%.0f", x->valuedouble);
        cJSON_AddItemToArray(tokens, cJSON_CreateString(name));
    }
    for (const cJSON *x = lps ? lps->child : NULL; x; x = x->next)
        cJSON_AddItemToArray(tl, cJSON_CreateNumber(x->valuedouble));
    cJSON_AddNullToObject(o, "top_logprobs");
    cJSON_AddArrayToObject(o, "text_offset");
    return o;
}

static cJSON *choice_object(int index, const char *text, const cJSON *ids, int from,
                            const cJSON *lps, int want_logprobs, const char *reason) {
    cJSON *c = cJSON_CreateObject();
    cJSON_AddNumberToObject(c, "index", index);
    cJSON_AddStringToObject(c, "text", text ? text : "");
    cJSON_AddItemToObject(c, "token_ids", id_slice(ids, from));
    if (want_logprobs) cJSON_AddItemToObject(c, "logprobs", logprobs_object(ids, from, lps));
    else cJSON_AddNullToObject(c, "logprobs");
    if (reason) cJSON_AddStringToObject(c, "finish_reason", reason);
    else cJSON_AddNullToObject(c, "finish_reason");
    return c;
}

/* A request's extra outputs (return_logits, return_encoder_output) copied from its record onto
 * its choice c, under their native names. */
static void add_extras(cJSON *c, const cJSON *record) {
    static const char *const names[] = {"logits", "encoder_output", "encoder_output_b64",
                                        "encoder_output_shape"};
    for (int i = 0; i < 4; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(record, names[i]);
        if (!v) continue;
        if (cJSON_IsRaw(v)) cJSON_AddRawToObject(c, names[i], v->valuestring);
        else cJSON_AddItemToObject(c, names[i], cJSON_Duplicate(v, 1));
    }
}

static cJSON *usage_object(long prompt, long completion) {
    cJSON *u = cJSON_CreateObject();
    cJSON_AddNumberToObject(u, "prompt_tokens", (double)prompt);
    if (completion >= 0) cJSON_AddNumberToObject(u, "completion_tokens", (double)completion);
    cJSON_AddNumberToObject(u, "total_tokens", (double)(prompt + (completion > 0 ? completion : 0)));
    return u;
}

static long prompt_tokens(const api_plan *plan) {
    long n = 0;
    for (int i = 0; i < plan->n_requests; i += plan->per_prompt) n += plan->prompt_len[i];
    return n;
}

static cJSON *envelope(const api_plan *plan, const api_context *ctx, const char *object,
                       long created) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", plan->call_id);
    cJSON_AddStringToObject(o, "object", object);
    cJSON_AddNumberToObject(o, "created", (double)created);
    cJSON_AddStringToObject(o, "model", ctx->model_name);
    return o;
}

static char *print_free(cJSON *o) {
    char *t = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return t;
}

char *api_answer(const api_plan *plan, const api_context *ctx, cJSON *const *records, long created,
                 api_error *e) {
    for (int i = 0; i < plan->n_requests; i++) {
        if (!records[i]) {
            api_fail(e, 500, NULL, "request %d of the call has no answer", i);
            return NULL;
        }
        if (record_is_error(records[i], plan->kind, e)) return NULL;
    }
    if (plan->kind == API_GENERATE) return cJSON_PrintUnformatted(records[0]);
    if (plan->kind == API_EMBEDDINGS) {
        cJSON *o = cJSON_CreateObject(), *data;
        cJSON_AddStringToObject(o, "object", "list");
        data = cJSON_AddArrayToObject(o, "data");
        for (int i = 0; i < plan->n_requests; i++) {
            cJSON *d = cJSON_CreateObject();
            cJSON_AddStringToObject(d, "object", "embedding");
            cJSON_AddNumberToObject(d, "index", i);
            const cJSON *f = cJSON_GetObjectItemCaseSensitive(records[i], "encoder_output");
            const cJSON *b = cJSON_GetObjectItemCaseSensitive(records[i], "encoder_output_b64");
            if (b) cJSON_AddStringToObject(d, "embedding", b->valuestring);
            else if (f && cJSON_IsRaw(f)) cJSON_AddRawToObject(d, "embedding", f->valuestring);
            else cJSON_AddItemToObject(d, "embedding", cJSON_Duplicate(f, 1));
            cJSON_AddItemToArray(data, d);
        }
        cJSON_AddStringToObject(o, "model", ctx->model_name);
        long pt = prompt_tokens(plan);
        cJSON_AddItemToObject(o, "usage", usage_object(pt, -1));
        return print_free(o);
    }
    cJSON *o = envelope(plan, ctx, "text_completion", created);
    cJSON *choices = cJSON_AddArrayToObject(o, "choices");
    long completion = 0;
    for (int i = 0; i < plan->n_requests; i++) {
        const cJSON *r = records[i];
        const cJSON *seqs = cJSON_GetObjectItemCaseSensitive(r, "sequences");
        const cJSON *reason = cJSON_GetObjectItemCaseSensitive(r, "finish_reason");
        const char *why = openai_reason(cJSON_IsString(reason) ? reason->valuestring : NULL);
        int from = plan->prefix_len[i];
        for (int k = 0; k < plan->seqs_per_request; k++) {
            const cJSON *src = r;
            if (seqs && cJSON_GetArraySize(seqs) > k) src = cJSON_GetArrayItem(seqs, k);
            const cJSON *ids = cJSON_GetObjectItemCaseSensitive(src, "output_ids");
            const cJSON *lps = cJSON_GetObjectItemCaseSensitive(src, "logprobs");
            int n = cJSON_GetArraySize(ids) - from;
            completion += n > 0 ? n : 0;
            const cJSON *text = cJSON_GetObjectItemCaseSensitive(src, "text");
            cJSON *c = choice_object(i * plan->seqs_per_request + k,
                                     cJSON_IsString(text) ? text->valuestring : NULL, ids, from,
                                     lps, plan->want_logprobs, why);
            if (k == 0) add_extras(c, r);
            cJSON_AddItemToArray(choices, c);
        }
    }
    cJSON_AddItemToObject(o, "usage", usage_object(prompt_tokens(plan), completion));
    return print_free(o);
}

/* Appends "data: TEXT\n\n" of o (freed) to *acc. */
static void add_event(char **acc, cJSON *o) {
    char *t = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!t) return;
    size_t old = *acc ? strlen(*acc) : 0, n = strlen(t);
    char *grown = realloc(*acc, old + n + 9);
    if (grown) {
        memcpy(grown + old, "data: ", 6);
        memcpy(grown + old + 6, t, n);
        memcpy(grown + old + 6 + n, "\n\n", 3);
        *acc = grown;
    }
    free(t);
}

char *api_stream_event(const api_plan *plan, const api_context *ctx, int index, const cJSON *record,
                       int final, int *streamed, long created) {
    char *acc = calloc(1, 1);
    if (!acc) return NULL;
    api_error e;
    if (record_is_error(record, plan->kind, &e)) {
        char *body = api_error_body(&e);
        if (body) {
            add_event(&acc, cJSON_Parse(body));
            free(body);
        }
        return acc;
    }
    if (plan->kind == API_GENERATE) {
        add_event(&acc, cJSON_Duplicate(record, 1));
        return acc;
    }
    /* completions: a stream record carries new_ids (output positions [streamed, streamed + n));
     * the final record all output_ids. Positions below the prefix length are not generated. */
    int skip = plan->prefix_len[index];
    const cJSON *ids = cJSON_GetObjectItemCaseSensitive(record, final ? "output_ids" : "new_ids");
    const cJSON *lps = cJSON_GetObjectItemCaseSensitive(record, "logprobs");
    int n_ids = cJSON_GetArraySize(ids), seen = streamed[index];
    int from = final ? (seen > skip ? seen : skip) : (skip - seen > 0 ? skip - seen : 0);
    const char *why = NULL;
    if (final) {
        const cJSON *reason = cJSON_GetObjectItemCaseSensitive(record, "finish_reason");
        why = openai_reason(cJSON_IsString(reason) ? reason->valuestring : NULL);
    }
    if (from < n_ids || final) {
        cJSON *lp_slice = NULL;
        if (plan->want_logprobs && lps) { /* logprobs cover generated ids only */
            lp_slice = cJSON_CreateArray();
            int n_lp = cJSON_GetArraySize(lps), first = n_lp - (n_ids - from);
            int k = 0;
            for (const cJSON *x = lps->child; x; x = x->next, k++)
                if (k >= first) cJSON_AddItemToArray(lp_slice, cJSON_CreateNumber(x->valuedouble));
        }
        /* text: a stream record's piece; at the end what the pieces have not sent yet */
        const cJSON *tx = cJSON_GetObjectItemCaseSensitive(record, "text");
        const char *text = cJSON_IsString(tx) ? tx->valuestring : "";
        size_t tl = strlen(text);
        if (final) text = plan->text_sent[index] < tl ? text + plan->text_sent[index] : "";
        else plan->text_sent[index] += tl;
        cJSON *o = envelope(plan, ctx, "text_completion", created);
        cJSON *choices = cJSON_AddArrayToObject(o, "choices");
        cJSON *c = choice_object(index, text, ids, from < n_ids ? from : n_ids, lp_slice,
                                 plan->want_logprobs, why);
        if (final) add_extras(c, record);
        cJSON_AddItemToArray(choices, c);
        cJSON_Delete(lp_slice);
        add_event(&acc, o);
    }
    streamed[index] = final ? n_ids : seen + n_ids;
    return acc;
}

char *api_stream_end(const api_plan *plan, const api_context *ctx, const int *streamed,
                     long created) {
    char *acc = calloc(1, 1);
    if (!acc) return NULL;
    if (plan->include_usage && plan->kind == API_COMPLETIONS) {
        long completion = 0;
        for (int i = 0; i < plan->n_requests; i++) {
            int n = streamed[i] - plan->prefix_len[i];
            completion += n > 0 ? n : 0;
        }
        cJSON *o = envelope(plan, ctx, "text_completion", created);
        cJSON_AddArrayToObject(o, "choices");
        cJSON_AddItemToObject(o, "usage", usage_object(prompt_tokens(plan), completion));
        add_event(&acc, o);
    }
    size_t n = strlen(acc);
    char *grown = realloc(acc, n + 15);
    if (grown) {
        memcpy(grown + n, "data: [DONE]\n\n", 15);
        acc = grown;
    }
    return acc;
}
