/* The practical part (技能考核) stored: the session's last settings, its stations, task pool
 * and candidates as bank_practical_assign needs them, and the plan written in one
 * transaction (practical_*, 004_practical.sql; docs/PRACTICAL.md). */
#include "bank_int.h"

#include <stdio.h>
#include <string.h>

static const char SQL_SESSION[] =
    "SELECT id, title, opens_at, practical_seed IS NOT NULL, COALESCE(practical_seed, 0),"
    " practical_starts_at, COALESCE(practical_tasks_each, 0), COALESCE(practical_slot_min, 0),"
    " practical_change_min IS NOT NULL, COALESCE(practical_change_min, 0)"
    " FROM exam_session WHERE code = ?";
static const char SQL_STATIONS[] =
    "SELECT code, name FROM practical_station WHERE session_id = ? ORDER BY position";
static const char SQL_CANDIDATES[] =
    "SELECT a.id, a.ticket_no, c.name FROM attempt a JOIN candidate c ON c.id = a.candidate_id"
    " WHERE a.session_id = ? ORDER BY a.ticket_no";
/* Tasks as the plan needs them; spec is {"time_minutes","equipment","criteria"} (002). */
#define TASK_COLS                                                                            \
    "i.id, i.uid, i.type, i.status, LEFT(i.stem, 4000),"                                     \
    " COALESCE(CAST(JSON_VALUE(i.spec, '$.time_minutes') AS INTEGER), 0),"                    \
    " COALESCE(JSON_VALUE(i.spec, '$.equipment'), '')"
static const char SQL_TASK_BY_UID[] =
    "SELECT " TASK_COLS " FROM item i WHERE i.uid = ? AND i.parent_id IS NULL"
    " ORDER BY i.version DESC LIMIT 1";
static const char SQL_TASKS_OF[] =
    "SELECT " TASK_COLS " FROM item i WHERE i.type = 'practical' AND i.status = 'approved'"
    " AND i.parent_id IS NULL AND i.occupation_code = ? AND (? = 0 OR i.level = ?)"
    " AND NOT EXISTS (SELECT 1 FROM item j WHERE j.uid = i.uid AND j.parent_id IS NULL"
    " AND j.version > i.version) ORDER BY i.uid";
static const char SQL_TASKS_STORED[] =
    "SELECT " TASK_COLS " FROM practical_task p JOIN item i ON i.id = p.item_id"
    " WHERE p.session_id = ? ORDER BY p.position";

static const char SQL_DEL_ASSIGN[] = "DELETE FROM practical_assignment WHERE session_id = ?";
static const char SQL_DEL_TASKS[] = "DELETE FROM practical_task WHERE session_id = ?";
static const char SQL_DEL_STATIONS[] = "DELETE FROM practical_station WHERE session_id = ?";
static const char SQL_ADD_STATION[] =
    "INSERT INTO practical_station (session_id, code, name, position) VALUES (?, ?, ?, ?)";
static const char SQL_ADD_TASK[] =
    "INSERT INTO practical_task (session_id, position, item_id) VALUES (?, ?, ?)";
static const char SQL_ADD_ASSIGN[] =
    "INSERT INTO practical_assignment (session_id, attempt_id, task_no, item_id, station_code,"
    " slot_no, starts_at, ends_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)";
static const char SQL_SAVE_SETTINGS[] =
    "UPDATE exam_session SET practical_seed = ?, practical_starts_at = ?,"
    " practical_tasks_each = ?, practical_slot_min = ?, practical_change_min = ?,"
    " practical_assigned_at = ? WHERE id = ?";

int bank_practical_session_load(kc_db *db, const char *code, bank_practical_session *s)
{
    memset(s, 0, sizeof *s);
    int rc = kc_db_query(db, SQL_SESSION, "s", "ustiutiiii", code, &s->id, s->title,
                          sizeof s->title, &s->opens_ms, &s->has_seed, &s->seed, &s->start_ms,
                          &s->tasks_each, &s->slot_min, &s->has_change, &s->change_min);
    int found = rc ? rc : kc_db_fetch(db, SQL_SESSION);
    kc_db_done(db, SQL_SESSION);
    return found == 1 ? 0 : found == 0 ? KC_ENOTFOUND : found;
}

int bank_practical_stations_load(kc_db *db, uint64_t session_id, kc_arena *a, char ***codes,
                                 size_t *n)
{
    char c[33], nm[129];
    size_t cap = 0;
    *codes = NULL;
    *n = 0;
    int rc = kc_db_query(db, SQL_STATIONS, "u", "ss", session_id, c, sizeof c, nm, sizeof nm);
    while (!rc && (rc = kc_db_fetch(db, SQL_STATIONS)) == 1) {
        rc = 0;
        if (*n == cap) {
            cap = cap ? cap * 2 : 16;
            char **g = kc_arena_alloc(a, cap * sizeof *g);
            if (!g) { rc = KC_ENOMEM; break; }
            if (*n) memcpy(g, *codes, *n * sizeof *g);
            *codes = g;
        }
        (*codes)[(*n)++] = kc_arena_strdup(a, c);
    }
    kc_db_done(db, SQL_STATIONS);
    return rc < 0 ? rc : 0;
}

int bank_practical_candidates_load(kc_db *db, uint64_t session_id, kc_arena *a,
                                   bank_practical_candidate **c, size_t *n)
{
    uint64_t aid;
    char ticket[33], name[129];
    size_t cap = 0;
    *c = NULL;
    *n = 0;
    int rc = kc_db_query(db, SQL_CANDIDATES, "u", "uss", session_id, &aid, ticket, sizeof ticket,
                          name, sizeof name);
    while (!rc && (rc = kc_db_fetch(db, SQL_CANDIDATES)) == 1) {
        rc = 0;
        if (*n == cap) {
            cap = cap ? cap * 2 : 64;
            bank_practical_candidate *g = kc_arena_alloc(a, cap * sizeof *g);
            if (!g) { rc = KC_ENOMEM; break; }
            if (*n) memcpy(g, *c, *n * sizeof *g);
            *c = g;
        }
        (*c)[*n].attempt_id = aid;
        (*c)[*n].ticket = kc_arena_strdup(a, ticket);
        (*c)[(*n)++].name = kc_arena_strdup(a, name);
    }
    kc_db_done(db, SQL_CANDIDATES);
    return rc < 0 ? rc : 0;
}

const char *bank__text_excerpt(kc_arena *a, const char *html, size_t bytes)
{
    char *text = bank_html_to_text(html, a);
    if (!text) return "";
    for (char *p = text; *p; p++)
        if (*p == '\n' || *p == '\r' || *p == '\t') *p = ' ';
    char *buf = kc_arena_alloc(a, bytes);
    if (!buf) return text;
    const char *c = bank_text_clip(text, buf, bytes);
    return c == text ? text : kc_arena_strdup(a, c);
}

struct task_row {
    uint64_t id;
    char uid[65], type[17], status[17], stem[4001], equipment[1024];
    int64_t minutes;
};

static int task_push(kc_arena *a, bank_practical_task **t, size_t *n, size_t *cap,
                     const struct task_row *r)
{
    if (*n == *cap) {
        size_t c = *cap ? *cap * 2 : 16;
        bank_practical_task *g = kc_arena_alloc(a, c * sizeof *g);
        if (!g) return KC_ENOMEM;
        if (*n) memcpy(g, *t, *n * sizeof *g);
        *t = g;
        *cap = c;
    }
    bank_practical_task *x = &(*t)[(*n)++];
    x->item_id = r->id;
    x->uid = kc_arena_strdup(a, r->uid);
    x->title = bank__text_excerpt(a, r->stem, 64);
    x->equipment = r->equipment[0] ? kc_arena_strdup(a, r->equipment) : NULL;
    x->time_minutes = r->minutes > 0 && r->minutes < 100000 ? (int)r->minutes : 0;
    return x->uid ? 0 : KC_ENOMEM;
}

#define TASK_OUT(r) &(r).id, (r).uid, sizeof (r).uid, (r).type, sizeof (r).type, (r).status, \
                    sizeof (r).status, (r).stem, sizeof (r).stem, &(r).minutes, (r).equipment, \
                    sizeof (r).equipment

int bank_practical_pool_load(kc_db *db, uint64_t session_id, const char *const *uids,
                             size_t n_uids, const char *occupation, int level, kc_arena *a,
                             bank_practical_task **t, size_t *n, char *why, size_t whylen)
{
    size_t cap = 0;
    *t = NULL;
    *n = 0;
    struct task_row r;
    int rc = 0;
    if (uids) {
        for (size_t k = 0; k < n_uids; k++) {
            const char *u = uids[k];
            memset(&r, 0, sizeof r);
            rc = kc_db_query(db, SQL_TASK_BY_UID, "s", "ussssis", u, TASK_OUT(r));
            int found = rc ? rc : kc_db_fetch(db, SQL_TASK_BY_UID);
            kc_db_done(db, SQL_TASK_BY_UID);
            if (found < 0) return found;
            const char *bad = !found ? "is not in the bank"
                            : strcmp(r.type, "practical") ? "is not a practical task (实操题)"
                            : strcmp(r.status, "approved") ? "is not approved" : NULL;
            if (bad) {
                snprintf(why, whylen, "%s %s", u, bad);
                return KC_EINVAL;
            }
            for (size_t i = 0; i < *n; i++)
                if (!strcmp((*t)[i].uid, r.uid)) {
                    snprintf(why, whylen, "%s is listed twice", u);
                    return KC_EINVAL;
                }
            if ((rc = task_push(a, t, n, &cap, &r))) return rc;
        }
        return 0;
    }
    const char *sql = occupation ? SQL_TASKS_OF : SQL_TASKS_STORED;
    memset(&r, 0, sizeof r);
    rc = occupation ? kc_db_query(db, sql, "sii", "ussssis", occupation, (int64_t)level,
                                   (int64_t)level, TASK_OUT(r))
                    : kc_db_query(db, sql, "u", "ussssis", session_id, TASK_OUT(r));
    while (!rc && (rc = kc_db_fetch(db, sql)) == 1) {
        rc = task_push(a, t, n, &cap, &r);
        memset(&r, 0, sizeof r);
    }
    kc_db_done(db, sql);
    return rc < 0 ? rc : 0;
}

int bank_practical_store(kc_db *db, uint64_t session_id, char *const *stations, size_t n_stations,
                         const bank_practical_candidate *c, const bank_practical_task *t,
                         size_t n_tasks, const bank_practical_opts *o,
                         const bank_practical_plan *p)
{
    int rc = kc_db_begin(db);
    if (rc) return rc;
    rc = kc_db_exec(db, SQL_DEL_ASSIGN, "u", session_id);
    if (!rc) rc = kc_db_exec(db, SQL_DEL_TASKS, "u", session_id);
    if (!rc) rc = kc_db_exec(db, SQL_DEL_STATIONS, "u", session_id);
    for (size_t i = 0; i < n_stations && !rc; i++)
        rc = kc_db_exec(db, SQL_ADD_STATION, "ussi", session_id, stations[i], stations[i],
                         (int64_t)(i + 1));
    for (size_t i = 0; i < n_tasks && !rc; i++)
        rc = kc_db_exec(db, SQL_ADD_TASK, "uiu", session_id, (int64_t)(i + 1), t[i].item_id);
    for (size_t i = 0; i < p->n && !rc; i++) {
        const bank_practical_slot *e = &p->a[i];
        rc = kc_db_exec(db, SQL_ADD_ASSIGN, "uuiusitt", session_id, c[e->candidate].attempt_id,
                         (int64_t)e->task_no, t[e->task].item_id, stations[e->station],
                         (int64_t)e->slot_no, e->starts_at_ms, e->ends_at_ms);
    }
    /* The settings as given (slot 0: derived from the tasks), so a re-run starts from them. */
    if (!rc)
        rc = kc_db_exec(db, SQL_SAVE_SETTINGS, "utiiitu", o->seed, o->start_ms,
                         (int64_t)o->tasks_per_candidate, (int64_t)o->slot_minutes,
                         (int64_t)o->changeover_minutes, kc_now_ms(), session_id);
    if (!rc) rc = kc_db_commit(db);
    if (rc) kc_db_rollback(db);
    return rc;
}
