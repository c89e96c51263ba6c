/* libFuzzer: arbitrary bytes through the rich-text sanitizer. Every output must pass the
 * strict checker, re-sanitize to itself, and ASCII plain text must read back unchanged. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../bank/bank.h"
#include "html_safe.h"

static void fail(const char *what, const char *in, const char *out)
{
    fprintf(stderr, "fuzz_html: %s\n  in:  %s\n  out: %s\n", what, in, out ? out : "(null)");
    abort();
}

static char *sanitize(const char *in, enum bank_text_kind kind, kc_arena *a, bank_media **m,
                      int *nm)
{
    char *out = NULL;
    if (bank_html_sanitize(in, kind, a, &out, NULL, m, nm) || !out) fail("sanitize failed", in, NULL);
    return out;
}

static void check(const char *in, const char *out, kc_arena *a, bank_media **m, int *nm)
{
    const char *why = html_unsafe(out);
    if (why) fail(why, in, out);
    if (strcmp(sanitize(out, BANK_TEXT_AUTO, a, m, nm), out)) fail("AUTO not idempotent", in, out);
    if (strcmp(sanitize(out, BANK_TEXT_HTML, a, m, nm), out)) fail("HTML not idempotent", in, out);
    if (!bank_html_to_text(out, a)) fail("to_text failed", in, out);
    (void)bank_html_is_plain(out);
}

/* Printable ASCII, tab and newline: text whose plain form must read back as it was. */
static int simple_text(const char *s)
{
    for (; *s; s++)
        if (!((*s >= 0x20 && *s < 0x7F) || *s == '\t' || *s == '\n')) return 0;
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 65536) return 0;
    char *in = malloc(size + 1);
    if (!in) return 0;
    memcpy(in, data, size);
    in[size] = 0;
    kc_arena *a = kc_arena_new(0);
    bank_media *m = NULL;
    int nm = 0;
    check(in, sanitize(in, BANK_TEXT_AUTO, a, &m, &nm), a, &m, &nm);
    check(in, sanitize(in, BANK_TEXT_HTML, a, &m, &nm), a, &m, &nm);
    char *plain = sanitize(in, BANK_TEXT_PLAIN, a, &m, &nm);
    check(in, plain, a, &m, &nm);
    if (!bank_html_is_plain(plain)) fail("plain text is not plain", in, plain);
    if (simple_text(in)) {
        char *back = bank_html_to_text(plain, a);
        size_t n = strlen(in), k = strlen(back);
        while (n && (in[n - 1] == ' ' || in[n - 1] == '\t' || in[n - 1] == '\n')) n--;
        if (k != n || memcmp(back, in, n)) fail("plain text does not read back", in, back);
    }
    for (int i = 0; i < nm; i++)
        if (!m[i].name || !m[i].data || !m[i].len || strncmp(m[i].name, "image-", 6))
            fail("bad media entry", in, m[i].name);
    kc_arena_free(a);
    free(in);
    return 0;
}
