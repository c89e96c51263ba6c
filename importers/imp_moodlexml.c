/* Moodle XML: <quiz> with one <question type=…> per item. The mapping is in docs/BANK.md;
 * every problem names the line of its <question> element. */
#include "imp_int.h"

#include <libxml/tree.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct mx {
    const char *name;
    bank_itemset *set;
    kc_diag *d;
    kc_arena *a;
    int oom;
    const char *cat_tag;        /* the tag of the current <question type="category"> */
    const char *occupation;     /* a category "OCCUPATION[/Ln]" sets these instead */
    int level;
} mx;

typedef struct qctx {
    mx *m;
    int line;
    int bad;
    int html;                   /* questiontext is format="html" */
    bank_item it;
    xmlNode *q;
} qctx;

static void qdiag(qctx *c, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void qdiag(qctx *c, const char *field, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (kc_diag_vadd(c->m->d, c->m->name, c->line, field, fmt, ap)) c->m->oom = 1;
    va_end(ap);
    c->bad++;
}

/* A file name usable as a media name: what a media name cannot hold (controls, / \ " < > :,
 * "..") becomes '_'; anything else stays, so our own exports come back under their names. */
static char *safe_name(const char *n, kc_arena *a)
{
    char *s = kc_arena_strdup(a, n);
    if (!s) return NULL;
    for (unsigned char *p = (unsigned char *)s; *p; p++)
        if (*p < 0x20 || *p == 0x7f || *p == '/' || *p == '\\' || *p == '"' || *p == '<' ||
            *p == '>' || *p == ':' || (*p == '.' && p[1] == '.'))
            *p = '_';
    return s;
}

static char *url_encode(const char *n, kc_arena *a)
{
    kc_buf b = {0};
    for (const unsigned char *p = (const unsigned char *)n; *p; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            *p == '.' || *p == '-' || *p == '_' || *p == '~')
            kc_buf_add(&b, (const char *)p, 1);
        else
            kc_buf_printf(&b, "%%%02X", *p);
    }
    char *r = b.oom ? NULL : kc_arena_strndup(a, b.p ? b.p : "", b.n);
    free(b.p);
    return r;
}

/* Pairs of (Moodle reference, media: reference) collected from the <file> elements. */
typedef struct refmap {
    const char *from[2 * 64];
    const char *to[2 * 64];
    int n;
} refmap;

static void take_files(qctx *c, xmlNode *field, refmap *rm)
{
    mx *m = c->m;
    for (xmlNode *f = imp__xml_child(field, "file"); f; f = imp__xml_next(f, "file")) {
        char *fname = imp__xml_attr(f, "name", m->a), *enc = imp__xml_attr(f, "encoding", m->a);
        if (!fname || !*fname) { qdiag(c, "file", "has no name"); continue; }
        if (enc && strcasecmp(enc, "base64") != 0) {
            qdiag(c, "file", "%s has encoding %s; only base64 is read", fname, enc);
            continue;
        }
        char *b64 = imp__xml_text(f, m->a);
        unsigned char *data;
        size_t len;
        int rc = b64 ? imp__base64_decode(b64, m->a, &data, &len) : -1;
        if (rc < 0) { m->oom = 1; return; }
        if (rc) { qdiag(c, "file", "%s is not valid base64", fname); continue; }
        if (len > BANK_MEDIA_MAX_BYTES) {
            qdiag(c, "file", "%s is larger than 8 MiB", fname);
            continue;
        }
        char *sn = safe_name(fname, m->a), *ue = url_encode(fname, m->a);
        if (!sn || !ue) { m->oom = 1; return; }
        rc = imp__media_add(&c->it, m->a, sn, data, len);
        if (rc < 0) { m->oom = 1; return; }
        if (rc) { qdiag(c, "file", "%s: two different files have this name", fname); continue; }
        if (rm->n + 2 > (int)(sizeof rm->from / sizeof rm->from[0])) {
            qdiag(c, "file", "more than 64 files in one question");
            return;
        }
        char *to = kc_arena_printf(m->a, "media:%s", sn);
        char *f1 = kc_arena_printf(m->a, "@@PLUGINFILE@@/%s", ue);
        char *f2 = kc_arena_printf(m->a, "@@PLUGINFILE@@/%s", fname);
        if (!to || !f1 || !f2) { m->oom = 1; return; }
        rm->from[rm->n] = f1; rm->to[rm->n++] = to;
        rm->from[rm->n] = f2; rm->to[rm->n++] = to;
    }
}

/* The text of a field element (<questiontext>, <answer>, …): its <text> child. Empty text
 * gives NULL. */
static const char *field_text(qctx *c, xmlNode *field, refmap *rm)
{
    if (!field) return NULL;
    take_files(c, field, rm);
    char *t = imp__xml_text(imp__xml_child(field, "text"), c->m->a);
    if (!t) return NULL;
    size_t n = strlen(t);
    while (n && (t[n - 1] == ' ' || t[n - 1] == '\n' || t[n - 1] == '\r' || t[n - 1] == '\t'))
        t[--n] = 0;
    while (*t == ' ' || *t == '\n' || *t == '\r' || *t == '\t') t++;
    return *t ? t : NULL;
}

static const char *rewrite(qctx *c, const char *s, const refmap *rm)
{
    for (int i = 0; s && i < rm->n; i++)
        if (strstr(s, rm->from[i]) && !(s = imp__replace_all(s, rm->from[i], rm->to[i], c->m->a)))
            c->m->oom = 1;
    return s;
}

static const char *child_text(qctx *c, const char *name)
{
    xmlNode *n = imp__xml_child(c->q, name);
    char *t = n ? imp__xml_text(n, c->m->a) : NULL;
    if (n && !t) c->m->oom = 1;
    if (t) {
        while (*t == ' ' || *t == '\n' || *t == '\t' || *t == '\r') t++;
        size_t k = strlen(t);
        while (k && (t[k - 1] == ' ' || t[k - 1] == '\n' || t[k - 1] == '\t' || t[k - 1] == '\r'))
            t[--k] = 0;
    }
    return t;
}

static int is_true(const char *s)
{
    return s && (strcasecmp(s, "true") == 0 || strcmp(s, "1") == 0);
}

typedef struct answer {
    const char *text;
    double fraction;
    xmlNode *node;
} answer;

static int read_answers(qctx *c, refmap *rm, answer *ans, int max)
{
    int n = 0;
    for (xmlNode *a = imp__xml_child(c->q, "answer"); a; a = imp__xml_next(a, "answer")) {
        if (n == max) {
            qdiag(c, "answer", "has more than %d answers; at most %d options (A-H) are carried",
                  max, max);
            return -1;
        }
        char *fr = imp__xml_attr(a, "fraction", c->m->a), *end = NULL;
        if (!fr) fr = "0";                   /* Moodle's default */
        double f = strtod(fr, &end);
        if (end == fr || *end || !isfinite(f) || f < -100.0001 || f > 100.0001) {
            qdiag(c, "answer", "fraction %s is not a number from -100 to 100", fr);
            return -1;
        }
        ans[n].fraction = f;
        ans[n].node = a;
        ans[n].text = field_text(c, a, rm);
        n++;
    }
    if (!n) qdiag(c, "answer", "the question has no answers");
    return n;
}

static int near(double a, double b) { return fabs(a - b) < 0.01; }

static void do_multichoice(qctx *c, refmap *rm)
{
    answer ans[BANK_MAX_OPTIONS];
    int n = read_answers(c, rm, ans, BANK_MAX_OPTIONS);
    if (n <= 0) return;
    const char *sg = child_text(c, "single");
    int single = !sg || is_true(sg);        /* Moodle reads a missing <single> as true */
    bank_item *it = &c->it;
    it->type = single ? BANK_SINGLE : BANK_MULTI;
    it->n_options = n;
    for (int i = 0; i < n; i++) it->options[i] = ans[i].text;
    if (!is_true(child_text(c, "shuffleanswers")) && imp__xml_child(c->q, "shuffleanswers"))
        it->pin_options = 1;
    char key[BANK_MAX_OPTIONS + 1];
    int k = 0;
    if (single) {
        for (int i = 0; i < n; i++) {
            if (near(ans[i].fraction, 100)) key[k++] = (char)('A' + i);
            else if (ans[i].fraction > 0.0001) {
                qdiag(c, "answer", "%c has fraction %g; single choice carries no partial credit",
                      'A' + i, ans[i].fraction);
                return;
            }
        }
        if (!k) { qdiag(c, "answer", "no answer has fraction 100"); return; }
        if (k > 1) {
            qdiag(c, "answer", "%d answers have fraction 100; a single-choice item has one key", k);
            return;
        }
    } else {
        double share = -1, sum = 0;
        for (int i = 0; i < n; i++) {
            if (ans[i].fraction <= 0.0001) continue;
            if (share < 0) share = ans[i].fraction;
            else if (!near(share, ans[i].fraction)) {
                qdiag(c, "answer", "fractions %g and %g differ; multiple choice gives every "
                      "correct option an equal share", share, ans[i].fraction);
                return;
            }
            sum += ans[i].fraction;
            key[k++] = (char)('A' + i);
        }
        if (!k) { qdiag(c, "answer", "no answer has a positive fraction"); return; }
        if (fabs(sum - 100) > 0.1) {
            qdiag(c, "answer", "the positive fractions add up to %g, not 100", sum);
            return;
        }
        it->mc_policy = BANK_MC_RATIO;
    }
    key[k] = 0;
    if (!(it->answer = kc_arena_strdup(c->m->a, key))) c->m->oom = 1;
}

static void do_truefalse(qctx *c, refmap *rm)
{
    answer ans[4];
    int n = read_answers(c, rm, ans, 4);
    if (n <= 0) return;
    c->it.type = BANK_TF;
    const char *key = NULL;
    for (int i = 0; i < n; i++) {
        if (!near(ans[i].fraction, 100)) continue;
        const char *t = ans[i].text ? ans[i].text : "";
        if (strcasecmp(t, "true") == 0) key = "T";
        else if (strcasecmp(t, "false") == 0) key = "F";
        else {
            qdiag(c, "answer", "the answer with fraction 100 is neither true nor false");
            return;
        }
    }
    if (!key) { qdiag(c, "answer", "no answer has fraction 100"); return; }
    c->it.answer = key;
}

/* Moodle shortanswer and numerical have no blank in the text: a fill item with one blank
 * needs no mark either. */
static void set_fill(qctx *c, bank_blank *b)
{
    bank_item *it = &c->it;
    it->type = BANK_FILL;
    if (!(it->answer = bank_fill_key_format(b, 1, c->m->a))) c->m->oom = 1;
}

static void do_shortanswer(qctx *c, refmap *rm)
{
    answer ans[32];
    int n = read_answers(c, rm, ans, 32);
    if (n <= 0) return;
    bank_blank b;
    memset(&b, 0, sizeof b);
    b.mode = is_true(child_text(c, "usecase")) ? BANK_BLANK_EXACT : BANK_BLANK_TEXT;
    b.accept = kc_arena_alloc(c->m->a, sizeof *b.accept * (size_t)n);
    if (!b.accept) { c->m->oom = 1; return; }
    for (int i = 0; i < n; i++) {
        if (ans[i].fraction <= 0.0001) continue;   /* wrong answers with feedback */
        if (!near(ans[i].fraction, 100)) {
            qdiag(c, "answer", "%s has fraction %g; a blank carries no partial credit",
                  ans[i].text ? ans[i].text : "", ans[i].fraction);
            return;
        }
        if (!ans[i].text) { qdiag(c, "answer", "an answer with fraction 100 is empty"); return; }
        if (strchr(ans[i].text, '*')) {
            qdiag(c, "answer", "%s uses the wildcard *, which is not carried", ans[i].text);
            return;
        }
        b.accept[b.n_accept++] = ans[i].text;   /* shortanswer answers are plain text */
    }
    if (!b.n_accept) { qdiag(c, "answer", "no answer has fraction 100"); return; }
    set_fill(c, &b);
}

static void do_numerical(qctx *c, refmap *rm)
{
    answer ans[32];
    int n = read_answers(c, rm, ans, 32);
    if (n <= 0) return;
    if (imp__xml_child(imp__xml_child(c->q, "units"), "unit")) {
        qdiag(c, "units", "units are not carried; give the number without a unit");
        return;
    }
    bank_blank b;
    memset(&b, 0, sizeof b);
    b.mode = BANK_BLANK_NUMERIC;
    int found = 0;
    for (int i = 0; i < n; i++) {
        if (ans[i].fraction <= 0.0001) continue;
        if (!near(ans[i].fraction, 100)) {
            qdiag(c, "answer", "%s has fraction %g; a blank carries no partial credit",
                  ans[i].text ? ans[i].text : "", ans[i].fraction);
            return;
        }
        if (found++) {
            qdiag(c, "answer", "more than one answer has fraction 100; a numeric blank has one value");
            return;
        }
        const char *t = ans[i].text ? ans[i].text : "";
        char *end;
        b.value = strtod(t, &end);
        if (end == t || *end || !isfinite(b.value)) {
            qdiag(c, "answer", "%s is not a number", t);
            return;
        }
        char *tol = imp__xml_text(imp__xml_child(ans[i].node, "tolerance"), c->m->a);
        if (tol && *tol) {
            b.tolerance = strtod(tol, &end);
            if (end == tol || *end || !isfinite(b.tolerance) || b.tolerance < 0) {
                qdiag(c, "tolerance", "%s is not a number of 0 or more", tol);
                return;
            }
        }
    }
    if (!found) { qdiag(c, "answer", "no answer has fraction 100"); return; }
    set_fill(c, &b);
}

static void do_essay(qctx *c, refmap *rm)
{
    const char *lines = child_text(c, "responsefieldlines");
    c->it.type = lines && atoi(lines) > 0 && atoi(lines) <= 5 ? BANK_SHORT : BANK_ESSAY;
    c->it.answer = field_text(c, imp__xml_child(c->q, "graderinfo"), rm);
}

static void do_category(mx *m, xmlNode *q)
{
    char *path = imp__xml_text(imp__xml_child(imp__xml_child(q, "category"), "text"), m->a);
    if (!path) path = "";
    while (*path == '$') {                  /* $course$/, $system$/, $module$/, $cat1$/ … */
        char *e = strchr(path + 1, '$');
        if (!e) break;
        path = e + 1;
        if (*path == '/') path++;
    }
    if (strncmp(path, "top/", 4) == 0) path += 4;
    else if (strcmp(path, "top") == 0) path += 3;
    m->cat_tag = NULL;
    m->occupation = NULL;
    m->level = 0;
    if (!*path) return;
    char *slash = strchr(path, '/');
    char *first = slash ? kc_arena_strndup(m->a, path, (size_t)(slash - path)) : path;
    if (first && bank_occupation_code_valid(first)) {
        int lv = slash ? bank_level_parse(slash + 1) : 0;
        if (!slash || (lv > 0 && !strchr(slash + 1, '/'))) {
            m->occupation = first;
            m->level = lv > 0 ? lv : 0;
            return;
        }
    }
    m->cat_tag = path;
}

static void read_tags(qctx *c)
{
    mx *m = c->m;
    const char *tags[BANK_MAX_TAGS + 1];
    int n = 0;
    if (m->cat_tag) tags[n++] = m->cat_tag;
    xmlNode *ts = imp__xml_child(c->q, "tags");
    for (xmlNode *t = imp__xml_child(ts, "tag"); t; t = imp__xml_next(t, "tag")) {
        char *s = imp__xml_text(imp__xml_child(t, "text"), m->a);
        if (!s || !*s) continue;
        int dup = 0;
        for (int i = 0; i < n; i++) dup |= strcmp(tags[i], s) == 0;
        if (dup) continue;
        if (n == BANK_MAX_TAGS) { qdiag(c, "tags", "more than %d tags", BANK_MAX_TAGS); return; }
        tags[n++] = s;
    }
    if (!n) return;
    const char **v = kc_arena_alloc(m->a, sizeof *v * (size_t)n);
    if (!v) { m->oom = 1; return; }
    memcpy(v, tags, sizeof *v * (size_t)n);
    c->it.tags = v;
    c->it.n_tags = n;
}

static void read_question(mx *m, xmlNode *q)
{
    qctx c;
    memset(&c, 0, sizeof c);
    c.m = m;
    c.q = q;
    c.line = imp__xml_line(q);
    char *type = imp__xml_attr(q, "type", m->a);
    if (!type) { qdiag(&c, "type", "the question has no type"); return; }
    if (strcmp(type, "category") == 0) { do_category(m, q); return; }
    if (strcmp(type, "description") == 0) return;     /* text between questions, not an item */
    if (strcmp(type, "cloze") == 0 || strcmp(type, "multianswer") == 0) {
        qdiag(&c, "type", "embedded answers (cloze) are not supported; write each blank as a "
              "shortanswer, numerical or multichoice question");
        return;
    }
    static const char *const KNOWN[] = {"multichoice", "truefalse", "shortanswer", "numerical",
                                        "essay"};
    int known = 0;
    for (size_t i = 0; i < sizeof KNOWN / sizeof KNOWN[0]; i++) known |= strcmp(type, KNOWN[i]) == 0;
    if (!known) {
        char buf[72];
        qdiag(&c, "type", "question type %s is not supported", bank_text_clip(type, buf, sizeof buf));
        return;
    }

    bank_item *it = &c.it;
    it->file = m->name;
    it->line = c.line;
    it->version = 1;
    it->points_centi = 100;
    it->occupation = m->occupation;
    it->level = m->level;
    refmap rm;
    rm.n = 0;

    const char *idn = child_text(&c, "idnumber");
    const char *qn = imp__xml_text(imp__xml_child(imp__xml_child(q, "name"), "text"), m->a);
    if (idn && *idn) it->uid = idn;
    else if (qn && imp__id_valid(qn)) it->uid = qn;
    xmlNode *qt = imp__xml_child(q, "questiontext");
    char *fmt = imp__xml_attr(qt, "format", m->a);
    c.html = fmt && strcmp(fmt, "html") == 0;
    it->stem = field_text(&c, qt, &rm);
    it->explanation = field_text(&c, imp__xml_child(q, "generalfeedback"), &rm);
    const char *grade = child_text(&c, "defaultgrade");
    if (grade && *grade) {
        int rc = imp__points_parse(grade, &it->points_centi);
        if (rc == -2) qdiag(&c, "defaultgrade", "%s has more than 2 decimal places", grade);
        else if (rc) qdiag(&c, "defaultgrade", "%s is not a number", grade);
    }
    read_tags(&c);

    if (strcmp(type, "multichoice") == 0) do_multichoice(&c, &rm);
    else if (strcmp(type, "truefalse") == 0) do_truefalse(&c, &rm);
    else if (strcmp(type, "shortanswer") == 0) do_shortanswer(&c, &rm);
    else if (strcmp(type, "numerical") == 0) do_numerical(&c, &rm);
    else do_essay(&c, &rm);
    if (m->oom || c.bad) return;

    it->stem = rewrite(&c, it->stem, &rm);
    it->explanation = rewrite(&c, it->explanation, &rm);
    for (int i = 0; i < it->n_options; i++) it->options[i] = rewrite(&c, it->options[i], &rm);
    if (it->type == BANK_SHORT || it->type == BANK_ESSAY) it->answer = rewrite(&c, it->answer, &rm);
    if (m->oom) return;

    if (bank_item_prepare(it, c.html ? BANK_TEXT_HTML : BANK_TEXT_PLAIN, m->a, NULL)) {
        m->oom = 1;
        return;
    }
    if (bank_item_validate(it, m->d)) return;
    if (bank_item_finalize(it, m->a)) { m->oom = 1; return; }
    bank_item *slot = bank_itemset_push(m->set);
    if (!slot) { m->oom = 1; return; }
    *slot = *it;
}

int imp__moodlexml_parse(const char *name, const char *buf, size_t len, bank_itemset *set,
                         kc_diag *d)
{
    mx m;
    memset(&m, 0, sizeof m);
    m.set = set;
    m.d = d;
    m.a = set->arena;
    if (!(m.name = kc_arena_strdup(m.a, name ? name : "-"))) return -1;
    xmlDoc *doc;
    int rc = imp__xml_read(m.name, buf, len, &doc, d);
    if (rc) return rc;
    xmlNode *root = xmlDocGetRootElement(doc);
    if (!imp__xml_is(root, "quiz")) {
        rc = kc_diag_add(d, m.name, imp__xml_line(root), "xml",
                           "the root element is <%s>, not <quiz>: not a Moodle XML file",
                           root ? (const char *)root->name : "") ? -1 : 1;
        xmlFreeDoc(doc);
        return rc;
    }
    int questions = 0;
    for (xmlNode *q = imp__xml_child(root, "question"); q && !m.oom; q = imp__xml_next(q, "question")) {
        questions++;
        read_question(&m, q);
    }
    if (!questions && kc_diag_add(d, m.name, imp__xml_line(root), "quiz", "has no questions"))
        m.oom = 1;
    xmlFreeDoc(doc);
    if (!m.oom && bank_itemset_drop_duplicates(set, d) < 0) m.oom = 1;
    return m.oom ? -1 : 0;
}
