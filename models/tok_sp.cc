// The C interface of models/tok_sp.h over libsentencepiece. Exceptions never cross into C: every
// entry point catches them and reports failure.
#include "models/tok_sp.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/wire_format_lite.h>
#include <sentencepiece_processor.h>

#include <climits>
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
    std::string charsmap; // normalizer_spec.precompiled_charsmap
    tok_sp_normalizer norm{};
};

namespace {

using google::protobuf::io::CodedInputStream;
using google::protobuf::internal::WireFormatLite;

// ModelProto field 3 (NormalizerSpec): precompiled_charsmap (2, bytes), add_dummy_prefix (3),
// remove_extra_whitespaces (4), escape_whitespaces (5), bools that proto2 defaults to true. An
// embedded message seen twice merges, so each occurrence is read into the same fields. Returns
// nullptr, or what is malformed.
const char *read_normalizer_spec(CodedInputStream &in, tok_sp *sp) {
    uint32_t len;
    if (!in.ReadVarint32(&len) || len > static_cast<uint32_t>(INT_MAX))
        return "normalizer_spec: bad length";
    CodedInputStream::Limit lim = in.PushLimit(static_cast<int>(len));
    while (uint32_t tag = in.ReadTag()) {
        int field = WireFormatLite::GetTagFieldNumber(tag);
        bool varint = WireFormatLite::GetTagWireType(tag) == WireFormatLite::WIRETYPE_VARINT;
        bool bytes =
            WireFormatLite::GetTagWireType(tag) == WireFormatLite::WIRETYPE_LENGTH_DELIMITED;
        uint64_t v;
        if (field == 2 && bytes) {
            uint32_t n;
            if (!in.ReadVarint32(&n) || !in.ReadString(&sp->charsmap, static_cast<int>(n)))
                return "normalizer_spec.precompiled_charsmap: truncated";
        } else if (field >= 3 && field <= 5 && varint) {
            if (!in.ReadVarint64(&v)) return "normalizer_spec: truncated flag";
            int *flag = field == 3 ? &sp->norm.add_dummy_prefix
                        : field == 4 ? &sp->norm.remove_extra_whitespaces
                                     : &sp->norm.escape_whitespaces;
            *flag = v != 0;
        } else if (!WireFormatLite::SkipField(&in, tag)) {
            return "normalizer_spec: malformed field";
        }
    }
    if (!in.ConsumedEntireMessage()) return "normalizer_spec: malformed tag";
    in.PopLimit(lim);
    return nullptr;
}

// Reads the normalizer spec out of the serialized ModelProto (protobuf's own wire reader: the
// generated sentencepiece_model.pb.h is not shipped by Debian). Returns nullptr, or what is wrong.
const char *read_model_normalizer(const std::string &proto, tok_sp *sp) {
    sp->norm.add_dummy_prefix = sp->norm.remove_extra_whitespaces = 1;
    sp->norm.escape_whitespaces = 1;
    if (proto.size() > static_cast<size_t>(INT_MAX)) return "model proto over 2 GiB";
    CodedInputStream in(reinterpret_cast<const uint8_t *>(proto.data()),
                        static_cast<int>(proto.size()));
    while (uint32_t tag = in.ReadTag()) {
        if (tag == WireFormatLite::MakeTag(3, WireFormatLite::WIRETYPE_LENGTH_DELIMITED)) {
            if (const char *why = read_normalizer_spec(in, sp)) return why;
        } else if (!WireFormatLite::SkipField(&in, tag)) {
            return "model proto: malformed field";
        }
    }
    if (!in.ConsumedEntireMessage()) return "model proto: malformed tag";
    sp->norm.charsmap = reinterpret_cast<const unsigned char *>(sp->charsmap.data());
    sp->norm.charsmap_len = sp->charsmap.size();
    return nullptr;
}

} // namespace

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
        if (const char *bad = read_model_normalizer(sp->proc.serialized_model_proto(), sp)) {
            snprintf(why, why_cap, "%s", bad);
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

/* s as a malloc'd NUL-terminated string (NULL when out of memory); its length in *len if given. */
static char *c_string(const std::string &s, size_t *len) {
    char *out = static_cast<char *>(malloc(s.size() + 1));
    if (!out) return nullptr;
    memcpy(out, s.data(), s.size());
    out[s.size()] = 0;
    if (len) *len = s.size();
    return out;
}

extern "C" int tok_sp_encode_pieces(const tok_sp *sp, const char *text, size_t len,
                                    char **pieces, size_t *n) {
    try {
        std::vector<std::string> v;
        if (!sp->proc.Encode(absl::string_view(text, len), &v).ok()) return -1;
        size_t total = 1;
        for (const auto &p : v) total += p.size() + 1;
        char *out = static_cast<char *>(malloc(total));
        if (!out) return -1;
        char *w = out;
        for (const auto &p : v) {
            memcpy(w, p.data(), p.size());
            w += p.size();
            *w++ = 0;
        }
        *w = 0;
        *pieces = out;
        *n = v.size();
        return 0;
    } catch (const std::exception &) {
        return -1;
    }
}

extern "C" char *tok_sp_decode_pieces(const tok_sp *sp, const char *const *pieces, size_t n,
                                      size_t *len) {
    try {
        std::vector<std::string> v(pieces, pieces + n);
        std::string s;
        if (!sp->proc.Decode(v, &s).ok()) return nullptr;
        return c_string(s, len);
    } catch (const std::exception &) {
        return nullptr;
    }
}

extern "C" const tok_sp_normalizer *tok_sp_normalizer_spec(const tok_sp *sp) { return &sp->norm; }
