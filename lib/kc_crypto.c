/* HMAC-SHA256, hex and randomness for tokens and signed links (OpenSSL). */
#include "kc.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

void kc_hmac_sha256(const unsigned char key[32], const void *msg, size_t len, unsigned char out[32])
{
    unsigned int n = 32;
    HMAC(EVP_sha256(), key, 32, msg, len, out, &n);
}

void kc_hex(const unsigned char *in, size_t n, char *out)
{
    static const char d[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = d[in[i] >> 4];
        out[2 * i + 1] = d[in[i] & 15];
    }
    out[2 * n] = 0;
}

int kc_memeq(const void *a, const void *b, size_t n)
{
    return CRYPTO_memcmp(a, b, n) == 0;
}

int kc_random(void *buf, size_t n)
{
    return RAND_bytes(buf, (int)n) == 1 ? 0 : KC_ERR;
}
