#include "models/tok_normalize.h"

#include <stdlib.h>
#include <unicode/unorm2.h>
#include <unicode/ustring.h>

int tok_nfkc(const char *s, size_t n, tok_buf *out) {
    if (n == 0) return 0;
    UErrorCode e = U_ZERO_ERROR;
    const UNormalizer2 *nfkc = unorm2_getNFKCInstance(&e);
    if (U_FAILURE(e) || n > 0x3FFFFFFF) return -1;
    int32_t ulen = 0;
    UChar *u = malloc((n + 1) * sizeof *u), *v = NULL;
    char *back = NULL;
    int rc = -1;
    if (!u) goto done;
    u_strFromUTF8(u, (int32_t)n + 1, &ulen, s, (int32_t)n, &e);
    if (U_FAILURE(e)) goto done;
    /* NFKC expands at most 18x (U+FDFA); grow once if ICU asks for more. */
    int32_t cap = ulen * 4 + 16, vlen;
    for (int tries = 0; tries < 2; tries++) {
        free(v);
        if (!(v = malloc((size_t)cap * sizeof *v))) goto done;
        e = U_ZERO_ERROR;
        vlen = unorm2_normalize(nfkc, u, ulen, v, cap, &e);
        if (e == U_BUFFER_OVERFLOW_ERROR) {
            cap = vlen + 1;
            continue;
        }
        break;
    }
    if (U_FAILURE(e)) goto done;
    int32_t blen = 0;
    e = U_ZERO_ERROR;
    u_strToUTF8(NULL, 0, &blen, v, vlen, &e);
    if (e != U_BUFFER_OVERFLOW_ERROR && U_FAILURE(e)) goto done;
    if (!(back = malloc((size_t)blen + 1))) goto done;
    e = U_ZERO_ERROR;
    u_strToUTF8(back, blen + 1, &blen, v, vlen, &e);
    if (U_FAILURE(e)) goto done;
    rc = tok_buf_add(out, back, (size_t)blen);
done:
    free(u);
    free(v);
    free(back);
    return rc;
}
