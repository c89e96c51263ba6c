/* libFuzzer: arbitrary bytes as a candidate roster (CSV in UTF-8 or GB18030; a zip is read
 * as an XLSX workbook). Checks the return contract and that every row handed back is one
 * the CLI may write: the field rules hold and no ticket, ID number or seat is there twice. */
#include <strings.h>

#include "fuzz_common.h"

static int ticket_ok(const char *s)
{
    size_t n = strlen(s);
    if (n < 1 || n > 32) return 0;
    for (; *s; s++)
        if (!((*s >= '0' && *s <= '9') || (*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
              *s == '-'))
            return 0;
    return 1;
}

static int has_c0(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f) return 1;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    kc_arena *a = kc_arena_new(0);
    if (!a) return 0;
    kc_diag d;
    kc_diag_init(&d, a);
    imp_roster r;
    int rc = imp_roster_parse_buffer("fuzz.csv", (const char *)data, size, a, &r, &d);
    if (rc < 0) abort();                        /* no I/O here, and these inputs are small */
    if ((rc == 0) != (d.n == 0)) abort();       /* a rejected file says why */
    if (rc == 0 && !r.n) abort();
    for (size_t i = 0; i < d.n; i++)
        if (strncmp(d.lines[i], "fuzz.csv", 8) || has_c0(d.lines[i] + 8)) abort();
    for (size_t i = 0; i < r.n; i++) {
        const imp_candidate *c = &r.rows[i];
        if (!ticket_ok(c->ticket) || strlen(c->id_number) != 18 || !*c->name ||
            strlen(c->name) > 128 || has_c0(c->name) || strlen(c->room) > 64 || has_c0(c->room) ||
            c->seat < 0 || c->seat > 65535 || !*c->room != !c->seat || c->line < 1)
            abort();
        for (size_t j = 0; j < i; j++) {
            const imp_candidate *e = &r.rows[j];
            if (!strcasecmp(c->ticket, e->ticket) || !strcmp(c->id_number, e->id_number) ||
                (c->seat && c->seat == e->seat && !strcmp(c->room, e->room)))
                abort();
        }
    }
    kc_arena_free(a);
    return 0;
}
