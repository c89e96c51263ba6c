/* HMAC-SHA256, hex and randomness for tokens and signed links (OpenSSL). */
#include "kc.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

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

void kc_key_derive(const unsigned char root[32], const char *label, unsigned char out[32])
{
    kc_hmac_sha256(root, label, strlen(label), out);
}

void kc_mac_hex(const unsigned char key[32], char out[65], const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (n < 0) n = 0;
    if ((size_t)n >= sizeof msg) n = sizeof msg - 1;
    unsigned char mac[32];
    kc_hmac_sha256(key, msg, (size_t)n, mac);
    kc_hex(mac, 32, out);
}
