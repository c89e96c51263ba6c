/* IMS QTI 2.1/2.2: one assessmentItem XML file, or a content package (zip) whose
 * imsmanifest.xml lists the item resources. The mapping is in docs/BANK.md. */
#include "imp_int.h"

#include <libxml/tree.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zip.h>

#define PKG_MAX_TOTAL ((zip_uint64_t)256 << 20)     /* all entries read from one package */
#define MAX_DECLS 32

typedef struct pkg {
    zip_t *z;
    zip_uint64_t total;
} pkg;

/* Reads one entry of at most cap bytes (NUL-terminated, malloc'd). 0, 1 missing, 2 too
 * large, 3 damaged, -1 OOM. */
static int pkg_read(pkg *p, const char *path, size_t cap, char **out, size_t *len)
{
    zip_int64_t idx = zip_name_locate(p->z, path, 0);
    if (idx < 0) return 1;
    zip_stat_t st;
    if (zip_stat_index(p->z, (zip_uint64_t)idx, 0, &st) || !(st.valid & ZIP_STAT_SIZE)) return 3;
    if (st.size > cap || p->total + st.size > PKG_MAX_TOTAL) return 2;
    zip_file_t *f = zip_fopen_index(p->z, (zip_uint64_t)idx, 0);
    if (!f) return 3;
    char *buf = malloc((size_t)st.size + 1);
    if (!buf) { zip_fclose(f); return -1; }
    /* the stored size is only a claim: never read more than it */
    zip_int64_t n = zip_fread(f, buf, st.size);
    char extra;
    int more = zip_fread(f, &extra, 1) > 0;
    zip_fclose(f);
    if (n < 0 || (zip_uint64_t)n != st.size || more) { free(buf); return 3; }
    buf[n] = 0;
    p->total += st.size;
    *out = buf;
    *len = (size_t)n;
    return 0;
}

typedef struct decl {
    const char *id, *base_type, *cardinality;
    int n_correct;
    const char *correct[BANK_MAX_OPTIONS * 4];
    int has_mapping;
    int n_map;
    const char *map_key[BANK_MAX_OPTIONS * 4];
    double map_val[BANK_MAX_OPTIONS * 4];
    int map_case[BANK_MAX_OPTIONS * 4];     /* 1 case sensitive */
    const char *upper_bound;
    int line;
} decl;

typedef struct qi {
    const char *file;           /* diag name: "q.xml" or "pkg.zip:items/q.xml" */
    const char *dir;            /* the item's folder inside the package ("" at the top) */
    pkg *pk;
    kc_arena *a;
    kc_diag *d;
    bank_itemset *set;
    int oom, bad;
    bank_item it;
    decl decls[MAX_DECLS];
    int n_decls;
    /* interactions, in document order */
    xmlNode *choice, *extended;
    int n_choice, n_extended, n_text;
    xmlNode *text[BANK_MAX_BLANKS + 1];
} qi;

static void qd(qi *q, int line, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void qd(qi *q, int line, const char *field, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (kc_diag_vadd(q->d, q->file, line, field, fmt, ap)) q->oom = 1;
    va_end(ap);
    q->bad++;
}

static char *trimmed(char *s)
{
    if (!s) return NULL;
    while (*s == ' ' || *s == '\n' || *s == '\r' || *s == '\t') s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == '\t'))
        s[--n] = 0;
    return s;
}

static decl *find_decl(qi *q, const char *id)
{
    for (int i = 0; id && i < q->n_decls; i++)
        if (strcmp(q->decls[i].id, id) == 0) return &q->decls[i];
    return NULL;
}

static void read_decl(qi *q, xmlNode *n)
{
    if (q->n_decls == MAX_DECLS) {
        qd(q, imp__xml_line(n), "responseDeclaration", "more than %d response declarations", MAX_DECLS);
        return;
    }
    decl *r = &q->decls[q->n_decls];
    memset(r, 0, sizeof *r);
    r->line = imp__xml_line(n);
    r->id = imp__xml_attr(n, "identifier", q->a);
    if (!r->id) { qd(q, r->line, "responseDeclaration", "has no identifier"); return; }
    r->base_type = imp__xml_attr(n, "baseType", q->a);
    r->cardinality = imp__xml_attr(n, "cardinality", q->a);
    int cap = (int)(sizeof r->correct / sizeof r->correct[0]);
    for (xmlNode *v = imp__xml_child(imp__xml_child(n, "correctResponse"), "value"); v;
         v = imp__xml_next(v, "value")) {
        if (r->n_correct == cap) break;
        r->correct[r->n_correct++] = trimmed(imp__xml_text(v, q->a));
    }
    xmlNode *m = imp__xml_child(n, "mapping");
    if (m) {
        r->has_mapping = 1;
        r->upper_bound = imp__xml_attr(m, "upperBound", q->a);
        for (xmlNode *e = imp__xml_child(m, "mapEntry"); e; e = imp__xml_next(e, "mapEntry")) {
            if (r->n_map == cap) break;
            char *k = imp__xml_attr(e, "mapKey", q->a), *v = imp__xml_attr(e, "mappedValue", q->a);
            char *cs = imp__xml_attr(e, "caseSensitive", q->a), *end = NULL;
            double val = v ? strtod(v, &end) : NAN;
            if (!k || !v || end == v || *end || !isfinite(val)) {
                qd(q, imp__xml_line(e), "mapEntry", "needs a mapKey and a numeric mappedValue");
                return;
            }
            r->map_key[r->n_map] = k;
            r->map_val[r->n_map] = val;
            /* QTI 2.1 requires the attribute; when it is absent we compare exactly */
            r->map_case[r->n_map] = !cs || strcmp(cs, "true") == 0 || strcmp(cs, "1") == 0;
            r->n_map++;
        }
    }
    for (int i = 0; i < r->n_correct; i++)
        if (!r->correct[i]) { q->oom = 1; return; }
    q->n_decls++;
}

static int is_interaction(const xmlNode *n)
{
    if (!n || n->type != XML_ELEMENT_NODE) return 0;
    size_t l = strlen((const char *)n->name);
    return l > 11 && strcmp((const char *)n->name + l - 11, "Interaction") == 0;
}

static void find_interactions(qi *q, xmlNode *n)
{
    for (; n; n = n->next) {
        if (n->type != XML_ELEMENT_NODE) continue;
        if (imp__xml_is(n, "choiceInteraction")) {
            if (!q->n_choice++) q->choice = n;
        } else if (imp__xml_is(n, "extendedTextInteraction")) {
            if (!q->n_extended++) q->extended = n;
        } else if (imp__xml_is(n, "textEntryInteraction")) {
            if (q->n_text < BANK_MAX_BLANKS + 1) q->text[q->n_text] = n;
            q->n_text++;
        } else if (is_interaction(n) || imp__xml_is(n, "positionObjectStage")) {
            qd(q, imp__xml_line(n), (const char *)n->name, "this interaction is not supported");
        } else {
            find_interactions(q, n->children);
        }
    }
}

/* ---- itemBody to an HTML fragment ---- */

static const char *base_name(const char *p)
{
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

/* dir + rel with "." and ".." resolved; NULL when it leaves the package. */
static char *resolve(const char *dir, const char *rel, kc_arena *a)
{
    char *path = kc_arena_printf(a, "%s%s", dir, rel);
    if (!path) return NULL;
    char *out = kc_arena_alloc(a, strlen(path) + 1);
    if (!out) return NULL;
    size_t n = 0;
    for (char *seg = path; *seg;) {
        char *e = strchr(seg, '/');
        size_t sl = e ? (size_t)(e - seg) : strlen(seg);
        if (sl == 0 || (sl == 1 && seg[0] == '.')) {
        } else if (sl == 2 && seg[0] == '.' && seg[1] == '.') {
            if (!n) return NULL;
            while (n && out[n - 1] != '/') n--;
            if (n) n--;
        } else {
            if (n) out[n++] = '/';
            memcpy(out + n, seg, sl);
            n += sl;
        }
        seg += sl;
        if (*seg == '/') seg++;
    }
    out[n] = 0;
    return out;
}

static int pct_decode(char *s)
{
    char *o = s;
    for (char *p = s; *p; p++) {
        if (*p == '%' && p[1] && p[2]) {
            char h[3] = {p[1], p[2], 0};
            char *end;
            long v = strtol(h, &end, 16);
            if (*end || v <= 0) return -1;
            *o++ = (char)v;
            p += 2;
        } else {
            *o++ = *p;
        }
    }
    *o = 0;
    return 0;
}

/* An image of the item body becomes media:NAME. */
static const char *take_media(qi *q, const xmlNode *el, const char *src)
{
    int line = imp__xml_line(el);
    if (strncmp(src, "media:", 6) == 0 || strncmp(src, "data:", 5) == 0) return src;
    if (strstr(src, "://") || src[0] == '/') {
        qd(q, line, (const char *)el->name, "%s is not a file of the package", src);
        return NULL;
    }
    if (!q->pk) {
        qd(q, line, (const char *)el->name,
           "%s is a file next to the XML; import the content package (.zip) instead", src);
        return NULL;
    }
    char *rel = kc_arena_strdup(q->a, src);
    if (!rel) { q->oom = 1; return NULL; }
    char *hash = strpbrk(rel, "?#");
    if (hash) *hash = 0;
    char *path = pct_decode(rel) ? NULL : resolve(q->dir, rel, q->a);
    if (!path) {
        qd(q, line, (const char *)el->name, "%s is not a file of the package", src);
        return NULL;
    }
    char *data;
    size_t len;
    int rc = pkg_read(q->pk, path, BANK_MEDIA_MAX_BYTES, &data, &len);
    if (rc < 0) { q->oom = 1; return NULL; }
    if (rc) {
        qd(q, line, (const char *)el->name, "%s %s", path,
           rc == 1 ? "is not in the package" : rc == 2 ? "is larger than 8 MiB" : "cannot be read (damaged zip entry)");
        return NULL;
    }
    unsigned char *copy = kc_arena_alloc(q->a, len + 1);
    if (!copy) { free(data); q->oom = 1; return NULL; }
    memcpy(copy, data, len);
    free(data);
    /* the base name, or the path with '_' for '/' when another file has that base name */
    const char *name = base_name(path);
    for (int i = 0; i < 2; i++) {
        rc = imp__media_add(&q->it, q->a, name, copy, len);
        if (rc <= 0) break;
        char *alt = kc_arena_strdup(q->a, path);
        if (!alt) { q->oom = 1; return NULL; }
        for (char *p = alt; *p; p++)
            if (*p == '/') *p = '_';
        name = alt;
    }
    if (rc < 0) { q->oom = 1; return NULL; }
    if (rc) { qd(q, line, (const char *)el->name, "%s: two different files have this name", path); return NULL; }
    char *r = kc_arena_printf(q->a, "media:%s", name);
    if (!r) q->oom = 1;
    return r;
}

static int is_void(const char *n)
{
    return !strcmp(n, "br") || !strcmp(n, "hr") || !strcmp(n, "img") || !strcmp(n, "col");
}

static void ser(qi *q, const xmlNode *n, kc_buf *b);

static void ser_el(qi *q, const xmlNode *n, kc_buf *b)
{
    const char *name = (const char *)n->name;
    if (imp__xml_is(n, "textEntryInteraction")) {
        /* a label that is a blank mark (our exporter keeps the stem's （ ） there) */
        char *label = imp__xml_attr(n, "label", q->a);
        if (label && *label && imp__blank_mark_len(label) == strlen(label)) {
            imp__buf_esc(b, label);
            return;
        }
        for (int i = 0; i < q->n_text && i <= BANK_MAX_BLANKS; i++)
            if (q->text[i] == n) kc_buf_printf(b, "{{%d}}", i + 1);
        return;
    }
    if (imp__xml_is(n, "choiceInteraction") || imp__xml_is(n, "extendedTextInteraction")) {
        xmlNode *p = imp__xml_child(n, "prompt");
        if (p) {
            kc_buf_str(b, "<p>");
            ser(q, p->children, b);
            kc_buf_str(b, "</p>");
        }
        return;
    }
    if (is_interaction(n) || imp__xml_is(n, "rubricBlock") || imp__xml_is(n, "feedbackBlock") ||
        imp__xml_is(n, "feedbackInline") || imp__xml_is(n, "templateBlock"))
        return;
    char *cls = imp__xml_attr(n, "class", q->a);
    /* what the exporter writes for tags QTI's XHTML lacks, and its stem wrapper */
    if (cls && imp__xml_is(n, "span") && strcmp(cls, "kaochang-u") == 0) name = "u";
    else if (cls && imp__xml_is(n, "span") && strcmp(cls, "kaochang-s") == 0) name = "s";
    else if (cls && imp__xml_is(n, "div") && strcmp(cls, "kaochang-stem") == 0) {
        ser(q, n->children, b);
        return;
    }
    kc_buf_printf(b, "<%s", name);
    for (xmlAttr *at = n->properties; at; at = at->next) {
        if (at->ns || !at->children) continue;   /* xml:lang and foreign attributes */
        char *v = imp__xml_text((const xmlNode *)at, q->a);
        if (!v) { q->oom = 1; return; }
        const char *an = (const char *)at->name;
        if (!strcmp(an, "class") && name != (const char *)n->name) continue;
        const char *val = v;
        if (!strcmp(an, "src") && imp__xml_is(n, "img")) {
            if (!(val = take_media(q, n, v))) continue;
        }
        kc_buf_printf(b, " %s=\"", an);
        imp__buf_esc(b, val);
        kc_buf_str(b, "\"");
    }
    if (is_void(name)) {
        kc_buf_str(b, ">");
        return;
    }
    kc_buf_str(b, ">");
    ser(q, n->children, b);
    kc_buf_printf(b, "</%s>", name);
}

static void ser(qi *q, const xmlNode *n, kc_buf *b)
{
    for (; n && !q->oom; n = n->next) {
        if (n->type == XML_TEXT_NODE || n->type == XML_CDATA_SECTION_NODE) imp__buf_esc(b, (const char *)n->content);
        else if (n->type == XML_ELEMENT_NODE) ser_el(q, n, b);
    }
}

static const char *html_of(qi *q, const xmlNode *children)
{
    kc_buf b = {0};
    ser(q, children, &b);
    if (b.oom) q->oom = 1;
    const char *s = b.oom ? NULL : trimmed(kc_arena_strndup(q->a, b.p ? b.p : "", b.n));
    free(b.p);
    if (!b.oom && !s) q->oom = 1;
    return s && *s ? s : NULL;
}

/* ---- interactions to items ---- */

static const char *rp_template(qi *q, xmlNode *root)
{
    xmlNode *rp = imp__xml_child(root, "responseProcessing");
    char *t = imp__xml_attr(rp, "template", q->a);
    if (!t) return rp && imp__xml_child(rp, "responseCondition") ? "custom" : "match_correct";
    const char *s = strrchr(t, '/');
    s = s ? s + 1 : t;
    if (!strncmp(s, "match_correct", 13)) return "match_correct";
    if (!strncmp(s, "map_response_point", 18)) return "map_response_point";
    if (!strncmp(s, "map_response", 12)) return "map_response";
    return "custom";
}

static void do_choice(qi *q, xmlNode *root)
{
    xmlNode *ci = q->choice;
    int line = imp__xml_line(ci);
    bank_item *it = &q->it;
    const char *ids[BANK_MAX_OPTIONS];
    int n = 0;
    for (xmlNode *c = imp__xml_child(ci, "simpleChoice"); c; c = imp__xml_next(c, "simpleChoice")) {
        if (n == BANK_MAX_OPTIONS) {
            qd(q, imp__xml_line(c), "simpleChoice", "more than %d choices; options go from A to H",
               BANK_MAX_OPTIONS);
            return;
        }
        ids[n] = imp__xml_attr(c, "identifier", q->a);
        if (!ids[n]) { qd(q, imp__xml_line(c), "simpleChoice", "has no identifier"); return; }
        char *fx = imp__xml_attr(c, "fixed", q->a);
        if (fx && !strcmp(fx, "true")) it->pin_options = 1;
        it->options[n] = html_of(q, c->children);
        n++;
    }
    if (!n) { qd(q, line, "choiceInteraction", "has no simpleChoice"); return; }
    it->n_options = n;
    char *sh = imp__xml_attr(ci, "shuffle", q->a), *mc = imp__xml_attr(ci, "maxChoices", q->a);
    if (!sh || strcmp(sh, "true") != 0) it->pin_options = 1;
    int multi = mc && strcmp(mc, "1") != 0;
    char *rid = imp__xml_attr(ci, "responseIdentifier", q->a);
    decl *r = find_decl(q, rid);
    if (!r) {
        qd(q, line, "choiceInteraction", "its responseIdentifier %s has no responseDeclaration",
           rid ? rid : "(none)");
        return;
    }
    const char *rp = rp_template(q, root);
    /* the key: correctResponse, or for map_response without one the positive entries */
    int is_key[BANK_MAX_OPTIONS] = {0}, k = 0;
    const char *const *vals = r->correct;
    int nv = r->n_correct;
    const char *pos[BANK_MAX_OPTIONS * 4];
    if (!nv && r->has_mapping) {
        for (int i = 0; i < r->n_map; i++)
            if (r->map_val[i] > 0) pos[nv++] = r->map_key[i];
        vals = pos;
    }
    if (!nv) { qd(q, r->line, "correctResponse", "is missing: the item has no key"); return; }
    for (int i = 0; i < nv; i++) {
        int found = -1;
        for (int j = 0; j < n; j++)
            if (vals[i] && !strcmp(vals[i], ids[j])) found = j;
        if (found < 0) {
            qd(q, r->line, "correctResponse", "%s is not the identifier of a choice", vals[i] ? vals[i] : "");
            return;
        }
        if (!is_key[found]) k++;
        is_key[found] = 1;
    }
    char key[BANK_MAX_OPTIONS + 1];
    int kn = 0;
    for (int j = 0; j < n; j++)
        if (is_key[j]) key[kn++] = (char)('A' + j);
    key[kn] = 0;
    if (!multi) {
        if (k != 1) {
            qd(q, r->line, "correctResponse", "has %d values; maxChoices=1 takes one", k);
            return;
        }
        if (n == 2 && ((!strcmp(ids[0], "T") && !strcmp(ids[1], "F")) ||
                       (!strcmp(ids[0], "F") && !strcmp(ids[1], "T")))) {
            it->type = BANK_TF;
            it->answer = ids[key[0] - 'A'];
            it->n_options = 0;
            memset(it->options, 0, sizeof it->options);
            it->pin_options = 0;
            return;
        }
        it->type = BANK_SINGLE;
    } else {
        it->type = BANK_MULTI;
        it->mc_policy = BANK_MC_ALL;
        if (!strcmp(rp, "map_response") && r->has_mapping) {
            double share = -1;
            for (int i = 0; i < r->n_map; i++) {
                int j = 0;
                while (j < n && strcmp(ids[j], r->map_key[i])) j++;
                if (j == n) {
                    qd(q, r->line, "mapEntry", "%s is not the identifier of a choice", r->map_key[i]);
                    return;
                }
                if (r->map_val[i] > 0 && !is_key[j]) {
                    qd(q, r->line, "mapping", "%s earns points but is not in correctResponse", r->map_key[i]);
                    return;
                }
                if (r->map_val[i] > 0 && share < 0) share = r->map_val[i];
                else if (r->map_val[i] > 0 && fabs(share - r->map_val[i]) > 1e-6) {
                    qd(q, r->line, "mapping", "mappedValues %g and %g differ; multiple choice gives "
                       "every correct option an equal share", share, r->map_val[i]);
                    return;
                }
            }
            it->mc_policy = BANK_MC_RATIO;
        }
    }
    if (!(it->answer = kc_arena_strdup(q->a, key))) q->oom = 1;
}

/* The tolerance our exporter (and others) spell out as <equal toleranceMode="absolute"
 * tolerance="T T"> around the response in custom responseProcessing; 0 when none. */
static double rp_tolerance(qi *q, const xmlNode *n, const char *rid)
{
    for (; n; n = n->next) {
        if (n->type != XML_ELEMENT_NODE) continue;
        if (imp__xml_is(n, "equal")) {
            char *mode = imp__xml_attr(n, "toleranceMode", q->a), *tol = imp__xml_attr(n, "tolerance", q->a);
            xmlNode *v = imp__xml_child(n, "variable");
            char *id = imp__xml_attr(v, "identifier", q->a);
            if (mode && tol && id && !strcmp(mode, "absolute") && !strcmp(id, rid)) {
                char *end;
                double t = strtod(tol, &end);
                if (end != tol && isfinite(t) && t > 0) return t;
            }
        }
        double t = rp_tolerance(q, n->children, rid);
        if (t > 0) return t;
    }
    return 0;
}

static void do_text(qi *q, xmlNode *root)
{
    if (q->n_text > BANK_MAX_BLANKS) {
        qd(q, imp__xml_line(q->text[BANK_MAX_BLANKS]), "textEntryInteraction",
           "more than %d blanks", BANK_MAX_BLANKS);
        return;
    }
    bank_blank *bl = kc_arena_alloc(q->a, sizeof *bl * (size_t)q->n_text);
    if (!bl) { q->oom = 1; return; }
    for (int i = 0; i < q->n_text; i++) {
        xmlNode *te = q->text[i];
        int line = imp__xml_line(te);
        char *rid = imp__xml_attr(te, "responseIdentifier", q->a);
        decl *r = find_decl(q, rid);
        if (!r) {
            qd(q, line, "textEntryInteraction", "its responseIdentifier %s has no responseDeclaration",
               rid ? rid : "(none)");
            return;
        }
        bank_blank *b = &bl[i];
        const char *bt = r->base_type ? r->base_type : "string";
        if (!strcmp(bt, "float") || !strcmp(bt, "integer")) {
            if (!r->n_correct || !r->correct[0]) {
                qd(q, r->line, "correctResponse", "is missing: a numeric blank needs its value");
                return;
            }
            char *end;
            b->mode = BANK_BLANK_NUMERIC;
            b->value = strtod(r->correct[0], &end);
            if (end == r->correct[0] || *end || !isfinite(b->value)) {
                qd(q, r->line, "correctResponse", "%s is not a number", r->correct[0]);
                return;
            }
            xmlNode *rp = imp__xml_child(root, "responseProcessing");
            b->tolerance = rp ? rp_tolerance(q, rp->children, r->id) : 0;
            continue;
        }
        if (strcmp(bt, "string")) {
            qd(q, r->line, "responseDeclaration", "baseType %s is not supported for a text entry", bt);
            return;
        }
        b->accept = kc_arena_alloc(q->a, sizeof *b->accept * (size_t)(r->n_correct + r->n_map + 1));
        if (!b->accept) { q->oom = 1; return; }
        int insensitive = 0, sensitive = 0;
        for (int j = 0; j < r->n_correct; j++)
            if (r->correct[j] && *r->correct[j]) b->accept[b->n_accept++] = r->correct[j];
        for (int j = 0; j < r->n_map; j++) {
            if (r->map_val[j] <= 0) continue;
            int dup = 0;
            for (int k = 0; k < b->n_accept; k++) dup |= !strcmp(b->accept[k], r->map_key[j]);
            if (r->map_case[j]) sensitive++;
            else insensitive++;
            if (!dup && *r->map_key[j]) b->accept[b->n_accept++] = r->map_key[j];
        }
        if (!b->n_accept) {
            qd(q, r->line, "correctResponse", "is missing: the blank %s has no answer", r->id);
            return;
        }
        b->mode = insensitive && !sensitive ? BANK_BLANK_TEXT : BANK_BLANK_EXACT;
    }
    q->it.type = BANK_FILL;
    if (!(q->it.answer = bank_fill_key_format(bl, q->n_text, q->a))) q->oom = 1;
}

static void do_extended(qi *q)
{
    char *el = imp__xml_attr(q->extended, "expectedLines", q->a);
    q->it.type = el && atoi(el) > 0 && atoi(el) <= 5 ? BANK_SHORT : BANK_ESSAY;
    char *rid = imp__xml_attr(q->extended, "responseIdentifier", q->a);
    decl *r = find_decl(q, rid);
    if (r && r->n_correct && r->correct[0] && *r->correct[0]) q->it.answer = r->correct[0];
}

static void read_points(qi *q, xmlNode *root)
{
    q->it.points_centi = 100;
    for (xmlNode *o = imp__xml_child(root, "outcomeDeclaration"); o; o = imp__xml_next(o, "outcomeDeclaration")) {
        char *id = imp__xml_attr(o, "identifier", q->a);
        if (!id || strcmp(id, "MAXSCORE")) continue;
        const char *v = trimmed(imp__xml_text(imp__xml_child(imp__xml_child(o, "defaultValue"), "value"), q->a));
        int rc = v ? imp__points_parse(v, &q->it.points_centi) : -1;
        if (rc == -2) qd(q, imp__xml_line(o), "MAXSCORE", "%s has more than 2 decimal places", v);
        else if (rc) qd(q, imp__xml_line(o), "MAXSCORE", "has no numeric default value");
        return;
    }
    if (q->n_decls == 1 && q->decls[0].upper_bound) {
        const char *v = q->decls[0].upper_bound;
        int rc = imp__points_parse(v, &q->it.points_centi);
        if (rc) qd(q, q->decls[0].line, "mapping", "upperBound %s is not a number with at most 2 decimals", v);
    }
}

static void read_item(qi *q, xmlDoc *doc)
{
    xmlNode *root = xmlDocGetRootElement(doc);
    if (!imp__xml_is(root, "assessmentItem")) {
        qd(q, imp__xml_line(root), "xml", "the root element is <%s>, not <assessmentItem>",
           root ? (const char *)root->name : "");
        return;
    }
    bank_item *it = &q->it;
    it->file = q->file;
    it->line = imp__xml_line(root);
    it->version = 1;
    char *id = imp__xml_attr(root, "identifier", q->a);
    if (imp__id_valid(id)) it->uid = id;
    for (xmlNode *r = imp__xml_child(root, "responseDeclaration"); r && !q->oom;
         r = imp__xml_next(r, "responseDeclaration"))
        read_decl(q, r);
    xmlNode *body = imp__xml_child(root, "itemBody");
    if (!body) { qd(q, it->line, "itemBody", "is missing"); return; }
    find_interactions(q, body->children);
    if (q->bad || q->oom) return;
    int kinds = !!q->n_choice + !!q->n_text + !!q->n_extended;
    if (!kinds) { qd(q, imp__xml_line(body), "itemBody", "has no interaction: nothing to answer"); return; }
    if (kinds > 1 || q->n_choice > 1 || q->n_extended > 1) {
        qd(q, imp__xml_line(body), "itemBody",
           "has several interactions of which not all are text entries; such items are not supported");
        return;
    }
    read_points(q, root);
    if (q->n_choice) do_choice(q, root);
    else if (q->n_text) do_text(q, root);
    else do_extended(q);
    if (q->bad || q->oom) return;
    it->stem = html_of(q, body->children);
    xmlNode *fb = imp__xml_child(root, "modalFeedback");
    if (fb) it->explanation = html_of(q, fb->children);
    if (q->bad || q->oom) return;
    /* the choices are read before the stem; the files go in the order the text uses them */
    if (imp__media_by_use(it, q->a)) { q->oom = 1; return; }
    if (bank_item_prepare(it, BANK_TEXT_HTML, q->a, NULL)) { q->oom = 1; return; }
    if (bank_item_validate(it, q->d)) return;
    if (bank_item_finalize(it, q->a)) { q->oom = 1; return; }
    bank_item *slot = bank_itemset_push(q->set);
    if (!slot) { q->oom = 1; return; }
    *slot = *it;
}

/* What a package's manifest says about an item: LOM keywords and difficulty. */
typedef struct meta {
    const char *tags[BANK_MAX_TAGS];
    int n_tags;
    int difficulty;
} meta;

static const char *const LOM_DIFFICULTY[] = {"very easy", "easy", "medium", "difficult", "very difficult"};

static void read_meta(xmlNode *res, kc_arena *a, meta *m)
{
    xmlNode *lom = imp__xml_child(imp__xml_child(res, "metadata"), "lom");
    for (xmlNode *k = imp__xml_child(imp__xml_child(lom, "general"), "keyword"); k; k = imp__xml_next(k, "keyword"))
        for (xmlNode *st = imp__xml_child(k, "string"); st && m->n_tags < BANK_MAX_TAGS; st = imp__xml_next(st, "string")) {
            char *t = trimmed(imp__xml_text(st, a));
            if (t && *t) m->tags[m->n_tags++] = t;
        }
    xmlNode *dv = imp__xml_child(imp__xml_child(imp__xml_child(lom, "educational"), "difficulty"), "value");
    char *v = trimmed(imp__xml_text(dv, a));
    for (int i = 0; v && i < 5; i++)
        if (!strcmp(v, LOM_DIFFICULTY[i])) m->difficulty = i + 1;
}

/* One item from XML text; returns -1 on OOM. */
static int item_from(const char *file, const char *dir, pkg *pk, const meta *mt, const char *buf,
                     size_t len, bank_itemset *set, kc_diag *d)
{
    xmlDoc *doc;
    int rc = imp__xml_read(file, buf, len, &doc, d);
    if (rc) return rc < 0 ? -1 : 0;
    qi *q = calloc(1, sizeof *q);
    if (!q) { xmlFreeDoc(doc); return -1; }
    q->file = file;
    q->dir = dir;
    q->pk = pk;
    q->a = set->arena;
    q->d = d;
    q->set = set;
    if (mt && mt->n_tags) {
        const char **t = kc_arena_alloc(set->arena, sizeof *t * (size_t)mt->n_tags);
        if (!t) { free(q); xmlFreeDoc(doc); return -1; }
        memcpy(t, mt->tags, sizeof *t * (size_t)mt->n_tags);
        q->it.tags = t;
        q->it.n_tags = mt->n_tags;
    }
    if (mt) q->it.difficulty = mt->difficulty;
    read_item(q, doc);
    rc = q->oom ? -1 : 0;
    free(q);
    xmlFreeDoc(doc);
    return rc;
}

static int read_package(const char *name, const char *buf, size_t len, bank_itemset *set,
                        kc_diag *d)
{
    zip_error_t ze;
    zip_error_init(&ze);
    zip_source_t *src = zip_source_buffer_create(buf, len, 0, &ze);
    zip_t *z = src ? zip_open_from_source(src, ZIP_RDONLY, &ze) : NULL;
    zip_error_fini(&ze);
    if (!z) {
        if (src) zip_source_free(src);
        return kc_diag_add(d, name, 1, "zip", "is not a readable zip file (damaged or truncated)") ? -1 : 1;
    }
    pkg pk = {z, 0};
    char *man;
    size_t mlen;
    int rc = pkg_read(&pk, "imsmanifest.xml", IMP_MAX_BYTES, &man, &mlen);
    if (rc) {
        zip_discard(z);
        if (rc < 0) return -1;
        return kc_diag_add(d, name, 1, "imsmanifest.xml",
                             rc == 1 ? "is missing: not a QTI content package" : "cannot be read")
                   ? -1 : 1;
    }
    char *mname = kc_arena_printf(set->arena, "%s:imsmanifest.xml", name);
    xmlDoc *doc = NULL;
    rc = mname ? imp__xml_read(mname, man, mlen, &doc, d) : -1;
    free(man);
    if (rc) { zip_discard(z); return rc; }
    int items = 0, oom = 0;
    xmlNode *root = xmlDocGetRootElement(doc);
    xmlNode *res = imp__xml_child(imp__xml_child(root, "resources"), "resource");
    for (; res && !oom; res = imp__xml_next(res, "resource")) {
        char *type = imp__xml_attr(res, "type", set->arena), *href = imp__xml_attr(res, "href", set->arena);
        if (!type || strncmp(type, "imsqti_item_xmlv2p", 18)) continue;   /* tests, media, … */
        items++;
        int line = imp__xml_line(res);
        if (!href || !*href) {
            oom |= kc_diag_add(d, mname, line, "resource", "has no href") != 0;
            continue;
        }
        char *path = resolve("", href, set->arena);
        char *file = path ? kc_arena_printf(set->arena, "%s:%s", name, path) : NULL;
        char *dir = path ? kc_arena_strdup(set->arena, path) : NULL;
        if (!file || !dir) { oom = 1; break; }
        char *slash = strrchr(dir, '/');
        if (slash) slash[1] = 0;
        else dir[0] = 0;
        char *xml;
        size_t xlen;
        rc = pkg_read(&pk, path, IMP_MAX_BYTES, &xml, &xlen);
        if (rc < 0) { oom = 1; break; }
        if (rc) {
            oom |= kc_diag_add(d, mname, line, "resource", "%s %s", path,
                                 rc == 1 ? "is not in the package" : rc == 2 ? "is too large"
                                                                           : "cannot be read (damaged zip entry)") != 0;
            continue;
        }
        meta mt;
        memset(&mt, 0, sizeof mt);
        read_meta(res, set->arena, &mt);
        if (item_from(file, dir, &pk, &mt, xml, xlen, set, d) < 0) oom = 1;
        free(xml);
    }
    if (!oom && !items)
        oom = kc_diag_add(d, mname, imp__xml_line(root), "resources", "lists no QTI item (imsqti_item_xmlv2p1 or v2p2)") != 0;
    xmlFreeDoc(doc);
    zip_discard(z);
    return oom ? -1 : 0;
}

int imp__qti_parse(const char *name, const char *buf, size_t len, bank_itemset *set,
                   kc_diag *d)
{
    const char *nm = kc_arena_strdup(set->arena, name ? name : "-");
    if (!nm) return -1;
    if (len > IMP_MAX_BYTES)
        return kc_diag_add(d, nm, 1, "file", "is larger than 64 MiB; split the bank into several files") ? -1 : 1;
    int rc = len >= 2 && buf[0] == 'P' && buf[1] == 'K' ? read_package(nm, buf, len, set, d)
                                                          : item_from(nm, "", NULL, NULL, buf, len, set, d);
    if (rc < 0) return -1;
    if (bank_itemset_drop_duplicates(set, d) < 0) return -1;
    return 0;
}
