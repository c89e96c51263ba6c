/* Moodle XML export: one <question> per item that Moodle's question types carry; the rest
 * is reported "UID: field: reason". docs/BANK.md lists the mapping. */
#include "imp_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct out {
    kc_buf b;
    kc_diag *d;
    kc_arena *a;
    int left_out;
    int oom;
} out;

static void note(out *o, const bank_item *it, const char *field, const char *reason)
{
    if (kc_diag_add(o->d, it->uid ? it->uid : "-", 0, field, "%s", reason)) o->oom = 1;
    o->left_out = 1;
}

/* Moodle refers to a question's files as @@PLUGINFILE@@/NAME. */
static void text_el(out *o, const char *tag, const char *html, const bank_item *it, int all_files)
{
    kc_buf_printf(&o->b, "<%s format=\"html\"><text>", tag);
    if (html) {
        char *m = imp__replace_all(html, "\"media:", "\"@@PLUGINFILE@@/", o->a);
        if (!m) { o->oom = 1; return; }
        imp__buf_esc(&o->b, m);
    }
    kc_buf_str(&o->b, "</text>");
    for (int i = 0; i < it->n_media; i++) {
        const bank_media *md = &it->media[i];
        char *ref = kc_arena_printf(o->a, "media:%s", md->name);
        if (!ref) { o->oom = 1; return; }
        int used = html && strstr(html, ref);
        if (!used && all_files) {
            /* a file no other field refers to still travels with the question text */
            int elsewhere = it->explanation && strstr(it->explanation, ref);
            for (int k = 0; k < it->n_options; k++)
                elsewhere |= it->options[k] && strstr(it->options[k], ref);
            if ((it->type == BANK_SHORT || it->type == BANK_ESSAY) && it->answer)
                elsewhere |= strstr(it->answer, ref) != NULL;
            used = !elsewhere;
        }
        if (!used) continue;
        char *b64 = imp__base64_encode(md->data, md->len);
        if (!b64) { o->oom = 1; return; }
        kc_buf_str(&o->b, "<file name=\"");
        imp__buf_esc(&o->b, md->name);
        kc_buf_str(&o->b, "\" path=\"/\" encoding=\"base64\">");
        kc_buf_str(&o->b, b64);
        kc_buf_str(&o->b, "</file>");
        free(b64);
    }
    kc_buf_printf(&o->b, "</%s>\n", tag);
}

static void plain_el(out *o, const char *tag, const char *s)
{
    kc_buf_printf(&o->b, "<%s>", tag);
    imp__buf_esc(&o->b, s);
    kc_buf_printf(&o->b, "</%s>\n", tag);
}

static void answer_el(out *o, const char *fraction, const char *text, int html, const bank_item *it)
{
    if (html) {
        kc_buf_printf(&o->b, "<answer fraction=\"%s\" format=\"html\"><text>", fraction);
        char *m = imp__replace_all(text ? text : "", "\"media:", "\"@@PLUGINFILE@@/", o->a);
        if (!m) { o->oom = 1; return; }
        imp__buf_esc(&o->b, m);
    } else {
        kc_buf_printf(&o->b, "<answer fraction=\"%s\" format=\"moodle_auto_format\"><text>", fraction);
        imp__buf_esc(&o->b, text);
    }
    kc_buf_str(&o->b, "</text>");
    /* files an option refers to travel with it */
    for (int i = 0; html && text && i < it->n_media; i++) {
        char *ref = kc_arena_printf(o->a, "media:%s", it->media[i].name);
        if (!ref) { o->oom = 1; return; }
        if (!strstr(text, ref)) continue;
        char *b64 = imp__base64_encode(it->media[i].data, it->media[i].len);
        if (!b64) { o->oom = 1; return; }
        kc_buf_str(&o->b, "<file name=\"");
        imp__buf_esc(&o->b, it->media[i].name);
        kc_buf_printf(&o->b, "\" path=\"/\" encoding=\"base64\">%s</file>", b64);
        free(b64);
    }
    kc_buf_str(&o->b, "<feedback format=\"html\"><text></text></feedback></answer>\n");
}

/* The fields of an item that Moodle has no place for. */
static void dropped_fields(out *o, const bank_item *it)
{
    char buf[160] = "";
    const char *names[4];
    int n = 0;
    if (it->difficulty) names[n++] = "难度";
    if (it->point_code) names[n++] = "鉴定点代码";
    if (it->source) names[n++] = "出处";
    if (it->author) names[n++] = "命题人";
    if (!n) return;
    imp__names_join(names, n, buf, sizeof buf);
    if (kc_diag_add(o->d, it->uid ? it->uid : "-", 0, buf,
                      "Moodle XML cannot carry %s; left out", n > 1 ? "these fields" : "this field"))
        o->oom = 1;
    o->left_out = 1;
}

static void item_out(out *o, const bank_item *it)
{
    const char *type = NULL;
    const bank_blank *bl = NULL;
    int nb = 0;
    switch (it->type) {
    case BANK_SINGLE: case BANK_MULTI: type = "multichoice"; break;
    case BANK_TF: type = "truefalse"; break;
    case BANK_SHORT: case BANK_ESSAY: type = "essay"; break;
    case BANK_FILL:
        if (imp__item_blanks(it, o->a, &bl, &nb, NULL, 0)) {
            note(o, it, "答案", "the fill key cannot be read; left out");
            return;
        }
        if (nb != 1) {
            note(o, it, "答案", "Moodle XML cannot carry several blanks in one question "
                 "(shortanswer and numerical have one); left out");
            return;
        }
        if (bl[0].mode == BANK_BLANK_REGEX) {
            note(o, it, "答案", "Moodle XML cannot carry a regular-expression blank; left out");
            return;
        }
        for (int i = 0; bl[0].mode != BANK_BLANK_NUMERIC && i < bl[0].n_accept; i++)
            if (strchr(bl[0].accept[i], '*')) {
                note(o, it, "答案", "Moodle XML cannot carry an answer with *, its wildcard; left out");
                return;
            }
        type = bl[0].mode == BANK_BLANK_NUMERIC ? "numerical" : "shortanswer";
        break;
    default:
        if (kc_diag_add(o->d, it->uid ? it->uid : "-", 0, "题型",
                          "Moodle XML cannot carry %s (%s); left out", bank_type_label(it->type),
                          bank_type_name(it->type)))
            o->oom = 1;
        o->left_out = 1;
        return;
    }
    char pts[32];
    kc_buf_printf(&o->b, "<question type=\"%s\">\n<name><text>", type);
    imp__buf_esc(&o->b, it->uid);
    kc_buf_str(&o->b, "</text></name>\n");
    text_el(o, "questiontext", it->stem, it, 1);
    text_el(o, "generalfeedback", it->explanation, it, 0);
    plain_el(o, "defaultgrade", imp__points_fmt(it->points_centi, pts, sizeof pts));
    plain_el(o, "penalty", "0");
    plain_el(o, "hidden", "0");
    plain_el(o, "idnumber", it->uid);
    if (it->type == BANK_SINGLE || it->type == BANK_MULTI) {
        plain_el(o, "single", it->type == BANK_SINGLE ? "true" : "false");
        plain_el(o, "shuffleanswers", it->pin_options ? "0" : "1");
        plain_el(o, "answernumbering", "ABCD");
        int k = it->answer ? (int)strlen(it->answer) : 0;
        char right[32];
        if (it->type == BANK_MULTI) snprintf(right, sizeof right, "%.5f", 100.0 / (k ? k : 1));
        else snprintf(right, sizeof right, "100");
        for (int i = 0; i < it->n_options; i++) {
            int ok = it->answer && strchr(it->answer, 'A' + i);
            answer_el(o, ok ? right : it->type == BANK_MULTI ? "-100" : "0", it->options[i], 1, it);
        }
        if (it->type == BANK_MULTI && it->mc_policy != BANK_MC_RATIO &&
            kc_diag_add(o->d, it->uid, 0, "多选计分",
                          "Moodle XML cannot carry %s; exported with Moodle's per-option "
                          "fractions, which score like ratio", bank_mc_policy_name(it->mc_policy)))
            o->oom = 1;
        if (it->type == BANK_MULTI && it->mc_policy != BANK_MC_RATIO) o->left_out = 1;
    } else if (it->type == BANK_TF) {
        int t = it->answer && it->answer[0] == 'T';
        answer_el(o, t ? "100" : "0", "true", 0, it);
        answer_el(o, t ? "0" : "100", "false", 0, it);
    } else if (it->type == BANK_FILL && bl[0].mode == BANK_BLANK_NUMERIC) {
        char v[64], tol[64];
        snprintf(v, sizeof v, "%.15g", bl[0].value);
        snprintf(tol, sizeof tol, "%.15g", bl[0].tolerance);
        kc_buf_str(&o->b, "<answer fraction=\"100\" format=\"moodle_auto_format\"><text>");
        imp__buf_esc(&o->b, v);
        kc_buf_printf(&o->b, "</text><feedback format=\"html\"><text></text></feedback>"
                               "<tolerance>%s</tolerance></answer>\n", tol);
    } else if (it->type == BANK_FILL) {
        plain_el(o, "usecase", bl[0].mode == BANK_BLANK_EXACT ? "1" : "0");
        for (int i = 0; i < bl[0].n_accept; i++) answer_el(o, "100", bl[0].accept[i], 0, it);
    } else {
        plain_el(o, "responseformat", "editor");
        plain_el(o, "responserequired", "1");
        plain_el(o, "responsefieldlines", it->type == BANK_SHORT ? "5" : "15");
        plain_el(o, "attachments", "0");
        text_el(o, "graderinfo", it->answer, it, 0);
        kc_buf_str(&o->b, "<responsetemplate format=\"html\"><text></text></responsetemplate>\n");
    }
    if (it->n_tags) {
        kc_buf_str(&o->b, "<tags>");
        for (int i = 0; i < it->n_tags; i++) {
            kc_buf_str(&o->b, "<tag><text>");
            imp__buf_esc(&o->b, it->tags[i]);
            kc_buf_str(&o->b, "</text></tag>");
        }
        kc_buf_str(&o->b, "</tags>\n");
    }
    kc_buf_str(&o->b, "</question>\n");
    dropped_fields(o, it);
}

int imp__export_moodlexml(const bank_itemset *set, const char *path, kc_diag *d)
{
    out o;
    memset(&o, 0, sizeof o);
    o.d = d;
    o.a = kc_arena_new(0);
    if (!o.a) return -1;
    kc_buf_str(&o.b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<quiz>\n");
    const char *occ = NULL;
    int level = 0;
    for (size_t i = 0; i < set->n && !o.oom && !o.b.oom; i++) {
        const bank_item *it;
        /* a reference without its file would come back as an empty image */
        int r = imp__item_drop_missing_images(&set->items[i], o.a, d, &it);
        if (r < 0) { o.oom = 1; break; }
        if (r > 0 || it != &set->items[i]) o.left_out = 1;
        if (r > 0) continue;
        const char *io = it->occupation;
        /* occupation and level travel as the category "$course$/top/OCCUPATION/Ln" */
        int changed = i == 0 ? io != NULL
                             : strcmp(io ? io : "", occ ? occ : "") || it->level != level;
        if (changed) {
            kc_buf_str(&o.b, "<question type=\"category\"><category><text>$course$/top");
            if (io) {
                kc_buf_str(&o.b, "/");
                imp__buf_esc(&o.b, io);
                if (it->level) kc_buf_printf(&o.b, "/L%d", it->level);
            }
            kc_buf_str(&o.b, "</text></category></question>\n");
        }
        if (!io && it->level)
            note(&o, it, "等级", "Moodle XML carries a level only with an occupation; left out");
        occ = io;
        level = it->level;
        item_out(&o, it);
    }
    kc_buf_str(&o.b, "</quiz>\n");
    if (o.oom) o.b.oom = 1;
    int rc = imp__buf_write_file(&o.b, path, d);
    kc_buf_free(&o.b);
    kc_arena_free(o.a);
    if (rc) return rc;
    return o.left_out ? 1 : 0;
}
