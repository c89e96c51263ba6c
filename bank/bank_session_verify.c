/* A prepared session checked and described: `session verify` regenerates every stored paper
 * from its seed and compares, `session report` gives the forms' equivalence report or the
 * exposure figures (docs/PAPERS.md). */
#include "bank_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char SQL_BUILDS[] =
    "SELECT id, exposure_limit, papers, engine FROM paper_build WHERE session_id = ? ORDER BY id";
static const char SQL_INSTANCES[] =
    "SELECT p.attempt_id, a.ticket_no, p.build_id, COALESCE(p.form_no, 0), p.seed, p.items"
    " FROM paper_instance p JOIN attempt a ON a.id = p.attempt_id WHERE p.session_id = ?"
    " ORDER BY p.gen_no";

struct stored {
    char ticket[33];
    uint64_t build;
    int form;
    uint64_t seed;
    bank_paper paper;
};

/* The session's source, plan, forms and stored papers in generation order. */
struct session_papers {
    bank__source src;
    bank_plan *plan;
    struct stored *v;
    size_t n;
    bank_paper *forms;
    uint64_t *form_seed;
    int n_forms;
    uint64_t *build_ids;
    uint32_t *build_limit, *build_papers;
    int n_builds;
    const char *foreign_engine;     /* a build drawn by another generator version */
};

static int papers_load(kc_db *db, uint64_t session_id, kc_arena *a, kc_diag *d,
                       struct session_papers *sp)
{
    memset(sp, 0, sizeof *sp);
    int rc = bank__source_load(db, session_id, 0, a, d, &sp->src);
    if (rc) return rc;
    if (!sp->src.first_build) {
        kc_diag_add(d, "session", 0, "papers", "the session has not been prepared (kaochang session prepare)");
        return KC_EINVAL;
    }
    char *items = malloc((size_t)1 << 22), why[256];
    if (!items) return KC_ENOMEM;
    uint64_t id, aid, build, seed;
    int64_t lim, form, made;
    char ticket[33];
    size_t cap = 0;
    char engine[33];
    rc = kc_db_query(db, SQL_BUILDS, "u", "uiis", session_id, &id, &lim, &made, engine, sizeof engine);
    while (!rc && (rc = kc_db_fetch(db, SQL_BUILDS)) == 1) {
        rc = 0;
        if (strcmp(engine, BANK_PAPER_ENGINE) && !sp->foreign_engine)
            sp->foreign_engine = kc_arena_strdup(a, engine);
        uint64_t *x = kc_arena_alloc(a, (size_t)(sp->n_builds + 1) * sizeof *x);
        uint32_t *y = kc_arena_alloc(a, (size_t)(sp->n_builds + 1) * sizeof *y);
        uint32_t *z = kc_arena_alloc(a, (size_t)(sp->n_builds + 1) * sizeof *z);
        if (!x || !y || !z) { rc = KC_ENOMEM; break; }
        if (sp->n_builds) {
            memcpy(x, sp->build_ids, (size_t)sp->n_builds * sizeof *x);
            memcpy(y, sp->build_limit, (size_t)sp->n_builds * sizeof *y);
            memcpy(z, sp->build_papers, (size_t)sp->n_builds * sizeof *z);
        }
        x[sp->n_builds] = id;
        y[sp->n_builds] = (uint32_t)lim;
        z[sp->n_builds] = (uint32_t)made;
        sp->build_ids = x;
        sp->build_limit = y;
        sp->build_papers = z;
        sp->n_builds++;
    }
    kc_db_done(db, SQL_BUILDS);
    if (rc < 0) goto out;
    rc = kc_db_query(db, SQL_INSTANCES, "u", "usuiu" "s", session_id, &aid, ticket, sizeof ticket,
                      &build, &form, &seed, items, (size_t)1 << 22);
    while (!rc && (rc = kc_db_fetch(db, SQL_INSTANCES)) == 1) {
        rc = 0;
        if (sp->n == cap) {
            cap = cap ? cap * 2 : 256;
            struct stored *x = realloc(sp->v, cap * sizeof *x);
            if (!x) { rc = KC_ENOMEM; break; }
            sp->v = x;
        }
        struct stored *s = &sp->v[sp->n++];
        memset(s, 0, sizeof *s);
        snprintf(s->ticket, sizeof s->ticket, "%s", ticket);
        s->build = build;
        s->form = (int)form;
        s->seed = seed;
        if (bank_paper_from_json(items, &sp->src.pool, a, &s->paper, why, sizeof why))
            kc_diag_add(d, s->ticket, 0, "paper", "the stored paper does not read back: %s", why);
        s->paper.seed = seed;
    }
    kc_db_done(db, SQL_INSTANCES);
    if (rc < 0) goto out;
    rc = 0;
    if (sp->src.forms) {
        sp->forms = kc_arena_alloc(a, (size_t)sp->src.forms * sizeof *sp->forms);
        sp->form_seed = kc_arena_alloc(a, (size_t)sp->src.forms * sizeof *sp->form_seed);
        if (!sp->forms || !sp->form_seed) { rc = KC_ENOMEM; goto out; }
        int64_t fno, fseed;
        rc = kc_db_query(db, bank__sql_forms, "u", "iis", session_id, &fno, &fseed, items, (size_t)1 << 22);
        while (!rc && (rc = kc_db_fetch(db, bank__sql_forms)) == 1) {
            rc = 0;
            if (fno < 1 || fno > sp->src.forms) continue;
            if (bank_paper_from_json(items, &sp->src.pool, a, &sp->forms[fno - 1], why, sizeof why))
                kc_diag_add(d, "session", 0, "forms", "form %c does not read back: %s", (int)('A' + fno - 1), why);
            sp->form_seed[fno - 1] = (uint64_t)fseed;
            sp->n_forms++;
        }
        kc_db_done(db, bank__sql_forms);
        if (rc < 0) goto out;
        rc = 0;
    }
    int problems = bank_plan_make(&sp->src.tpl, sp->src.bp, &sp->src.pool,
                                  sp->src.forms ? sp->src.forms : (int)sp->n, a, &sp->plan, d);
    if (problems) rc = problems < 0 ? KC_ENOMEM : KC_EINVAL;
out:
    free(items);
    if (rc) { free(sp->v); sp->v = NULL; }
    return rc;
}

static int build_index(const struct session_papers *sp, uint64_t build)
{
    for (int i = 0; i < sp->n_builds; i++)
        if (sp->build_ids[i] == build) return i;
    return -1;
}

static uint32_t build_limit(const struct session_papers *sp, uint64_t build)
{
    int i = build_index(sp, build);
    return i < 0 ? 0 : sp->build_limit[i];
}

int bank_session_verify(kc_db *db, uint64_t session_id, kc_diag *d, int *checked)
{
    *checked = 0;
    kc_arena *a = kc_arena_new(1 << 20);
    if (!a) return KC_ENOMEM;
    struct session_papers sp;
    int rc = papers_load(db, session_id, a, d, &sp);
    if (rc) { kc_arena_free(a); return rc; }
    char why[256];
    if (sp.foreign_engine) {
        /* Its seeds draw other papers with this generator: check the rules only. */
        kc_diag_add(d, "session", 0, "papers", "drawn by generator %s; this kaochang has %s, so the papers"
                      " cannot be regenerated here (every rule is still checked)", sp.foreign_engine, BANK_PAPER_ENGINE);
        for (int f = 0; f < sp.n_forms; f++) bank_plan_check(sp.plan, &sp.forms[f], d);
        for (size_t k = 0; k < sp.n; k++, (*checked)++) bank_plan_check(sp.plan, &sp.v[k].paper, d);
        free(sp.v);
        kc_arena_free(a);
        return 0;
    }
    bank_exposure e = {calloc(sp.src.pool.n + 1, sizeof(uint32_t)), 0, 0};
    /* papers of each build replayed so far: generation saw how many were left */
    int *done = calloc((size_t)sp.n_builds + 1, sizeof *done);
    if (!e.count || !done) rc = KC_ENOMEM;
    for (int f = 0; !rc && f < sp.src.forms; f++) {
        bank_paper again;
        e.limit = build_limit(&sp, sp.src.first_build);
        e.left = (uint32_t)(sp.src.forms - f);
        int g = bank_plan_generate(sp.plan, sp.form_seed[f], &e, a, &again, why, sizeof why);
        if (g == KC_ENOMEM) rc = KC_ENOMEM;
        else if (g) kc_diag_add(d, "session", 0, "forms", "form %c: its seed gives no paper: %s", 'A' + f, why);
        else if (!bank_paper_same(&again, &sp.forms[f]))
            kc_diag_add(d, "session", 0, "forms", "form %c differs from the one its seed gives", 'A' + f);
        if (!rc) bank_plan_check(sp.plan, &sp.forms[f], d);
    }
    if (e.count) memset(e.count, 0, (sp.src.pool.n + 1) * sizeof *e.count);
    for (size_t k = 0; !rc && k < sp.n; k++) {
        struct stored *s = &sp.v[k];
        bank_paper again;
        int g;
        if (sp.src.forms) {
            if (s->form < 1 || s->form > sp.src.forms) {
                kc_diag_add(d, s->ticket, 0, "form", "form %d is not one of the session's %d", s->form, sp.src.forms);
                continue;
            }
            g = bank_paper_reorder(sp.plan, &sp.forms[s->form - 1], s->seed, a, &again);
            if (g == KC_EINVAL) snprintf(why, sizeof why, "form %c does not fit the session's pool", 'A' + s->form - 1);
        } else {
            int b = build_index(&sp, s->build);
            e.limit = build_limit(&sp, s->build);
            e.left = b < 0 ? 0 : sp.build_papers[b] - (uint32_t)done[b]++;
            g = bank_plan_generate(sp.plan, s->seed, &e, a, &again, why, sizeof why);
        }
        if (g == KC_ENOMEM) { rc = KC_ENOMEM; break; }
        /* Counted as stored, so a difference does not shift every later paper. */
        if (!sp.src.forms && g == 0) bank__exposure_add(&e, &again, -1);
        if (!sp.src.forms) bank__exposure_add(&e, &s->paper, 1);
        if (g) kc_diag_add(d, s->ticket, 0, "paper", "its seed gives no paper: %s", why);
        else if (!bank_paper_same(&again, &s->paper))
            kc_diag_add(d, s->ticket, 0, "paper", "the stored paper differs from the one seed %llu gives",
                          (unsigned long long)s->seed);
        bank_plan_check(sp.plan, &s->paper, d);
        (*checked)++;
    }
    free(e.count);
    free(done);
    free(sp.v);
    kc_arena_free(a);
    return rc;
}

int bank_session_report(kc_db *db, uint64_t session_id, kc_arena *a, char **text)
{
    *text = NULL;
    kc_diag d;
    kc_diag_init(&d, a);
    struct session_papers sp;
    int rc = papers_load(db, session_id, a, &d, &sp);
    if (rc == KC_EINVAL && d.n) {
        *text = kc_arena_printf(a, "%s\n", d.lines[0]);
        return *text ? 0 : KC_ENOMEM;
    }
    if (rc) return rc;
    const bank_tpl *t = &sp.src.tpl;
    char *head = kc_arena_printf(a, "template %s (%s, %s): %d sections, %.2f points; pool %zu items;"
                                   " exposure cap %d%%\n", t->code ? t->code : "?", t->title ? t->title : "",
                                   bank_tpl_mode_name(t->mode), t->n_sections, t->total_centi / 100.0,
                                   sp.src.pool.n, t->exposure_cap_pct);
    char *body = NULL;
    if (sp.src.forms) {
        int *per = calloc((size_t)sp.src.forms + 1, sizeof *per);
        if (!per) { free(sp.v); return KC_ENOMEM; }
        for (size_t k = 0; k < sp.n; k++)
            if (sp.v[k].form >= 1 && sp.v[k].form <= sp.src.forms) per[sp.v[k].form]++;
        char *who = kc_arena_printf(a, "papers: %zu, forms handed out:", sp.n);
        for (int f = 1; f <= sp.src.forms && who; f++)
            who = kc_arena_printf(a, "%s %c卷 %d", who, 'A' + f - 1, per[f]);
        free(per);
        char *rep = bank_forms_report(sp.plan, sp.src.bp, sp.forms, sp.src.forms, a);
        body = who && rep ? kc_arena_printf(a, "%s\n%s", who, rep) : NULL;
    } else {
        uint32_t *cnt = calloc(sp.src.pool.n + 1, sizeof *cnt), max = 0;
        if (!cnt) { free(sp.v); return KC_ENOMEM; }
        size_t used = 0, slots = 0;
        for (size_t k = 0; k < sp.n; k++)
            for (int i = 0; i < sp.v[k].paper.n; i++) {
                uint32_t *c = &cnt[sp.v[k].paper.items[i].pool];
                if (!*c) used++;
                if (++*c > max) max = *c;
                slots++;
            }
        free(cnt);
        body = kc_arena_printf(a, "papers: %zu (a paper per candidate), %zu item places; %zu distinct"
                                 " items used of %zu; the most-used item is on %u papers (%.1f%%)\n",
                                 sp.n, slots, used, sp.src.pool.n, max,
                                 sp.n ? 100.0 * max / (double)sp.n : 0.0);
    }
    free(sp.v);
    *text = head && body ? kc_arena_printf(a, "%s%s", head, body) : NULL;
    return *text ? 0 : KC_ENOMEM;
}
