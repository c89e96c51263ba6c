/* Error reporting and transaction ends shared by the storage files. */
#include "bank_int.h"

#include <stdio.h>

int bank__err(char *err, size_t errlen, const char *what, const char *msg)
{
    if (err && errlen) snprintf(err, errlen, "%s: %s", what, msg);
    return KC_ERR;
}

int bank__oom(char *err, size_t errlen, const char *what)
{
    bank__err(err, errlen, what, "out of memory");
    return KC_ENOMEM;
}

int bank__db_err(kc_db *db, char *err, size_t errlen, const char *what)
{
    if (err && errlen) snprintf(err, errlen, "%s: %s", what, db->err);
    return kc_db_fail_code(db);
}

int bank__tx_end(kc_db *db, int rc, char *err, size_t errlen)
{
    if (rc) {
        kc_db_rollback(db);
        return rc;
    }
    if ((rc = kc_db_commit(db))) {
        bank__db_err(db, err, errlen, "commit");
        kc_db_rollback(db);
    }
    return rc;
}
