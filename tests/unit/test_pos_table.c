/* Sinusoidal position tables (models/pos_table.c) against values worked by hand from HF's
 * Marian / Pegasus _init_weight and M2M100 get_embedding, the checkpoint-copy check, and the
 * spec rules for pos_table / pos_skip_pad. */
#include <math.h>

#include "models/pos_table.h"
#include "tests/unit/check.h"

static int near(float a, double b) { return fabs((double)a - b) < 1e-6; }

int main(void) {
    model_spec s;
    spec_init_defaults(&s);
    float t[8 * 5];

    /* Halves, D = 4: angle(p, c) = p / 10000^(2c/4): c = 0 -> p, c = 1 -> p / 100. */
    s.pos_table = POS_TABLE_SIN_HALVES;
    pos_table_fill(&s, 3, 4, t);
    CHECK(near(t[0], 0.0) && near(t[1], 0.0) && near(t[2], 1.0) && near(t[3], 1.0));
    CHECK(near(t[4], sin(1.0)) && near(t[5], sin(0.01)) && near(t[6], cos(1.0)) &&
          near(t[7], cos(0.01)));
    CHECK(near(t[8], sin(2.0)) && near(t[11], cos(0.02)));
    /* D = 5: three sin columns (c = 0, 1, 2: p, p / 10000^0.4, p / 10000^0.8), two cos. */
    pos_table_fill(&s, 2, 5, t);
    CHECK(near(t[5], sin(1.0)) && near(t[6], sin(pow(10000.0, -0.4))) &&
          near(t[7], sin(pow(10000.0, -0.8))));
    CHECK(near(t[8], cos(1.0)) && near(t[9], cos(pow(10000.0, -0.4))));

    /* Fairseq, D = 4: half 2, f = (1, 10000^-1); row pad_id (1) all zeros. */
    s.pos_table = POS_TABLE_FAIRSEQ;
    s.pad_id = 1;
    pos_table_fill(&s, 4, 4, t);
    CHECK(near(t[0], 0.0) && near(t[1], 0.0) && near(t[2], 1.0) && near(t[3], 1.0));
    CHECK(t[4] == 0.0f && t[5] == 0.0f && t[6] == 0.0f && t[7] == 0.0f);
    CHECK(near(t[8], sin(2.0)) && near(t[9], sin(2e-4)) && near(t[10], cos(2.0)) &&
          near(t[11], cos(2e-4)));
    /* D = 5: a zero last column. */
    pos_table_fill(&s, 4, 5, t);
    CHECK(near(t[15], sin(3.0)) && near(t[17], cos(3.0)) && t[19] == 0.0f && t[14] == 0.0f);

    /* The checkpoint copy: equal within 1e-3, else refused naming the tensor. */
    ed_error err = {0};
    float other[4] = {t[0], t[1], t[2], t[3]};
    CHECK(pos_table_check(t, other, 4, "x", &err) == ED_OK);
    other[2] += 0.01f;
    CHECK(pos_table_check(t, other, 4, "model.encoder.embed_positions.weight", &err) == ED_ERR);
    CHECK_MSG(err, "model.encoder.embed_positions.weight");
    other[2] = NAN;
    CHECK(pos_table_check(t, other, 4, "y", &err) == ED_ERR);

    /* Spec rules: a computed table needs learned_pos; pos_skip_pad needs pad_id < pos_offset. */
    model_spec v;
    spec_init_defaults(&v);
    v.vocab_size = 16, v.d_model = 8, v.d_kv = 2, v.num_heads = 4, v.d_ff = 8;
    v.enc_layers = v.dec_layers = 1, v.norm_eps = 1e-5f, v.pad_id = 1, v.eos_id = 2;
    v.pos_table = POS_TABLE_FAIRSEQ;
    CHECK(spec_validate(&v, &err) == ED_ERR);
    CHECK_MSG(err, "pos_table");
    v.learned_pos = 1, v.max_positions = 8, v.pos_offset = 2, v.pos_skip_pad = 1;
    CHECK(spec_validate(&v, &err) == ED_OK);
    v.pos_offset = 1;
    CHECK(spec_validate(&v, &err) == ED_ERR);
    CHECK_MSG(err, "pos_skip_pad");
    TEST_MAIN_END("test_pos_table");
}
