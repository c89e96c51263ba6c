/* QTI 2.2 export: a content package (zip) with imsmanifest.xml, one assessmentItem file per
 * item (items/iN.xml) and its media (items/iN/NAME). docs/BANK.md lists the mapping. */
#include "imp_int.h"

#include <libxml/HTMLparser.h>
#include <libxml/tree.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zip.h>

#define QTI_NS "http://www.imsglobal.org/xsd/imsqti_v2p2"
#define RP_BASE "http://www.imsglobal.org/question/qti_v2p2/rptemplates/"

typedef struct xo {
    kc_diag *d;
    kc_arena *a;
    int oom;
    int left_out;
    /* while writing a fill stem: blanks placed so far */
    int n_blanks, next_blank;
    int placed[BANK_MAX_BLANKS];
    const char *media_dir;      /* "i3/" */
} xo;

static void note(xo *o, const bank_item *it, const char *field, const char *fmt, const char *arg)
{
    if (kc_diag_add(o->d, it->uid ? it->uid : "-", 0, field, fmt, arg)) o->oom = 1;
    o->left_out = 1;
}

/* The stem's own mark (（ ）, ____) travels as the interaction's label. */
static void blank_el(xo *o, kc_buf *b, int k, const char *mark, size_t mark_len)
{
    kc_buf_printf(b, "<textEntryInteraction responseIdentifier=\"RESPONSE_%d\" expectedLength=\"15\"", k);
    if (mark_len) {
        char m[64];
        snprintf(m, sizeof m, "%.*s", (int)(mark_len < sizeof m ? mark_len : sizeof m - 1), mark);
        kc_buf_str(b, " label=\"");
        imp__buf_esc(b, m);
        kc_buf_str(b, "\"");
    }
    kc_buf_str(b, "/>");
    o->placed[k - 1] = 1;
}

/* Text of a fill stem: {{N}} marks blank N; the other marks mark the next blank. */
static void text_out(xo *o, kc_buf *b, const char *s)
{
    if (!o->n_blanks) { imp__buf_esc(b, s); return; }
    kc_buf plain = {0};
    while (*s) {
        int k = 0, seq = 0;
        size_t skip = 0;
        if (s[0] == '{' && s[1] == '{') {
            const char *p = s + 2;
            while (*p >= '0' && *p <= '9' && k < 1000) k = k * 10 + (*p++ - '0');
            if (p > s + 2 && p[0] == '}' && p[1] == '}' && k >= 1 && k <= o->n_blanks && !o->placed[k - 1])
                skip = (size_t)(p + 2 - s);
            else k = 0;
        } else if ((skip = imp__blank_mark_len(s))) {
            while (o->next_blank < o->n_blanks && o->placed[o->next_blank]) o->next_blank++;
            if (o->next_blank < o->n_blanks) k = o->next_blank + 1;
            seq = 1;
        }
        if (k) {
            imp__buf_esc(b, plain.p ? plain.p : "");
            plain.n = 0;
            if (plain.p) plain.p[0] = 0;
            blank_el(o, b, k, s, seq && skip < 64 ? skip : 0);
            s += skip;
        } else {
            kc_buf_add(&plain, s, 1);
            s++;
        }
    }
    imp__buf_esc(b, plain.p ? plain.p : "");
    if (plain.oom) b->oom = 1;
    free(plain.p);
}

static int is_void(const char *n)
{
    return !strcmp(n, "br") || !strcmp(n, "hr") || !strcmp(n, "img") || !strcmp(n, "col");
}

static void node_out(xo *o, kc_buf *b, const xmlNode *n)
{
    for (; n; n = n->next) {
        if (n->type == XML_TEXT_NODE || n->type == XML_CDATA_SECTION_NODE) {
            text_out(o, b, (const char *)n->content);
            continue;
        }
        if (n->type != XML_ELEMENT_NODE) continue;
        const char *name = (const char *)n->name, *cls = NULL;
        /* QTI's XHTML has no u and s */
        if (!strcmp(name, "u")) { name = "span"; cls = "kaochang-u"; }
        else if (!strcmp(name, "s")) { name = "span"; cls = "kaochang-s"; }
        kc_buf_printf(b, "<%s", name);
        if (cls) kc_buf_printf(b, " class=\"%s\"", cls);
        for (xmlAttr *at = n->properties; at; at = at->next) {
            xmlChar *v = xmlNodeGetContent((xmlNode *)at);
            const char *val = v ? (const char *)v : "";
            char *mapped = NULL;
            if (!strcmp((const char *)at->name, "src") && !strncmp(val, "media:", 6))
                mapped = kc_arena_printf(o->a, "%s%s", o->media_dir, val + 6);
            kc_buf_printf(b, " %s=\"", (const char *)at->name);
            imp__buf_esc(b, mapped ? mapped : val);
            kc_buf_str(b, "\"");
            xmlFree(v);
        }
        if (is_void(name) && !n->children) {
            kc_buf_str(b, "/>");
            continue;
        }
        kc_buf_str(b, ">");
        node_out(o, b, n->children);
        kc_buf_printf(b, "</%s>", name);
    }
}

/* A sanitized HTML fragment as XHTML content. */
static void html_out(xo *o, kc_buf *b, const char *html)
{
    if (!html || !*html) return;
    kc_buf w = {0};
    kc_buf_printf(&w, "<html><body><div>%s</div></body></html>", html);
    if (w.oom) { o->oom = 1; return; }
    htmlDocPtr doc = htmlReadMemory(w.p, (int)w.n, NULL, "UTF-8",
                                    HTML_PARSE_NONET | HTML_PARSE_NOERROR | HTML_PARSE_NOWARNING);
    free(w.p);
    if (!doc) { o->oom = 1; return; }
    xmlNode *root = xmlDocGetRootElement(doc);
    xmlNode *body = imp__xml_child(root, "body");
    xmlNode *div = imp__xml_child(body, "div");
    node_out(o, b, div ? div->children : NULL);
    xmlFreeDoc(doc);
}

static const char *num(double v, char *buf, size_t len)
{
    snprintf(buf, len, "%.15g", v);
    return buf;
}

static void outcome(kc_buf *b, const char *id, const char *type, const char *value)
{
    kc_buf_printf(b, "<outcomeDeclaration identifier=\"%s\" cardinality=\"single\" baseType=\"%s\">", id, type);
    if (value) kc_buf_printf(b, "<defaultValue><value>%s</value></defaultValue>", value);
    kc_buf_str(b, "</outcomeDeclaration>\n");
}

/* One item file; 1 when the item cannot be carried (reported), -1 OOM. */
static int item_xml(xo *o, const bank_item *it, kc_buf *b)
{
    char pts[32], v1[64], v2[64];
    const bank_blank *bl = NULL;
    int nb = 0;
    switch (it->type) {
    case BANK_SINGLE: case BANK_MULTI: case BANK_TF: case BANK_SHORT: case BANK_ESSAY: break;
    case BANK_FILL:
        if (imp__item_blanks(it, o->a, &bl, &nb, NULL, 0) || nb < 1 || nb > BANK_MAX_BLANKS) {
            note(o, it, "答案", "%s", "the fill key cannot be read; left out");
            return 1;
        }
        for (int i = 0; i < nb; i++)
            if (bl[i].mode == BANK_BLANK_REGEX) {
                note(o, it, "答案", "%s", "QTI cannot carry a regular-expression blank; left out");
                return 1;
            }
        break;
    default:
        if (kc_diag_add(o->d, it->uid ? it->uid : "-", 0, "题型", "QTI cannot carry %s (%s); left out",
                          bank_type_label(it->type), bank_type_name(it->type)))
            o->oom = 1;
        o->left_out = 1;
        return 1;
    }
    imp__points_fmt(it->points_centi, pts, sizeof pts);
    kc_buf_str(b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<assessmentItem xmlns=\"" QTI_NS "\" identifier=\"");
    imp__buf_esc(b, it->uid);
    kc_buf_str(b, "\" title=\"");
    imp__buf_esc(b, it->uid);
    kc_buf_str(b, "\" adaptive=\"false\" timeDependent=\"false\">\n");

    const char *rp = NULL;
    if (it->type == BANK_SINGLE || it->type == BANK_MULTI || it->type == BANK_TF) {
        int multi = it->type == BANK_MULTI;
        kc_buf_printf(b, "<responseDeclaration identifier=\"RESPONSE\" cardinality=\"%s\" baseType=\"identifier\"><correctResponse>",
                        multi ? "multiple" : "single");
        if (it->type == BANK_TF) kc_buf_printf(b, "<value>%c</value>", it->answer && it->answer[0] == 'T' ? 'T' : 'F');
        else
            for (const char *k = it->answer ? it->answer : ""; *k; k++) kc_buf_printf(b, "<value>%c</value>", *k);
        kc_buf_str(b, "</correctResponse>");
        rp = "match_correct";
        if (multi && it->mc_policy == BANK_MC_RATIO) {
            int k = (int)strlen(it->answer ? it->answer : "");
            double share = it->points_centi / 100.0 / (k ? k : 1);
            kc_buf_printf(b, "<mapping lowerBound=\"0\" upperBound=\"%s\" defaultValue=\"0\">", pts);
            for (int i = 0; i < it->n_options; i++) {
                int ok = it->answer && strchr(it->answer, 'A' + i);
                kc_buf_printf(b, "<mapEntry mapKey=\"%c\" mappedValue=\"%s\"/>", 'A' + i,
                                ok ? num(share, v1, sizeof v1) : num(-it->points_centi / 100.0, v2, sizeof v2));
            }
            kc_buf_str(b, "</mapping>");
            rp = "map_response";
        } else if (multi && it->mc_policy == BANK_MC_HALF) {
            note(o, it, "多选计分", "%s", "QTI's response templates cannot carry half; exported as all (match_correct)");
        }
        kc_buf_str(b, "</responseDeclaration>\n");
    } else if (it->type == BANK_FILL) {
        for (int i = 0; i < nb; i++) {
            double share = it->points_centi / 100.0 / nb;
            if (bl[i].mode == BANK_BLANK_NUMERIC) {
                kc_buf_printf(b, "<responseDeclaration identifier=\"RESPONSE_%d\" cardinality=\"single\" baseType=\"float\">"
                                   "<correctResponse><value>%s</value></correctResponse></responseDeclaration>\n",
                                i + 1, num(bl[i].value, v1, sizeof v1));
                continue;
            }
            kc_buf_printf(b, "<responseDeclaration identifier=\"RESPONSE_%d\" cardinality=\"single\" baseType=\"string\">"
                               "<correctResponse><value>", i + 1);
            imp__buf_esc(b, bl[i].n_accept ? bl[i].accept[0] : "");
            kc_buf_printf(b, "</value></correctResponse><mapping defaultValue=\"0\" upperBound=\"%s\">",
                            num(share, v1, sizeof v1));
            for (int j = 0; j < bl[i].n_accept; j++) {
                kc_buf_str(b, "<mapEntry mapKey=\"");
                imp__buf_esc(b, bl[i].accept[j]);
                kc_buf_printf(b, "\" mappedValue=\"%s\" caseSensitive=\"%s\"/>", v1,
                                bl[i].mode == BANK_BLANK_EXACT ? "true" : "false");
            }
            kc_buf_str(b, "</mapping></responseDeclaration>\n");
        }
    } else {
        kc_buf_str(b, "<responseDeclaration identifier=\"RESPONSE\" cardinality=\"single\" baseType=\"string\">");
        if (it->answer) {
            kc_buf_str(b, "<correctResponse><value>");
            imp__buf_esc(b, it->answer);
            kc_buf_str(b, "</value></correctResponse>");
        }
        kc_buf_str(b, "</responseDeclaration>\n");
    }
    outcome(b, "SCORE", "float", "0");
    outcome(b, "MAXSCORE", "float", pts);
    if (it->explanation) outcome(b, "FEEDBACK", "identifier", NULL);

    kc_buf_str(b, "<itemBody>\n<div class=\"kaochang-stem\">");
    memset(o->placed, 0, sizeof o->placed);
    o->n_blanks = nb;
    o->next_blank = 0;
    html_out(o, b, it->stem);
    int missing = 0;
    for (int i = 0; i < nb; i++) missing |= !o->placed[i];
    if (missing) {
        kc_buf_str(b, "<p>");
        for (int i = 0; i < nb; i++)
            if (!o->placed[i]) blank_el(o, b, i + 1, NULL, 0);
        kc_buf_str(b, "</p>");
    }
    o->n_blanks = 0;
    kc_buf_str(b, "</div>\n");
    if (it->type == BANK_SINGLE || it->type == BANK_MULTI) {
        kc_buf_printf(b, "<choiceInteraction responseIdentifier=\"RESPONSE\" shuffle=\"%s\" maxChoices=\"%d\">\n",
                        it->pin_options ? "false" : "true", it->type == BANK_MULTI ? 0 : 1);
        for (int i = 0; i < it->n_options; i++) {
            kc_buf_printf(b, "<simpleChoice identifier=\"%c\">", 'A' + i);
            html_out(o, b, it->options[i]);
            kc_buf_str(b, "</simpleChoice>\n");
        }
        kc_buf_str(b, "</choiceInteraction>\n");
    } else if (it->type == BANK_TF) {
        kc_buf_str(b, "<choiceInteraction responseIdentifier=\"RESPONSE\" shuffle=\"false\" maxChoices=\"1\">"
                         "<simpleChoice identifier=\"T\">正确</simpleChoice>"
                         "<simpleChoice identifier=\"F\">错误</simpleChoice></choiceInteraction>\n");
    } else if (it->type == BANK_SHORT || it->type == BANK_ESSAY) {
        kc_buf_printf(b, "<extendedTextInteraction responseIdentifier=\"RESPONSE\" expectedLines=\"%d\"/>\n",
                        it->type == BANK_SHORT ? 5 : 15);
    }
    kc_buf_str(b, "</itemBody>\n");
    if (rp) {
        kc_buf_printf(b, "<responseProcessing template=\"" RP_BASE "%s\"/>\n", rp);
    } else if (it->type == BANK_FILL) {
        /* several responses: the templates only know RESPONSE, so the sum is spelled out */
        kc_buf_str(b, "<responseProcessing>\n");
        for (int i = 0; i < nb; i++) {
            double share = it->points_centi / 100.0 / nb;
            if (bl[i].mode == BANK_BLANK_NUMERIC) {
                kc_buf_printf(b, "<responseCondition><responseIf><equal toleranceMode=\"%s\"",
                                bl[i].tolerance > 0 ? "absolute" : "exact");
                if (bl[i].tolerance > 0) {
                    num(bl[i].tolerance, v2, sizeof v2);
                    kc_buf_printf(b, " tolerance=\"%s %s\"", v2, v2);
                }
                kc_buf_printf(b, "><variable identifier=\"RESPONSE_%d\"/><correct identifier=\"RESPONSE_%d\"/></equal>"
                                   "<setOutcomeValue identifier=\"SCORE\"><sum><variable identifier=\"SCORE\"/>"
                                   "<baseValue baseType=\"float\">%s</baseValue></sum></setOutcomeValue>"
                                   "</responseIf></responseCondition>\n",
                                i + 1, i + 1, num(share, v1, sizeof v1));
            } else {
                kc_buf_printf(b, "<setOutcomeValue identifier=\"SCORE\"><sum><variable identifier=\"SCORE\"/>"
                                   "<mapResponse identifier=\"RESPONSE_%d\"/></sum></setOutcomeValue>\n", i + 1);
            }
        }
        kc_buf_str(b, "</responseProcessing>\n");
    }
    if (it->explanation) {
        kc_buf_str(b, "<modalFeedback outcomeIdentifier=\"FEEDBACK\" identifier=\"EXPLANATION\" showHide=\"hide\">");
        html_out(o, b, it->explanation);
        kc_buf_str(b, "</modalFeedback>\n");
    }
    kc_buf_str(b, "</assessmentItem>\n");
    return b->oom || o->oom ? -1 : 0;
}

static void dropped_fields(xo *o, const bank_item *it)
{
    char buf[200] = "";
    const char *names[8];
    int n = 0;
    if (it->point_code) names[n++] = "鉴定点代码";
    if (it->source) names[n++] = "出处";
    if (it->author) names[n++] = "命题人";
    if (it->occupation) names[n++] = "职业代码";
    if (it->level) names[n++] = "等级";
    if (!n) return;
    imp__names_join(names, n, buf, sizeof buf);
    note(o, it, buf, "QTI items cannot carry %s; left out", n > 1 ? "these fields" : "this field");
}

/* Tags and difficulty go into the resource's LOM metadata (general/keyword,
 * educational/difficulty). */
static void lom_out(kc_buf *m, const bank_item *it)
{
    static const char *const DIFF[] = {"very easy", "easy", "medium", "difficult", "very difficult"};
    int diff = it->difficulty >= 1 && it->difficulty <= 5;
    if (!it->n_tags && !diff) return;
    kc_buf_str(m, "<metadata><lom xmlns=\"http://ltsc.ieee.org/xsd/LOM\">");
    if (it->n_tags) {
        kc_buf_str(m, "<general>");
        for (int i = 0; i < it->n_tags; i++) {
            kc_buf_str(m, "<keyword><string>");
            imp__buf_esc(m, it->tags[i]);
            kc_buf_str(m, "</string></keyword>");
        }
        kc_buf_str(m, "</general>");
    }
    if (diff)
        kc_buf_printf(m, "<educational><difficulty><source>LOMv1.0</source><value>%s</value>"
                           "</difficulty></educational>", DIFF[it->difficulty - 1]);
    kc_buf_str(m, "</lom></metadata>");
}

static int add_buf(zip_t *z, const char *name, kc_buf *b)
{
    zip_source_t *s = zip_source_buffer(z, b->p, b->n, 1);
    if (!s) return -1;
    b->p = NULL;    /* the zip frees it */
    if (zip_file_add(z, name, s, ZIP_FL_OVERWRITE | ZIP_FL_ENC_UTF_8) < 0) {
        zip_source_free(s);
        return -1;
    }
    return 0;
}

int imp__export_qti(const bank_itemset *set, const char *path, kc_diag *d)
{
    xo o;
    memset(&o, 0, sizeof o);
    o.d = d;
    o.a = kc_arena_new(0);
    if (!o.a) return -1;
    int zerr = 0;
    zip_t *z = zip_open(path, ZIP_CREATE | ZIP_TRUNCATE, &zerr);
    if (!z) {
        zip_error_t ze;
        zip_error_init_with_code(&ze, zerr);
        kc_diag_add(d, path, 0, "file", "cannot write: %s", zip_error_strerror(&ze));
        zip_error_fini(&ze);
        kc_arena_free(o.a);
        return -1;
    }
    kc_buf man = {0};
    kc_buf_str(&man, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                        "<manifest xmlns=\"http://www.imsglobal.org/xsd/imscp_v1p1\" identifier=\"kaochang-export\">\n"
                        "<metadata><schema>QTIv2.2 Package</schema><schemaversion>1.0.0</schemaversion></metadata>\n"
                        "<organizations/>\n<resources>\n");
    int rc = 0;
    for (size_t i = 0; i < set->n && !rc; i++) {
        const bank_item *it;
        /* every file the item XML refers to is in the package: a reference without one is dropped */
        int dr = imp__item_drop_missing_images(&set->items[i], o.a, d, &it);
        if (dr < 0) { rc = -1; break; }
        if (dr > 0 || it != &set->items[i]) o.left_out = 1;
        if (dr > 0) continue;
        kc_buf b = {0};
        o.media_dir = kc_arena_printf(o.a, "i%zu/", i + 1);
        if (!o.media_dir) { rc = -1; break; }
        int r = item_xml(&o, it, &b);
        if (r) {
            free(b.p);
            if (r < 0) rc = -1;
            continue;
        }
        dropped_fields(&o, it);
        char *name = kc_arena_printf(o.a, "items/i%zu.xml", i + 1);
        if (!name || add_buf(z, name, &b)) { free(b.p); rc = -1; break; }
        kc_buf_printf(&man, "<resource identifier=\"R%zu\" type=\"imsqti_item_xmlv2p2\" href=\"%s\">",
                        i + 1, name);
        lom_out(&man, it);
        kc_buf_printf(&man, "<file href=\"%s\"/>", name);
        for (int m = 0; m < it->n_media && !rc; m++) {
            char *mp = kc_arena_printf(o.a, "items/i%zu/%s", i + 1, it->media[m].name);
            zip_source_t *s = mp ? zip_source_buffer(z, it->media[m].data, it->media[m].len, 0) : NULL;
            if (!s || zip_file_add(z, mp, s, ZIP_FL_OVERWRITE | ZIP_FL_ENC_UTF_8) < 0) {
                if (s) zip_source_free(s);
                rc = -1;
                break;
            }
            kc_buf_str(&man, "<file href=\"");
            imp__buf_esc(&man, mp);
            kc_buf_str(&man, "\"/>");
        }
        kc_buf_str(&man, "</resource>\n");
    }
    kc_buf_str(&man, "</resources>\n</manifest>\n");
    if (!rc && (man.oom || o.oom || add_buf(z, "imsmanifest.xml", &man))) rc = -1;
    free(man.p);
    if (rc) {
        zip_discard(z);
        kc_diag_add(d, path, 0, "file", "cannot write the package (out of memory or zip error)");
    } else if (zip_close(z) < 0) {
        kc_diag_add(d, path, 0, "file", "cannot write: %s", zip_strerror(z));
        zip_discard(z);
        rc = -1;
    }
    kc_arena_free(o.a);
    if (rc) return -1;
    return o.left_out ? 1 : 0;
}
