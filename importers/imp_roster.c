/* Candidate rosters (考生名单) for `kaochang session add-candidates`: a CSV file (UTF-8 with or
 * without BOM, or GB18030) or an XLSX workbook, read by the importers' own readers into
 * sheets and checked row by row. Pure validation, no database: what only the database knows
 * (a ticket of another session, a seat taken by an earlier import) the caller checks in its
 * transaction. Every problem is one "FILE:LINE: field: reason" line. */
#include "imp_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum { C_TICKET, C_IDNO, C_NAME, C_ROOM, C_SEAT, N_COLS, N_REQUIRED = 3 };
static const char *const COL[N_COLS] = {"准考证号", "身份证号", "姓名", "考场", "座位号"};

/* The column sizes of candidate and attempt (deploy/schema), in bytes as they always were. */
#define TICKET_MAX 32
#define NAME_MAX_BYTES 128
#define ROOM_MAX_BYTES 64
#define SEAT_MAX 65535
#define SHOWN_MAX 40        /* bytes of a rejected value quoted back */
#define FOUND_MAX 200       /* bytes of a wrong header quoted back */

/* ---- values given twice ---- */

/* Where a value was first given. A hash map from the value's hash to its place; two values
 * with one hash probe on to the next key, so equal hashes never make a false duplicate. */
typedef struct place {
    const char *key, *where;
    int line;
} place;

typedef struct seen {
    kc_map m;
    place *at;
    size_t n, cap;
} seen;

typedef struct roster_rd {
    const char *name;
    kc_arena *a;
    kc_diag *d;
    imp_roster *out;
    size_t cap;
    int xlsx;
    seen tickets, ids, seats;
} roster_rd;

static uint64_t fnv1a(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
    return h;
}

/* Sets *first to the place key was given before, or to NULL after remembering this one.
 * 0 or KC_ENOMEM. */
static int seen_check(seen *s, const char *key, const char *where, int line, place *first)
{
    uint64_t h = fnv1a(key), v;
    for (;; h++) {
        if (!h) continue;       /* 0 is no key */
        if (!kc_map_get(&s->m, h, &v)) break;
        if (!strcmp(s->at[v].key, key)) {
            *first = s->at[v];
            return 0;
        }
    }
    first->key = NULL;
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 256;
        place *at = realloc(s->at, cap * sizeof *at);
        if (!at) return KC_ENOMEM;
        s->at = at;
        s->cap = cap;
    }
    s->at[s->n] = (place){key, where, line};
    if (kc_map_put(&s->m, h, s->n)) return KC_ENOMEM;
    s->n++;
    return 0;
}

static void seen_free(seen *s)
{
    kc_map_free(&s->m);
    free(s->at);
}

/* "line 4" (CSV), "row 4" (the same sheet) or "row 4 of sheet 名单" for a diag line. */
static const char *place_name(const roster_rd *r, const place *p, const char *where, char *buf,
                              size_t len)
{
    if (!r->xlsx) snprintf(buf, len, "line %d", p->line);
    else if (p->where == where) snprintf(buf, len, "row %d", p->line);
    else {
        /* where is "NAME:SHEET!" */
        size_t skip = strlen(r->name) + 1, wl = strlen(p->where);
        snprintf(buf, len, "row %d of sheet %.*s", p->line, (int)(wl - skip - 1), p->where + skip);
    }
    return buf;
}

/* ---- values ---- */

/* Characters no ticket, name or room has: C0 and C1 controls, DEL, line and paragraph
 * separators, bidirectional overrides and a BOM (which could make a name display as
 * another). */
static int is_control(uint32_t cp)
{
    return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F) || cp == 0x2028 || cp == 0x2029 ||
           (cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069) || cp == 0xFEFF;
}

/* The first character of s that a value must not have: its code point in *cp and 1, or 2 for
 * bytes that are not UTF-8, or 0 when there is none. */
static int bad_char(const char *s, uint32_t *cp)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + strlen(s);
    while (p < end) {
        int k = bank_utf8_decode(p, (size_t)(end - p), cp);
        if (k <= 0) return 2;
        if (is_control(*cp)) return 1;
        p += k;
    }
    return 0;
}

/* s to quote back in a diag line: at most max bytes, cut at a character (then "…"), with
 * control characters and stray bytes shown as U+FFFD. Into b. */
static void put_shown(kc_buf *b, const char *s, size_t max)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + strlen(s);
    size_t used = 0;
    while (p < end) {
        uint32_t cp;
        int k = bank_utf8_decode(p, (size_t)(end - p), &cp);
        int bad = k <= 0 || is_control(cp);
        size_t w = bad ? 3 : (size_t)k;
        if (used + w > max) {
            kc_buf_str(b, "…");
            return;
        }
        if (bad) kc_buf_str(b, "\xEF\xBF\xBD");
        else kc_buf_add(b, (const char *)p, (size_t)k);
        used += w;
        p += k > 0 ? (size_t)k : 1;
    }
}

static const char *shown(roster_rd *r, const char *s)
{
    kc_buf b = {0};
    kc_buf_str(&b, "");
    put_shown(&b, s, SHOWN_MAX);
    const char *t = kc_buf_to_arena(&b, r->a);
    return t ? t : "";      /* out of memory: the diag line that quotes it fails too */
}

/* 准考证号: 1-32 ASCII letters, digits or '-' (what candidates type at login). */
static int valid_ticket(const char *s)
{
    size_t n = strlen(s);
    if (n < 1 || n > TICKET_MAX) return 0;
    for (; *s; s++)
        if (!((*s >= '0' && *s <= '9') || (*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
              *s == '-'))
            return 0;
    return 1;
}

/* 身份证号 (GB 11643): 18 characters, 17 digits and a check digit (0-9 or X) that must match;
 * s is upper case already. */
static const char *id_number_problem(const char *s)
{
    static const int w[17] = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2};
    static const char check[] = "10X98765432";
    if (strlen(s) != 18) return "expected 18 characters";
    int sum = 0;
    for (int i = 0; i < 17; i++) {
        if (s[i] < '0' || s[i] > '9') return "expected digits in the first 17 places";
        sum += (s[i] - '0') * w[i];
    }
    if (check[sum % 11] != s[17]) return "the check digit does not match";
    return NULL;
}

static char *upper_ascii(kc_arena *a, const char *s)
{
    char *u = kc_arena_strdup(a, s);
    if (u)
        for (char *p = u; *p; p++)
            if (*p >= 'a' && *p <= 'z') *p = (char)(*p - 'a' + 'A');
    return u;
}

/* ---- the header ---- */

/* col[k]: the column of COL[k], or -1. Returns 0, 1 when the header is unusable (reported),
 * or KC_ENOMEM. */
static int read_header(roster_rd *r, const imp_sheet *sh, int col[N_COLS])
{
    const imp_row *h = &sh->rows[0];
    for (int k = 0; k < N_COLS; k++) col[k] = -1;
    if (h->bad_cell >= 0)
        return kc_diag_add(r->d, sh->where, h->line, "header",
                           "unexpected text after the closing quote in column %d", h->bad_cell + 1)
                   ? KC_ENOMEM : 1;
    int bad = 0;
    for (int i = 0; i < h->ncells; i++)
        for (int k = 0; k < N_COLS; k++) {
            if (strcmp(h->cells[i], COL[k])) continue;
            if (col[k] < 0) { col[k] = i; continue; }
            /* which one holds the candidates' values would be a guess */
            if (kc_diag_add(r->d, sh->where, h->line, COL[k], "column appears twice (columns %d and %d)",
                            col[k] + 1, i + 1))
                return KC_ENOMEM;
            bad = 1;
        }
    char miss[64] = "";
    int n_miss = 0;
    for (int k = 0; k < N_REQUIRED; k++)
        if (col[k] < 0)
            snprintf(miss + strlen(miss), sizeof miss - strlen(miss), "%s%s", n_miss++ ? ", " : "", COL[k]);
    if (!n_miss) return bad;
    /* the row as it was read, so that a file without a header or in another encoding shows */
    kc_buf cells = {0}, found = {0};
    kc_buf_str(&cells, "");
    for (int i = 0; i < h->ncells; i++) {
        if (i) kc_buf_str(&cells, ",");
        kc_buf_str(&cells, h->cells[i]);
    }
    kc_buf_str(&found, "");
    if (!cells.oom) put_shown(&found, cells.p, FOUND_MAX);
    int rc = cells.oom || found.oom ||
             kc_diag_add(r->d, sh->where, h->line, "header",
                         "missing column%s %s (the header needs 准考证号,身份证号,姓名 and may have "
                         "考场,座位号; found %s)",
                         n_miss > 1 ? "s" : "", miss, found.p);
    kc_buf_free(&cells);
    kc_buf_free(&found);
    return rc ? KC_ENOMEM : 1;
}

/* ---- rows ---- */

static int push(roster_rd *r, const imp_candidate *c)
{
    imp_roster *o = r->out;
    if (o->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 64;
        imp_candidate *rows = kc_arena_alloc(r->a, cap * sizeof *rows);
        if (!rows) return KC_ENOMEM;
        if (o->n) memcpy(rows, o->rows, o->n * sizeof *rows);
        o->rows = rows;
        r->cap = cap;
    }
    o->rows[o->n++] = *c;
    return 0;
}

#define PROBLEM(field, ...)                                                    \
    do {                                                                       \
        if (kc_diag_add(r->d, where, line, (field), __VA_ARGS__)) return KC_ENOMEM; \
        bad++;                                                                 \
    } while (0)

/* A name or room: at most max bytes, no control characters. */
static int text_problems(roster_rd *r, const char *where, int line, int k, const char *v,
                         size_t max)
{
    int bad = 0;
    uint32_t cp;
    if (strlen(v) > max) PROBLEM(COL[k], "longer than %zu bytes", max);
    int c = bad_char(v, &cp);
    if (c == 1) PROBLEM(COL[k], "contains a control character (U+%04X)", (unsigned)cp);
    else if (c == 2) PROBLEM(COL[k], "is not valid UTF-8");
    return bad;
}

/* One row: its problems reported, the candidate kept when it has none. 0 or KC_ENOMEM. */
static int read_row(roster_rd *r, const imp_sheet *sh, const imp_row *row, const int col[N_COLS])
{
    const char *where = sh->where, *v[N_COLS];
    int line = row->line, bad = 0, any = 0, stray[N_COLS] = {0}, rc;
    for (int k = 0; k < N_COLS; k++) {
        v[k] = col[k] >= 0 && col[k] < row->ncells ? row->cells[col[k]] : "";
        any |= *v[k] != 0;
    }
    /* nothing of a candidate: a row that only has 序号 numbered ahead, or a 备注 */
    if (!any) return 0;
    for (int k = 0; k < N_COLS; k++)
        if (col[k] >= 0 && col[k] == row->bad_cell) {
            PROBLEM(COL[k], "unexpected text after the closing quote");
            stray[k] = 1;
        }

    imp_candidate c = {.where = where, .line = line, .name = v[C_NAME], .room = v[C_ROOM]};
    int ticket_ok = 0, id_ok = 0, seat_ok = 0;
    if (!stray[C_TICKET]) {
        if (!*v[C_TICKET]) PROBLEM(COL[C_TICKET], "missing");
        else if (!valid_ticket(v[C_TICKET]))
            PROBLEM(COL[C_TICKET], "expected 1-32 letters, digits or '-', got \"%s\"", shown(r, v[C_TICKET]));
        else ticket_ok = 1;
    }
    c.ticket = v[C_TICKET];
    if (!(c.id_number = upper_ascii(r->a, v[C_IDNO]))) return KC_ENOMEM;
    if (!stray[C_IDNO]) {
        const char *why = id_number_problem(c.id_number);
        if (!*c.id_number) PROBLEM(COL[C_IDNO], "missing");
        else if (why && r->xlsx && strlen(c.id_number) == 18 && !strcmp(c.id_number + 15, "000") &&
                 strspn(c.id_number, "0123456789") == 18)
            /* what Excel makes of an ID typed into a number cell: 15 digits, then zeros */
            PROBLEM(COL[C_IDNO], "%s (typed into a number cell? Excel keeps only 15 digits; "
                    "format the column as text and type the ID numbers again)", why);
        else if (why) PROBLEM(COL[C_IDNO], "%s", why);
        else id_ok = 1;
    }
    if (!stray[C_NAME]) {
        if (!*v[C_NAME]) PROBLEM(COL[C_NAME], "missing");
        else if ((rc = text_problems(r, where, line, C_NAME, v[C_NAME], NAME_MAX_BYTES)) < 0) return rc;
        else bad += rc;
    }
    int room_ok = !stray[C_ROOM];
    if (room_ok && (rc = text_problems(r, where, line, C_ROOM, v[C_ROOM], ROOM_MAX_BYTES))) {
        if (rc < 0) return rc;
        bad += rc;
        room_ok = 0;
    }
    if (*v[C_SEAT] && !stray[C_SEAT]) {
        char *end;
        long seat = strtol(v[C_SEAT], &end, 10);
        if (seat < 1 || seat > SEAT_MAX || *end)
            PROBLEM(COL[C_SEAT], "expected a seat number 1..65535, got \"%s\"", shown(r, v[C_SEAT]));
        else {
            c.seat = (int)seat;
            seat_ok = 1;
        }
    }
    /* where a candidate sits matters for the neighbour rule only with both */
    if (!*v[C_ROOM] != !*v[C_SEAT])
        PROBLEM(*v[C_ROOM] ? COL[C_SEAT] : COL[C_ROOM], "a seat needs both 考场 and 座位号");

    char other[160];
    place first;
    if (seat_ok && room_ok && *v[C_ROOM]) {
        const char *key = kc_arena_printf(r->a, "%d\n%s", c.seat, c.room);
        if (!key || seen_check(&r->seats, key, where, line, &first)) return KC_ENOMEM;
        if (first.key)
            PROBLEM(COL[C_SEAT], "seat %d of room %s is also given on %s", c.seat, c.room,
                    place_name(r, &first, where, other, sizeof other));
    }
    if (ticket_ok) {
        /* the database compares tickets without case */
        const char *key = upper_ascii(r->a, c.ticket);
        if (!key || seen_check(&r->tickets, key, where, line, &first)) return KC_ENOMEM;
        if (first.key)
            PROBLEM(COL[C_TICKET], "%s is also on %s", c.ticket, place_name(r, &first, where, other, sizeof other));
    }
    if (id_ok) {
        if (seen_check(&r->ids, c.id_number, where, line, &first)) return KC_ENOMEM;
        if (first.key)
            PROBLEM(COL[C_IDNO], "the same ID number is also on %s",
                    place_name(r, &first, where, other, sizeof other));
    }
    return bad ? 0 : push(r, &c);
}

#undef PROBLEM

/* One sheet: the header on its first row, then the candidates. 0 or KC_ENOMEM. */
static int read_sheet(roster_rd *r, const imp_sheet *sh)
{
    if (!sh->n) return 0;
    int col[N_COLS], rc = read_header(r, sh, col);
    if (rc) return rc < 0 ? rc : 0;
    for (size_t i = 1; i < sh->n; i++)
        if ((rc = read_row(r, sh, &sh->rows[i], col))) return rc;
    return 0;
}

/* A workbook: every sheet with a roster header (a sheet per 考场 is common; instructions
 * sheets are skipped), or the first sheet with rows when none has one, so that its header
 * is reported. */
static int read_workbook(roster_rd *r, const char *buf, size_t len)
{
    imp_sheet *sheets;
    int n;
    if (imp__xlsx_sheets(r->name, buf, len, r->a, &sheets, &n, r->d) < 0) return KC_ENOMEM;
    int any = 0, pick = -1;
    for (int i = 0; i < n; i++) {
        any |= imp__sheet_names(&sheets[i], COL[C_TICKET], COL[C_IDNO]);
        if (pick < 0 && sheets[i].n) pick = i;
    }
    for (int i = 0; i < n; i++) {
        if (any ? !imp__sheet_names(&sheets[i], COL[C_TICKET], COL[C_IDNO]) : i != pick) continue;
        int rc = read_sheet(r, &sheets[i]);
        if (rc) return rc;
    }
    return 0;
}

static int read_csv(roster_rd *r, const char *buf, size_t len)
{
    const char *text;
    size_t text_len;
    char *to_free;
    int rc = imp__decode_text(r->name, buf, len, &text, &text_len, &to_free, r->d);
    if (rc) return rc < 0 ? KC_ENOMEM : 0;
    imp_sheet sh;
    kc_diag trunc;
    kc_diag_init(&trunc, r->d->arena);
    /* a truncated file: the rows before the open quote are checked too, then it is named */
    rc = imp__csv_sheet(r->name, text, text_len, r->a, &sh, &trunc);
    free(to_free);
    if (rc < 0) return KC_ENOMEM;
    if ((rc = read_sheet(r, &sh))) return rc;
    for (size_t i = 0; i < trunc.n; i++)
        if (kc_diag_append_line(r->d, trunc.lines[i])) return KC_ENOMEM;
    return 0;
}

static int ends_with(const char *s, const char *tail)
{
    size_t n = strlen(s), t = strlen(tail);
    return n >= t && !strcasecmp(s + n - t, tail);
}

/* The lines from `from` on as plain single lines: a header cell or sheet name quoted by the
 * readers may hold a line break or a terminal escape. 0 or KC_ENOMEM. */
static int clean_lines(kc_diag *d, size_t from)
{
    for (size_t i = from; i < d->n; i++) {
        uint32_t cp;
        if (!bad_char(d->lines[i], &cp)) continue;
        kc_buf b = {0};
        kc_buf_str(&b, "");
        put_shown(&b, d->lines[i], (size_t)-1);
        char *line = kc_buf_to_arena(&b, d->arena);
        if (!line) return KC_ENOMEM;
        d->lines[i] = line;
    }
    return 0;
}

int imp_roster_parse_buffer(const char *display_name, const char *buf, size_t len, kc_arena *a,
                            imp_roster *out, kc_diag *d)
{
    memset(out, 0, sizeof *out);
    const char *name = display_name ? display_name : "-";
    size_t before = d->n;
    if (len > IMP_MAX_BYTES) return imp__too_big(d, name);
    roster_rd r = {.name = name, .a = a, .d = d, .out = out};
    /* by content first (a zip, or an old .xls the XLSX reader names), else by name */
    r.xlsx = (len >= 4 && !memcmp(buf, "PK\3\4", 4)) ||
             (len >= 8 && !memcmp(buf, "\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1", 8)) ||
             ends_with(name, ".xlsx") || ends_with(name, ".xls");
    int rc = kc_map_init(&r.tickets.m, 0) || kc_map_init(&r.ids.m, 0) || kc_map_init(&r.seats.m, 0)
                 ? KC_ENOMEM : 0;
    if (!rc) rc = r.xlsx ? read_workbook(&r, buf, len) : read_csv(&r, buf, len);
    seen_free(&r.tickets);
    seen_free(&r.ids);
    seen_free(&r.seats);
    if (!rc) rc = clean_lines(d, before);
    if (rc) return rc;
    if (d->n == before && !out->n && kc_diag_add(d, name, 0, NULL, "no candidates in the file"))
        return KC_ENOMEM;
    return d->n > before ? 1 : 0;
}

int imp_roster_parse_file(const char *path, kc_arena *a, imp_roster *out, kc_diag *d)
{
    char *buf;
    size_t len;
    memset(out, 0, sizeof *out);
    int rc = imp__read_file(path, &buf, &len, d);
    if (rc) return rc;
    rc = imp_roster_parse_buffer(path, buf, len, a, out, d);
    free(buf);
    return rc;
}
