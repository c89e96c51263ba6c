/* Aiken: single-choice questions separated by blank lines: the stem (one or more lines),
 * options "A. text" or "A) text", then "ANSWER: B". Plain text. Every problem is one line at
 * the line where the question starts (or at the offending line). */
#include "imp_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct aiken {
    const char *name;
    bank_itemset *set;
    kc_diag *d;
    int oom;
} aiken;

static void diag(aiken *k, int line, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void diag(aiken *k, int line, const char *field, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (kc_diag_vadd(k->d, k->name, line, field, fmt, ap)) k->oom = 1;
    va_end(ap);
}

/* "A. text" / "A) text": the letter (0-based) and the text, or -1. */
static int option_line(const char *s, const char *e, const char **text)
{
    if (e - s < 2 || *s < 'A' || *s > 'Z' || (s[1] != '.' && s[1] != ')')) return -1;
    if (e - s > 2 && !imp__space_len(s + 2, e)) return -1;  /* "A.B. Smith" is a stem */
    *text = s + 2;
    return *s - 'A';
}

/* "ANSWER: B" (also lower case and a full-width colon): the text after the colon, or NULL. */
static const char *answer_line(const char *s, const char *e)
{
    if (e - s < 7 || strncasecmp(s, "ANSWER", 6) != 0) return NULL;
    s += 6;
    while (s < e && (*s == ' ' || *s == '\t')) s++;
    if (s < e && *s == ':') return s + 1;
    if (e - s >= 3 && memcmp(s, "\xEF\xBC\x9A", 3) == 0) return s + 3;
    return NULL;
}

static char *dup(aiken *k, const char *s, const char *e)
{
    imp__trim(&s, &e);
    char *p = kc_arena_strndup(k->set->arena, s, (size_t)(e - s));
    if (!p) k->oom = 1;
    return p;
}

/* One question: lines [l, l + n), none blank. */
static void question(aiken *k, const imp_line *l, size_t n)
{
    bank_item it;
    memset(&it, 0, sizeof it);
    it.file = k->name;
    it.line = l[0].no;
    it.version = 1;
    it.type = BANK_SINGLE;
    it.points_centi = 100;
    size_t i = 0, stem_end;
    const char *t;
    for (; i < n; i++) {
        const char *s = l[i].s, *e = s + l[i].n;
        imp__trim(&s, &e);
        if (option_line(s, e, &t) >= 0 || answer_line(s, e)) break;
    }
    stem_end = i;
    if (!stem_end) {
        diag(k, it.line, "题干", "the question has no stem before its options");
        return;
    }
    /* a stem of several lines keeps its line breaks */
    size_t cap = 1;
    for (size_t j = 0; j < stem_end; j++) cap += l[j].n + 1;
    char *stem = kc_arena_alloc(k->set->arena, cap);
    if (!stem) { k->oom = 1; return; }
    for (size_t j = 0; j < stem_end; j++) {
        const char *s = l[j].s, *e = s + l[j].n;
        imp__trim(&s, &e);
        if (j) strcat(stem, "\n");
        strncat(stem, s, (size_t)(e - s));
    }
    it.stem = stem;
    const char *ans = NULL;
    for (; i < n; i++) {
        const char *s = l[i].s, *e = s + l[i].n;
        imp__trim(&s, &e);
        const char *a = answer_line(s, e);
        if (a) {
            if (ans) {
                diag(k, l[i].no, "答案", "a second ANSWER: line");
                return;
            }
            ans = dup(k, a, e);
            continue;
        }
        int letter = option_line(s, e, &t);
        if (ans) {
            diag(k, l[i].no, "答案", "text after the ANSWER: line; separate questions with a blank line");
            return;
        }
        if (letter < 0) {
            diag(k, l[i].no, "选项", "is not an option \"A. text\" or \"A) text\" nor \"ANSWER: B\"");
            return;
        }
        if (letter != it.n_options) {
            if (it.n_options)
                diag(k, l[i].no, "选项", "%c follows %c; options go A, B, C … in order",
                     'A' + letter, 'A' + it.n_options - 1);
            else
                diag(k, l[i].no, "选项", "%c comes first; options start at A", 'A' + letter);
            return;
        }
        if (letter >= BANK_MAX_OPTIONS) {
            diag(k, l[i].no, "选项", "%c: at most %d options (A-H) are allowed", 'A' + letter,
                 BANK_MAX_OPTIONS);
            return;
        }
        if (!(it.options[letter] = dup(k, t, e))) return;
        it.n_options++;
    }
    if (!ans) {
        diag(k, it.line, "答案", "the question has no \"ANSWER: B\" line; the file may be truncated");
        return;
    }
    /* "B", "b" or full-width "Ｂ" */
    const unsigned char *u = (const unsigned char *)ans;
    char key[2] = {0, 0};
    if (u[0] >= 'a' && u[0] <= 'z' && !u[1]) key[0] = (char)(u[0] - 32);
    else if (u[0] == 0xEF && u[1] == 0xBC && u[2] >= 0xA1 && u[2] <= 0xBA && !u[3])
        key[0] = (char)('A' + u[2] - 0xA1);
    it.answer = key[0] ? kc_arena_strdup(k->set->arena, key) : ans;
    if (!it.answer) { k->oom = 1; return; }
    if (imp__item_add(k->set, &it, BANK_TEXT_PLAIN, k->d) < 0) k->oom = 1;
}

int imp__aiken_parse(const char *name, const char *buf, size_t len, bank_itemset *set,
                     kc_diag *d)
{
    aiken k;
    memset(&k, 0, sizeof k);
    k.set = set;
    k.d = d;
    if (!(k.name = kc_arena_strdup(set->arena, name ? name : "-"))) return -1;
    imp_line *lines;
    size_t n;
    if (imp__lines_split(buf, len, &lines, &n)) return -1;
    size_t start = 0, before = set->n, diags = d->n;
    for (size_t i = 0; i <= n && !k.oom; i++) {
        if (i < n && !imp__is_blank(lines[i].s, lines[i].n)) continue;
        if (i > start) question(&k, lines + start, i - start);
        start = i + 1;
    }
    free(lines);
    if (k.oom) return -1;
    if (set->n == before && d->n == diags) diag(&k, 1, "file", "contains no Aiken questions");
    if (bank_itemset_drop_duplicates(set, d) < 0) return -1;
    return k.oom ? -1 : 0;
}
