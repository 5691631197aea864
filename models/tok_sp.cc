// The C interface of models/tok_sp.h over libsentencepiece. Exceptions never cross into C: every
// entry point catches them and reports failure.
#include "models/tok_sp.h"

#include <sentencepiece_processor.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>
#include <vector>

struct tok_sp {
    sentencepiece::SentencePieceProcessor proc;
    int model_type = TOK_SP_OTHER;
    int byte_fallback = 0;
};

extern "C" tok_sp *tok_sp_load(const void *bytes, size_t n, char *why, size_t why_cap) {
    try {
        tok_sp *sp = new tok_sp;
        auto st = sp->proc.LoadFromSerializedProto(
            absl::string_view(static_cast<const char *>(bytes), n));
        if (!st.ok()) {
            snprintf(why, why_cap, "%s", st.ToString().c_str());
            delete sp;
            return nullptr;
        }
        int size = sp->proc.GetPieceSize();
        for (int i = 0; i < size && !sp->byte_fallback; i++)
            sp->byte_fallback = sp->proc.IsByte(i);
        // The model type is not exposed without the protobuf header: a BPE model's scores are
        // minus the merge rank (strictly decreasing over normal pieces), a unigram model's are
        // log probabilities (not integers).
        int bpe = 1, seen = 0;
        float prev = 1.0f;
        for (int i = 0; i < size && bpe; i++) {
            if (sp->proc.IsControl(i) || sp->proc.IsUnknown(i) || sp->proc.IsByte(i) ||
                sp->proc.IsUnused(i))
                continue;
            float s = sp->proc.GetScore(i);
            if (s != (float)(long)s || (seen && s > prev)) bpe = 0;
            prev = s;
            seen++;
        }
        sp->model_type = seen == 0 ? TOK_SP_OTHER : bpe ? TOK_SP_BPE : TOK_SP_UNIGRAM;
        return sp;
    } catch (const std::exception &e) {
        snprintf(why, why_cap, "%s", e.what());
        return nullptr;
    }
}

extern "C" void tok_sp_destroy(tok_sp *sp) { delete sp; }
extern "C" int tok_sp_size(const tok_sp *sp) { return sp->proc.GetPieceSize(); }
extern "C" const char *tok_sp_piece(const tok_sp *sp, int id) {
    return sp->proc.IdToPiece(id).c_str();
}
extern "C" float tok_sp_score(const tok_sp *sp, int id) { return sp->proc.GetScore(id); }
extern "C" int tok_sp_type(const tok_sp *sp, int id) {
    if (sp->proc.IsUnknown(id)) return TOK_SP_UNKNOWN;
    if (sp->proc.IsControl(id)) return TOK_SP_CONTROL;
    if (sp->proc.IsByte(id)) return TOK_SP_BYTE;
    if (sp->proc.IsUnused(id)) return TOK_SP_UNUSED;
    return TOK_SP_NORMAL;
}
extern "C" int tok_sp_piece_to_id(const tok_sp *sp, const char *piece, size_t len) {
    absl::string_view p(piece, len);
    int id = sp->proc.PieceToId(p);
    // PieceToId answers unk for anything unknown: only the unk piece itself maps to it.
    if (id == sp->proc.unk_id() && p != sp->proc.IdToPiece(id)) return -1;
    return id;
}
extern "C" int tok_sp_unk_id(const tok_sp *sp) { return sp->proc.unk_id(); }
extern "C" int tok_sp_model_type(const tok_sp *sp) { return sp->model_type; }
extern "C" int tok_sp_byte_fallback(const tok_sp *sp) { return sp->byte_fallback; }

extern "C" int tok_sp_encode(const tok_sp *sp, const char *text, size_t len, int32_t **ids,
                             size_t *n) {
    try {
        std::vector<int> v;
        if (!sp->proc.Encode(absl::string_view(text, len), &v).ok()) return -1;
        *ids = static_cast<int32_t *>(malloc((v.size() ? v.size() : 1) * sizeof(int32_t)));
        if (!*ids) return -1;
        for (size_t i = 0; i < v.size(); i++) (*ids)[i] = v[i];
        *n = v.size();
        return 0;
    } catch (const std::exception &) {
        return -1;
    }
}

extern "C" char *tok_sp_decode(const tok_sp *sp, const int32_t *ids, size_t n, size_t *len) {
    try {
        std::vector<int> v(ids, ids + n);
        std::string s;
        if (!sp->proc.Decode(v, &s).ok()) return nullptr;
        char *out = static_cast<char *>(malloc(s.size() + 1));
        if (!out) return nullptr;
        memcpy(out, s.data(), s.size());
        out[s.size()] = 0;
        if (len) *len = s.size();
        return out;
    } catch (const std::exception &) {
        return nullptr;
    }
}

extern "C" int tok_sp_normalize(const tok_sp *sp, const char *text, size_t len, char **out,
                                size_t *out_len) {
    try {
        // The pieces of SentencePiece's encoding spell its normalized text (an unknown piece
        // carries its own characters); byte-fallback pieces <0xXX> stand for their bytes.
        std::vector<std::string> pieces;
        if (!sp->proc.Encode(absl::string_view(text, len), &pieces).ok()) return -1;
        std::string s;
        for (const std::string &p : pieces) {
            int id = sp->byte_fallback ? sp->proc.PieceToId(p) : -1;
            if (id >= 0 && sp->proc.IsByte(id) && p.size() == 6)
                s.push_back(static_cast<char>(std::stoi(p.substr(3, 2), nullptr, 16)));
            else
                s += p;
        }
        *out = static_cast<char *>(malloc(s.size() + 1));
        if (!*out) return -1;
        memcpy(*out, s.data(), s.size());
        (*out)[s.size()] = 0;
        *out_len = s.size();
        return 0;
    } catch (const std::exception &) {
        return -1;
    }
}
