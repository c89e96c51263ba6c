/* The review lifecycle of stored items: status changes with who, when and why. */
#include "bank_int.h"

#include <stdio.h>
#include <string.h>

static const char SQL_BY_UID[] =
    "SELECT id, status, uid FROM item WHERE uid = ? AND parent_id IS NULL"
    " ORDER BY version DESC LIMIT 1 FOR UPDATE";
static const char SQL_BY_ID[] =
    "SELECT i.id, i.status, i.uid FROM item i WHERE i.id = ? AND i.parent_id IS NULL"
    " AND NOT EXISTS (SELECT 1 FROM item j WHERE j.uid = i.uid AND j.parent_id IS NULL"
    " AND j.version > i.version) FOR UPDATE";
static const char SQL_SET[] =
    "UPDATE item SET status = ?, status_by = ?, status_at = UTC_TIMESTAMP(3)"
    " WHERE id = ? OR parent_id = ?";
static const char SQL_LOG[] =
    "INSERT INTO item_review (item_id, action, from_status, to_status, actor, comment)"
    " VALUES (?, ?, ?, ?, ?, ?)";

/* The name of the step in the review log. */
static const char *action_of(enum bank_status from, enum bank_status to)
{
    switch (to) {
    case BANK_REVIEWED: return "review";
    case BANK_APPROVED: return "approve";
    case BANK_RETIRED: return "retire";
    case BANK_DRAFT: return from == BANK_RETIRED ? "restore" : "return";
    }
    return "status";
}

int bank_item_set_status(kc_db *db, const char *uid, uint64_t id, enum bank_status to,
                         const char *actor, const char *comment, char *err, size_t errlen)
{
    if (err && errlen) *err = 0;
    if (!actor || !*actor) return bank__err(err, errlen, "status", "who makes the change is required");
    if (to < BANK_DRAFT || to > BANK_RETIRED) return bank__err(err, errlen, "status", "unknown status");
    if (kc_db_begin(db)) return bank__db_err(db, err, errlen, "status");
    kc_stmt *find = NULL, *set = NULL, *log = NULL;
    int rc = 0;
    int failed = 0;
    char who[80];
    snprintf(who, sizeof who, "%s", uid ? uid : "");
    if (!uid) snprintf(who, sizeof who, "item #%llu", (unsigned long long)id);
    if (!(find = kc_db_stmt(db, uid ? SQL_BY_UID : SQL_BY_ID)) ||
        (uid ? kc_stmt_exec(find, "s", uid) : kc_stmt_exec(find, "u", id))) {
        failed = 1;
        goto out;
    }
    int f = kc_stmt_next(find);
    if (f < 0) { failed = 1; goto out; }
    if (!f) {
        bank__err(err, errlen, who, uid ? "no such item in the bank"
                                        : "no such item, or not its newest version");
        rc = KC_ENOTFOUND;
        goto out;
    }
    uint64_t item_id = (uint64_t)kc_stmt_int(find, 0);
    enum bank_status from;
    if (bank_status_parse(kc_stmt_str(find, 1), &from)) from = BANK_DRAFT;
    snprintf(who, sizeof who, "%s", kc_stmt_str(find, 2));
    kc_stmt_done(find);
    if (!bank_status_transition_ok(from, to)) {
        char why[160];
        snprintf(why, sizeof why, "cannot go from %s to %s", bank_status_name(from),
                 bank_status_name(to));
        bank__err(err, errlen, who, why);
        rc = KC_EINVAL;
        goto out;
    }
    if (to == BANK_DRAFT && from != BANK_RETIRED && (!comment || !*comment)) {
        bank__err(err, errlen, who, "sending an item back to draft needs a comment");
        rc = KC_EINVAL;
        goto out;
    }
    if (!(set = kc_db_stmt(db, SQL_SET)) ||
        kc_stmt_exec(set, "ssuu", bank_status_name(to), actor, item_id, item_id)) {
        failed = 1;
        goto out;
    }
    if (!(log = kc_db_stmt(db, SQL_LOG)) ||
        kc_stmt_exec(log, "usssss", item_id, action_of(from, to), bank_status_name(from),
                      bank_status_name(to), actor, comment && *comment ? comment : NULL)) {
        failed = 1;
        goto out;
    }
out:
    if (failed) rc = bank__db_err(db, err, errlen, who);
    kc_stmt_done(find);
    kc_stmt_done(set);
    kc_stmt_done(log);
    return bank__tx_end(db, rc, err, errlen);
}
